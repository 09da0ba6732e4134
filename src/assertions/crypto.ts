// RSA keys and signatures in snapd's "v1" wrapping of OpenPGP v4 packets
// (snapd asserts/crypto.go; the byte layout is in docs/assertions.md).
// node:crypto does the RSA and hashing; the few OpenPGP packets snapd uses are
// framed by hand because no maintained npm package produces snapd's exact bytes
// (fixed key creation time, v1 prefix, only a creation-time subpacket).
import crypto, { type KeyObject } from 'node:crypto';
import { AssertionError } from './errors.ts';

/** snapd fixes the creation time of every key packet: 2016-01-01T00:00:00Z. */
const FIXED_KEY_TIME = 0x5685c180;
const V1 = 0x01;
const TAG_SIGNATURE = 2;
const TAG_PUBLIC_KEY = 6;
const LINE = 76;

/** OpenPGP hash algorithm ids we verify (SHA-2 family) and the one we produce. */
const HASHES: Record<number, string> = { 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224' };
const SHA512 = 10;
/** DER DigestInfo prefixes (RFC 8017 9.2 note 1) of the hashes above. */
const DIGEST_INFO: Record<number, Buffer> = {
  8: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  9: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  10: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
  11: Buffer.from('302d300d06096086480165030402040500041c', 'hex'),
};

function wrap76(s: string): string {
  const lines: string[] = [];
  for (let i = 0; i < s.length; i += LINE) lines.push(s.slice(i, i + LINE));
  return lines.join('\n');
}

/** 1 for the standard base64 alphabet, 2 for line breaks (ignored, as Go's decoder does). */
const B64_CLASS = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') B64_CLASS[c.charCodeAt(0)] = 1;
B64_CLASS[10] = 2;
B64_CLASS[13] = 2;

const BASE64_WITH_BREAKS = /^[A-Za-z0-9+/\r\n]*(?:=[\r\n]*){0,2}$/;

function count(text: string, ch: string): number {
  let n = 0;
  for (let i = text.indexOf(ch); i !== -1; i = text.indexOf(ch, i + 1)) n++;
  return n;
}

/** Standard base64 with padding; line breaks (LF, CR) ignored, as Go's decoder does. */
function decodeBase64Strict(text: string): Buffer | undefined {
  if (!BASE64_WITH_BREAKS.test(text)) return undefined;
  const breaks = count(text, '\n') + (text.includes('\r') ? count(text, '\r') : 0);
  if ((text.length - breaks) % 4 !== 0) return undefined;
  const b = Buffer.from(text, 'base64');
  let end = text.length - 1;
  while (end >= 0 && B64_CLASS[text.charCodeAt(end)] === 2) end--;
  if (text.charCodeAt(end) === 61) {
    // Canonical: the unused bits before the padding must be zero (Go's strict decoder).
    let padding = 0;
    let i = end;
    while (i >= 0 && B64_CLASS[text.charCodeAt(i)] !== 1) {
      if (text.charCodeAt(i) === 61) padding++;
      i--;
    }
    const unusedBits = padding === 1 ? 2 : 4;
    if ((B64_VALUE[text.charCodeAt(i)]! & ((1 << unusedBits) - 1)) !== 0) return undefined;
  }
  return b;
}

const B64_VALUE = new Uint8Array(128);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, i) => (B64_VALUE[c.charCodeAt(0)] = i));

function packetHeader(tag: number, len: number): Buffer {
  if (len < 192) return Buffer.from([0xc0 | tag, len]);
  if (len < 8384) {
    const l = len - 192;
    return Buffer.from([0xc0 | tag, (l >> 8) + 192, l & 0xff]);
  }
  const b = Buffer.alloc(6);
  b[0] = 0xc0 | tag;
  b[1] = 0xff;
  b.writeUInt32BE(len, 2);
  return b;
}

