// Password hashing with scrypt (node:crypto). The hash string records its
// parameters, PHC style: $scrypt$ln=15,r=8,p=1$<salt>$<hash> (unpadded
// base64), so they can be raised later while old hashes still verify.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { AuthError } from './errors.ts';

/** scrypt cost: N = 2^ln, block size r, parallelism p. */
export interface ScryptParams {
  ln: number;
  r: number;
  p: number;
}

/** 2^15 × 8 × 128 bytes = 32 MiB and about 0.1 s per hash on a current core. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { ln: 15, r: 8, p: 1 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;
// Bounds for parameters read back from a stored hash, so a crafted row cannot make us allocate gigabytes.
const MAX = { ln: 20, r: 32, p: 16 };

function derive(password: string, salt: Buffer, params: ScryptParams, length: number): Promise<Buffer> {
  const N = 2 ** params.ln;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r * params.p };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** Hashes a password; the result is what users.password_hash stores. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, params, HASH_BYTES);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64').replace(/=+$/, '')}$${hash.toString('base64').replace(/=+$/, '')}`;
}

const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** The parameters a stored hash was made with. */
export function passwordHashParams(stored: string): ScryptParams {
  const m = FORMAT.exec(stored);
  const params = m && { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (!params || params.ln < 1 || params.ln > MAX.ln || params.r < 1 || params.r > MAX.r || params.p < 1 || params.p > MAX.p) {
    throw new AuthError('password-hash-invalid', 'stored password hash is not a supported scrypt hash');
  }
  return params;
}

/** True when `password` matches the stored hash (constant-time comparison). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const params = passwordHashParams(stored);
  const [, , , salt, hash] = stored.split('$') as [string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64');
  const actual = await derive(password, Buffer.from(salt, 'base64'), params, expected.length);
  return timingSafeEqual(actual, expected);
}

/** True when a stored hash was made with weaker parameters than `params` (rehash at next login). */
export function passwordNeedsRehash(stored: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  const old = passwordHashParams(stored);
  return old.ln < params.ln || old.r < params.r || old.p < params.p;
}
