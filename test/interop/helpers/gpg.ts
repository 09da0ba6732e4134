// GnuPG helpers for the interop tests: a throw-away GnuPG home with RSA keys
// made the way `snap create-key` makes them, and a converter from an exported
// (unprotected) OpenPGP v4 RSA secret-key packet to a node:crypto key, so that
// snapline can sign with exactly the key gpg holds.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto, { type KeyObject } from 'node:crypto';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The first executable `name` on $PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A temporary GnuPG home (short path: gpg-agent puts its socket there). */
export class GpgHome {
  readonly dir: string;

  constructor(readonly gpg: string) {
    this.dir = mkdtempSync(join(tmpdir(), 'snapline-gpg-'));
    chmodSync(this.dir, 0o700);
  }

  /** Runs gpg on this home; returns stdout, throws with stderr on failure. */
  run(args: string[], input?: string | Buffer): Buffer {
    const r = spawnSync(this.gpg, ['--homedir', this.dir, '--batch', '--no-tty', ...args], {
      input: input ?? '',
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, GNUPGHOME: this.dir },
    });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`gpg ${args.join(' ')} failed (${r.status}): ${r.stderr.toString()}`);
    return r.stdout;
  }

  /**
   * Creates an RSA key whose only user id is `name` (what `snap sign -k NAME`
   * looks for: snapd lists `--list-secret-keys --with-colons` and compares the
   * uid field exactly), without passphrase, with `snap create-key`'s creation
   * date (2016-01-01) and digest preference.
   */
  generateKey(name: string, bits = 4096): void {
    this.run(
      ['--gen-key'],
      [
        '%no-protection',
        'Key-Type: RSA',
        `Key-Length: ${bits}`,
        `Name-Real: ${name}`,
        'Creation-Date: seconds=1451606400',
        'Preferences: SHA512',
        '%commit',
        '',
      ].join('\n'),
    );
  }

  /** The binary (unarmored) export of the secret key(s) matching `name`. */
  exportSecretKeys(name: string): Buffer {
    return this.run(['--pinentry-mode', 'loopback', '--passphrase', '', '--export-secret-keys', name]);
  }

  /** Stops the gpg-agent (if any) started for this home and deletes the home. */
  destroy(): void {
    spawnSync(which('gpgconf') ?? 'gpgconf', ['--homedir', this.dir, '--kill', 'gpg-agent'], { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One OpenPGP packet: its tag and body. */
export interface Packet {
  tag: number;
  body: Buffer;
}

/** Splits a binary OpenPGP message into packets (old and new format headers; no partial lengths). */
export function readPackets(data: Buffer): Packet[] {
  const out: Packet[] = [];
  let off = 0;
  const need = (n: number) => {
    if (off + n > data.length) throw new Error('OpenPGP data: unexpected end of input');
  };
  while (off < data.length) {
    need(1);
    const first = data[off++]!;
    if ((first & 0x80) === 0) throw new Error(`OpenPGP data: bad packet tag byte 0x${first.toString(16)} at ${off - 1}`);
    let tag: number;
    let len: number;
    if (first & 0x40) {
      tag = first & 0x3f;
      need(1);
      const l0 = data[off++]!;
      if (l0 < 192) len = l0;
      else if (l0 < 224) {
        need(1);
        len = ((l0 - 192) << 8) + data[off++]! + 192;
      } else if (l0 === 255) {
        need(4);
        len = data.readUInt32BE(off);
        off += 4;
      } else throw new Error('OpenPGP data: partial body lengths are not supported');
    } else {
      tag = (first >> 2) & 0x0f;
      const lt = first & 3;
      if (lt === 3) throw new Error('OpenPGP data: indeterminate lengths are not supported');
      const n = [1, 2, 4][lt]!;
      need(n);
      len = n === 1 ? data[off]! : n === 2 ? data.readUInt16BE(off) : data.readUInt32BE(off);
      off += n;
    }
    need(len);
    out.push({ tag, body: data.subarray(off, off + len) });
    off += len;
  }
  return out;
}

const big = (b: Buffer): bigint => (b.length === 0 ? 0n : BigInt('0x' + b.toString('hex')));

function bytesOf(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  return Buffer.from(hex, 'hex');
}

const b64u = (n: bigint): string => bytesOf(n).toString('base64url');

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [((a % m) + m) % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new Error('not invertible');
  return ((oldS % m) + m) % m;
}

/** The fields of an OpenPGP v4 RSA secret-key packet (RFC 4880 5.5.3), as big integers. */
export interface RsaSecretKey {
  created: number;
  n: bigint;
  e: bigint;
  d: bigint;
  /** OpenPGP's p < q, with u = p^-1 mod q. */
  p: bigint;
  q: bigint;
  u: bigint;
}

/**
 * Parses the body of an unprotected (s2k usage 0) v4 RSA secret-key packet:
 * version, creation time, algorithm, MPIs n and e, s2k usage 0, MPIs d, p, q,
 * u, then a two-octet checksum (sum of the secret MPI octets mod 65536).
 */
export function parseRsaSecretKeyPacket(body: Buffer): RsaSecretKey {
  let off = 0;
  const take = (n: number): Buffer => {
    if (off + n > body.length) throw new Error('secret-key packet: unexpected end of data');
    const b = body.subarray(off, off + n);
    off += n;
    return b;
  };
  const mpi = (): Buffer => {
    const bits = take(2).readUInt16BE();
    return take((bits + 7) >> 3);
  };
  const version = take(1)[0]!;
  if (version !== 4) throw new Error(`secret-key packet: version ${version}, expected 4`);
  const created = take(4).readUInt32BE();
  const algo = take(1)[0]!;
  if (algo !== 1 && algo !== 3) throw new Error(`secret-key packet: algorithm ${algo} is not RSA`);
  const n = big(mpi());
  const e = big(mpi());
  const usage = take(1)[0]!;
  if (usage !== 0) throw new Error(`secret-key packet: the secret part is protected (s2k usage ${usage}); export an unprotected key`);
  const secretStart = off;
  const d = big(mpi());
  const p = big(mpi());
  const q = big(mpi());
  const u = big(mpi());
  let sum = 0;
  for (const byte of body.subarray(secretStart, off)) sum = (sum + byte) & 0xffff;
  const checksum = take(2).readUInt16BE();
  if (checksum !== sum) throw new Error(`secret-key packet: checksum ${checksum} != computed ${sum}`);
  if (off !== body.length) throw new Error('secret-key packet: trailing data');
  return { created, n, e, d, p, q, u };
}

/** An RSA private key for node:crypto from OpenPGP's secret parts (checks their consistency). */
export function rsaSecretKeyToKeyObject(k: RsaSecretKey): KeyObject {
  if (k.p * k.q !== k.n) throw new Error('secret key: p*q != n');
  if ((k.u * k.p) % k.q !== 1n) throw new Error('secret key: u is not p^-1 mod q (OpenPGP convention)');
  const dp = k.d % (k.p - 1n);
  const dq = k.d % (k.q - 1n);
  if ((k.e * dp) % (k.p - 1n) !== 1n || (k.e * dq) % (k.q - 1n) !== 1n) throw new Error('secret key: d does not match e');
  // JWK (RFC 7518 6.3.2) wants qi = q^-1 mod p: the other way round from OpenPGP's u.
  const qi = modInverse(k.q, k.p);
  return crypto.createPrivateKey({
    format: 'jwk',
    key: { kty: 'RSA', n: b64u(k.n), e: b64u(k.e), d: b64u(k.d), p: b64u(k.p), q: b64u(k.q), dp: b64u(dp), dq: b64u(dq), qi: b64u(qi) },
  });
}

/** The primary (tag 5) RSA secret key of a `gpg --export-secret-keys` output, as a node key. */
export function privateKeyFromGpgExport(exported: Buffer): KeyObject {
  const primaries = readPackets(exported).filter((p) => p.tag === 5);
  if (primaries.length !== 1) throw new Error(`expected one secret-key packet, found ${primaries.length}`);
  return rsaSecretKeyToKeyObject(parseRsaSecretKeyPacket(primaries[0]!.body));
}

/** Unencrypted PKCS#8 PEM of the primary secret key of a gpg export (what `snapline key import` reads). */
export function pemFromGpgExport(exported: Buffer): string {
  return privateKeyFromGpgExport(exported).export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** Version of a Debian package, for diagnostics. */
export function packageVersion(pkg: string): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }) || 'unknown version';
  } catch {
    return 'unknown version';
  }
}

/** Version string of a tool (first line of `--version`), for diagnostics. */
export function toolVersion(path: string): string {
  try {
    return execFileSync(path, ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
  } catch {
    return 'unknown version';
  }
}