/** An OpenPGP MPI from a big-endian magnitude. */
function mpi(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const m = bytes.subarray(i);
  const bits = m[0] === 0 ? 0 : (m.length - 1) * 8 + (32 - Math.clz32(m[0]!));
  const h = Buffer.alloc(2);
  h.writeUInt16BE(bits);
  return Buffer.concat([h, m]);
}

/** A bounds-checked reader over one packet's bytes; failures become `fail(msg)`. */
class PacketReader {
  off = 0;
  constructor(
    readonly buf: Buffer,
    private readonly fail: (msg: string) => never,
  ) {}
  get left(): number {
    return this.buf.length - this.off;
  }
  bytes(n: number): Buffer {
    if (n < 0 || n > this.left) this.fail('unexpected EOF');
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }
  u8(): number {
    return this.bytes(1)[0]!;
  }
  u16(): number {
    return this.bytes(2).readUInt16BE();
  }
  u32(): number {
    return this.bytes(4).readUInt32BE();
  }
  mpi(): Buffer {
    const bits = this.u16();
    return this.bytes((bits + 7) >> 3);
  }
}

/**
 * Reads one whole OpenPGP packet (new or old format header) and requires that
 * nothing follows it; returns its tag and body.
 */
function readSinglePacket(data: Buffer, kind: string): { tag: number; body: Buffer } {
  const fail = (msg: string): never => {
    throw new AssertionError(kind === 'signature' ? 'assertion-bad-signature' : 'assertion-bad-key', `cannot decode ${kind}: ${msg}`);
  };
  const r = new PacketReader(data, fail);
  const first = r.u8();
  if ((first & 0x80) === 0) fail('openpgp: invalid data: tag byte does not have MSB set');
  let tag: number;
  let len: number;
  if (first & 0x40) {
    tag = first & 0x3f;
    const l0 = r.u8();
    if (l0 < 192) len = l0;
    else if (l0 < 224) len = ((l0 - 192) << 8) + r.u8() + 192;
    else if (l0 === 255) len = r.u32();
    else return fail('openpgp: unsupported partial body length');
  } else {
    tag = (first & 0x3f) >> 2;
    const lenType = first & 3;
    if (lenType === 0) len = r.u8();
    else if (lenType === 1) len = r.u16();
    else if (lenType === 2) len = r.u32();
    else return fail('openpgp: unsupported indeterminate length');
  }
  const body = r.bytes(len);
  if (r.left !== 0) {
    throw new AssertionError(kind === 'signature' ? 'assertion-bad-signature' : 'assertion-bad-key', `${kind} has spurious trailing data`);
  }
  return { tag, body };
}

function decodeV1(text: string, kind: string): Buffer {
  const code = kind === 'signature' ? 'assertion-bad-signature' : 'assertion-bad-key';
  if (text.length === 0) throw new AssertionError(code, `cannot decode ${kind}: no data`);
  const raw = decodeBase64Strict(text);
  if (!raw) throw new AssertionError(code, `cannot decode ${kind}: illegal base64 data`);
  if (raw.length === 0) throw new AssertionError(code, `cannot decode ${kind}: base64 without data`);
  if (raw[0] !== V1) throw new AssertionError(code, `unsupported ${kind} format version: ${raw[0]}`);
  return raw.subarray(1);
}

/** An RSA public key as snapd sees it: its id, its v1 encoding and a node KeyObject. */
export class PublicKey {
  /** `0x01 || public-key packet` with the fixed creation time. */
  readonly bytes: Buffer;
  /** The key id: base64url(SHA3-384(bytes)), as in sign-key-sha3-384. */
  readonly id: string;
  private keyObject?: KeyObject;

  constructor(
    /** RSA modulus, big-endian magnitude. */
    readonly n: Buffer,
    /** RSA public exponent, big-endian magnitude. */
    readonly e: Buffer,
  ) {
    const time = Buffer.alloc(4);
    time.writeUInt32BE(FIXED_KEY_TIME);
    const body = Buffer.concat([Buffer.from([4]), time, Buffer.from([1]), mpi(n), mpi(e)]);
    this.bytes = Buffer.concat([Buffer.from([V1]), packetHeader(TAG_PUBLIC_KEY, body.length), body]);
    this.id = crypto.createHash('sha3-384').update(this.bytes).digest('base64url');
  }

