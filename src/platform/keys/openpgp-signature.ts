// snapd's signature block around an RSA signature made elsewhere (a PKCS#11
// token). The same bytes as PrivateKey.sign in src/assertions/crypto.ts, whose
// framing helpers are private there: an OpenPGP v4 signature packet (RSA,
// SHA-512, one hashed creation-time subpacket) in snapd's v1 wrapping, base64
// at 76 columns. test/platform/keys/pkcs11-custody.test.ts checks byte
// equality with PrivateKey.signAsync for the same key and time.
import { createHash } from 'node:crypto';

const V1 = 0x01;
const TAG_SIGNATURE = 2;
const SHA512 = 10;
const LINE = 76;

/** What RSASSA-PKCS1-v1_5/SHA-512 must sign (the token hashes it): content, hashed part and trailer. */
export function signatureInput(content: Buffer, when: Date): { signed: Buffer; hashedPart: Buffer } {
  const t = Buffer.alloc(4);
  t.writeUInt32BE(Math.floor(when.getTime() / 1000) >>> 0);
  const hashedSub = Buffer.concat([Buffer.from([5, 2]), t]);
  const hashedPart = Buffer.concat([Buffer.from([4, 0x00, 1, SHA512, 0, hashedSub.length]), hashedSub]);
  const trailer = Buffer.from([4, 0xff, 0, 0, 0, hashedPart.length]);
  return { signed: Buffer.concat([content, hashedPart, trailer]), hashedPart };
}

/** The signature block text from the raw RSA signature over `signed`. */
export function finishSignature(signed: Buffer, hashedPart: Buffer, rsa: Buffer): string {
  const tag = createHash('sha512').update(signed).digest().subarray(0, 2);
  const body = Buffer.concat([hashedPart, Buffer.from([0, 0]), tag, mpi(rsa)]);
  const pkt = Buffer.concat([Buffer.from([V1]), packetHeader(TAG_SIGNATURE, body.length), body]);
  const text = pkt.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += LINE) lines.push(text.slice(i, i + LINE));
  return lines.join('\n');
}

/** Signs `content` as snapd expects, with `rsaSha512` doing RSASSA-PKCS1-v1_5/SHA-512 over its input. */
export async function signWithRawRsa(content: Buffer, when: Date, rsaSha512: (signed: Buffer) => Promise<Buffer>): Promise<string> {
  const { signed, hashedPart } = signatureInput(content, when);
  return finishSignature(signed, hashedPart, await rsaSha512(signed));
}

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

function mpi(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const m = bytes.subarray(i);
  const bits = m[0] === 0 ? 0 : (m.length - 1) * 8 + (32 - Math.clz32(m[0]!));
  const h = Buffer.alloc(2);
  h.writeUInt16BE(bits);
  return Buffer.concat([h, m]);
}