  static fromKeyObject(key: KeyObject): PublicKey {
    const pub = key.type === 'private' ? crypto.createPublicKey(key) : key;
    if (pub.asymmetricKeyType !== 'rsa') throw new AssertionError('assertion-bad-key', 'expected RSA public key');
    const jwk = pub.export({ format: 'jwk' });
    const k = new PublicKey(Buffer.from(jwk.n!, 'base64url'), Buffer.from(jwk.e!, 'base64url'));
    k.keyObject = pub;
    return k;
  }

  /** Decodes snapd's encoding (account-key body, device-key header). */
  static decode(text: string): PublicKey {
    const { tag, body } = readSinglePacket(decodeV1(text, 'public key'), 'public key');
    const bad = (msg: string): never => {
      throw new AssertionError('assertion-bad-key', `cannot decode public key: ${msg}`);
    };
    if (tag !== TAG_PUBLIC_KEY) bad(`expected public key, got instead packet tag ${tag}`);
    const r = new PacketReader(body, bad);
    const version = r.u8();
    if (version !== 4) bad(`openpgp: unsupported public key version ${version}`);
    r.u32(); // creation time: snapd normalizes it away
    const algo = r.u8();
    if (algo !== 1 && algo !== 2 && algo !== 3) bad('expected RSA public key');
    const n = r.mpi();
    const e = r.mpi();
    if (e.length > 3) bad('openpgp: unsupported public key: exponent too large');
    if (n.length === 0 || e.length === 0 || n[0] === 0) bad('openpgp: invalid RSA key');
    return new PublicKey(n, e);
  }

  /** snapd's text encoding: base64 of `bytes`, wrapped at 76 columns. */
  encode(): string {
    return wrap76(this.bytes.toString('base64'));
  }

  get bits(): number {
    return (this.n.length - 1) * 8 + (32 - Math.clz32(this.n[0]!));
  }

  get key(): KeyObject {
    this.keyObject ??= crypto.createPublicKey({
      key: { kty: 'RSA', n: this.n.toString('base64url'), e: this.e.toString('base64url') },
      format: 'jwk',
    });
    return this.keyObject;
  }

  /** Checks a signature block over `content`; throws assertion-bad-signature on failure. */
  verify(content: Buffer, signatureText: string): void {
    const sig = Signature.decode(signatureText);
    sig.verify(content, this);
  }
}

/** A parsed OpenPGP v4 signature packet. */
export class Signature {
  private constructor(
    readonly hashAlgorithm: number,
    /** version .. hashed subpackets: the part that is hashed after the content. */
    readonly hashedPart: Buffer,
    readonly hashTag: Buffer,
    readonly rsaSignature: Buffer,
    readonly creationTime: Date,
  ) {}

  static decode(text: string): Signature {
    const { tag, body } = readSinglePacket(decodeV1(text, 'signature'), 'signature');
    const bad = (msg: string): never => {
      throw new AssertionError('assertion-bad-signature', `cannot decode signature: ${msg}`);
    };
    if (tag !== TAG_SIGNATURE) bad(`expected signature, got instead packet tag ${tag}`);
    const r = new PacketReader(body, bad);
    const version = r.u8();
    if (version !== 4) bad(`openpgp: unsupported signature version ${version}`);
    r.u8(); // signature type: not checked by snapd
    const pkAlgo = r.u8();
    if (pkAlgo !== 1) bad(`openpgp: unsupported public key algorithm ${pkAlgo}`);
    const hashAlgo = r.u8();
    if (!HASHES[hashAlgo]) bad(`openpgp: unsupported hash function ${hashAlgo}`);
    const hashedLen = r.u16();
    const hashed = r.bytes(hashedLen);
    const hashedPart = body.subarray(0, r.off);
    const unhashed = r.bytes(r.u16());
    const creation = parseSubpackets(hashed, true, bad) ?? bad('openpgp: signature packet without creation time');
    parseSubpackets(unhashed, false, bad);
    const hashTag = r.bytes(2);
    const sig = r.mpi();
    if (r.left !== 0) bad('openpgp: trailing data in signature packet');
    return new Signature(hashAlgo, hashedPart, hashTag, sig, creation);
  }

  verify(content: Buffer, key: PublicKey): void {
    const algo = HASHES[this.hashAlgorithm]!;
    const trailer = Buffer.from([4, 0xff, 0, 0, 0, 0]);
    trailer.writeUInt32BE(this.hashedPart.length, 2);
    const digest = crypto.createHash(algo).update(content).update(this.hashedPart).update(trailer).digest();
    const fail = (why: string): never => {
      throw new AssertionError('assertion-bad-signature', `failed signature verification: openpgp: invalid signature: ${why}`);
    };
    if (digest[0] !== this.hashTag[0] || digest[1] !== this.hashTag[1]) fail("hash tag doesn't match");
    const k = key.n.length;
    let sig = this.rsaSignature;
    if (sig.length > k) fail('RSA verification failure');
    if (sig.length < k) sig = Buffer.concat([Buffer.alloc(k - sig.length), sig]);
    // RSASSA-PKCS1-v1_5 verification by "encode and compare" (RFC 8017 8.2.2):
    // recover the encoded message with the public key (OpenSSL checks the
    // 00 01 FF..FF 00 padding) and compare it with DigestInfo || digest. This
    // hashes the content once, where crypto.verify would hash it a second time.
    let recovered: Buffer;
    try {
      recovered = crypto.publicDecrypt({ key: key.key, padding: crypto.constants.RSA_PKCS1_PADDING }, sig);
    } catch {
      return fail('RSA verification failure');
    }
    const prefix = DIGEST_INFO[this.hashAlgorithm]!;
    if (
      recovered.length !== prefix.length + digest.length ||
      !crypto.timingSafeEqual(recovered.subarray(0, prefix.length), prefix) ||
      !crypto.timingSafeEqual(recovered.subarray(prefix.length), digest)
    ) {
      fail('RSA verification failure');
    }
  }
}

/** Walks signature subpackets; returns the creation time if present. */
function parseSubpackets(data: Buffer, hashed: boolean, bad: (msg: string) => never): Date | undefined {
  const r = new PacketReader(data, bad);
  let creation: Date | undefined;
  while (r.left > 0) {
    const l0 = r.u8();
    let len: number;
    if (l0 < 192) len = l0;
    else if (l0 < 255) len = ((l0 - 192) << 8) + r.u8() + 192;
    else len = r.u32();
    if (len === 0) bad('openpgp: invalid data: zero length signature subpacket');
    const sub = r.bytes(len);
    const type = sub[0]! & 0x7f;
    const critical = (sub[0]! & 0x80) !== 0;
    if (type === 2) {
      if (sub.length !== 5) bad('openpgp: invalid data: signature creation time not four bytes');
      if (hashed) creation = new Date(sub.readUInt32BE(1) * 1000);
    } else if (critical && ![16, 33].includes(type)) {
      bad(`openpgp: unsupported feature: unknown critical signature subpacket type ${type}`);
    }
  }
  return creation;
}

/** A private RSA key able to sign assertions. */
export class PrivateKey {
  readonly publicKey: PublicKey;

  constructor(readonly key: KeyObject) {
    if (key.type !== 'private' || key.asymmetricKeyType !== 'rsa') {
      throw new AssertionError('assertion-bad-key', 'expected an RSA private key');
    }
    this.publicKey = PublicKey.fromKeyObject(key);
  }

  get id(): string {
    return this.publicKey.id;
  }

  /** Reads a PEM (PKCS#1 or PKCS#8, optionally encrypted with `passphrase`). */
  static fromPem(pem: string | Buffer, passphrase?: string): PrivateKey {
    try {
      return new PrivateKey(crypto.createPrivateKey(passphrase === undefined ? { key: pem } : { key: pem, passphrase }));
    } catch (err) {
      if (err instanceof AssertionError) throw err;
      throw new AssertionError('assertion-bad-key', `cannot read private key: ${(err as Error).message}`);
    }
  }

  /** Generates a new RSA key; snapd signs only with keys of at least 4096 bits. */
  static generate(bits = 4096): PrivateKey {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
    return new PrivateKey(privateKey);
  }

  static async generateAsync(bits = 4096): Promise<PrivateKey> {
    const { privateKey } = await new Promise<{ privateKey: KeyObject }>((resolve, reject) =>
      crypto.generateKeyPair('rsa', { modulusLength: bits, publicExponent: 0x10001 }, (err, _pub, priv) =>
        err ? reject(err) : resolve({ privateKey: priv }),
      ),
    );
    return new PrivateKey(privateKey);
  }

  /** PKCS#8 PEM, encrypted with AES-256-CBC when a passphrase is given. */
  toPem(passphrase?: string): string {
    const opts =
      passphrase === undefined
        ? ({ type: 'pkcs8', format: 'pem' } as const)
        : ({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase } as const);
    return this.key.export(opts) as string;
  }

  /** Signs `content` and returns the signature block text (without trailing newline). */
  sign(content: Buffer, when: Date): string {
    const { signed, hashedPart } = signatureInput(content, when);
    return finishSignature(signed, hashedPart, crypto.sign('sha512', signed, this.key));
  }

  /** Like sign, but the RSA work runs on libuv's thread pool, off the event loop. */
  async signAsync(content: Buffer, when: Date): Promise<string> {
    const { signed, hashedPart } = signatureInput(content, when);
    const rsa = await new Promise<Buffer>((resolve, reject) =>
      crypto.sign('sha512', signed, this.key, (err, sig) => (err ? reject(err) : resolve(sig))),
    );
    return finishSignature(signed, hashedPart, rsa);
  }
}

/**
 * Signs `content` as PrivateKey.sign does, with the RSASSA-PKCS1-v1_5/SHA-512
 * operation done elsewhere (`rsaSha512`, e.g. by a PKCS#11 token that never
 * gives its key out): the same signature packet and framing, byte for byte.
 */
export async function signWithRawRsa(content: Buffer, when: Date, rsaSha512: (signed: Buffer) => Promise<Buffer>): Promise<string> {
  const { signed, hashedPart } = signatureInput(content, when);
  return finishSignature(signed, hashedPart, await rsaSha512(signed));
}

function signatureInput(content: Buffer, when: Date): { signed: Buffer; hashedPart: Buffer } {
  const t = Buffer.alloc(4);
  t.writeUInt32BE(Math.floor(when.getTime() / 1000) >>> 0);
  const hashedSub = Buffer.concat([Buffer.from([5, 2]), t]);
  const hashedPart = Buffer.concat([Buffer.from([4, 0x00, 1, SHA512, 0, hashedSub.length]), hashedSub]);
  const trailer = Buffer.from([4, 0xff, 0, 0, 0, hashedPart.length]);
  return { signed: Buffer.concat([content, hashedPart, trailer]), hashedPart };
}

function finishSignature(signed: Buffer, hashedPart: Buffer, rsa: Buffer): string {
  const tag = crypto.createHash('sha512').update(signed).digest().subarray(0, 2);
  const body = Buffer.concat([hashedPart, Buffer.from([0, 0]), tag, mpi(rsa)]);
  const pkt = Buffer.concat([Buffer.from([V1]), packetHeader(TAG_SIGNATURE, body.length), body]);
  return wrap76(pkt.toString('base64'));
}

/** SHA3-384 digest of bytes, base64url without padding (assertion form). */
export function sha3384(data: Buffer | Uint8Array): string {
  return crypto.createHash('sha3-384').update(data).digest('base64url');
}
