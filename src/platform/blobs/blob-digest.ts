// SHA3-384 digests of blobs: metering an upload, and parsing a digest name.
import { createHash, type Hash } from 'node:crypto';
import type { BlobDigest } from './blob-store.contract.ts';
import { BlobError } from './errors.ts';

const HEX = /^[0-9a-f]{96}$/;
const BASE64URL = /^[A-Za-z0-9_-]{64}$/;

/** Parses a SHA3-384 digest given in hex (96 digits) or base64url (64 characters). */
export function parseBlobDigest(name: string): BlobDigest {
  if (HEX.test(name)) return { hex: name, base64url: Buffer.from(name, 'hex').toString('base64url') };
  if (BASE64URL.test(name)) {
    const raw = Buffer.from(name, 'base64url');
    // Reject non-canonical spellings, so one blob has exactly one name.
    if (raw.length === 48 && raw.toString('base64url') === name) return { hex: raw.toString('hex'), base64url: name };
  }
  throw new BlobError('blob-digest-invalid', `not a SHA3-384 digest: ${JSON.stringify(name.slice(0, 100))}`);
}

/** Counts and hashes the bytes of one upload, enforcing its size limit. */
export class BlobMeter {
  #hash: Hash = createHash('sha3-384');
  size = 0;

  constructor(private readonly maxSize: number) {}

  /** Takes the next chunk; throws blob-too-large once the limit is passed. */
  update(chunk: Uint8Array): void {
    this.size += chunk.length;
    if (this.size > this.maxSize) throw new BlobError('blob-too-large', `blob larger than the limit of ${this.maxSize} bytes`);
    this.#hash.update(chunk);
  }

  /** The digest; throws blob-digest-mismatch when it is not `expected`. */
  finish(expected?: string): BlobDigest {
    const raw = this.#hash.digest();
    const digest = { hex: raw.toString('hex'), base64url: raw.toString('base64url') };
    if (expected !== undefined && expected !== digest.hex && expected !== digest.base64url) {
      throw new BlobError('blob-digest-mismatch', `content has SHA3-384 ${digest.base64url}, expected ${expected}`);
    }
    return digest;
  }
}

/** Resolves an optional range against a blob's size; throws blob-range-invalid when outside it. */
export function resolveRange(size: number, range?: { start: number; end?: number }): { start: number; end: number } {
  if (!range) return { start: 0, end: size - 1 };
  const { start } = range;
  const end = Math.min(range.end ?? size - 1, size - 1);
  if (!Number.isSafeInteger(start) || start < 0 || start >= size || (range.end !== undefined && (!Number.isSafeInteger(range.end) || range.end < start))) {
    throw new BlobError('blob-range-invalid', `range ${start}-${range.end ?? ''} is outside a blob of ${size} bytes`);
  }
  return { start, end };
}

/** True for errors that mean the upload's source failed or was cut short, not our storage. */
export function isSourceFailure(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException;
  // fs errors carry the failing syscall (ENOSPC on write, EACCES on open…): those are ours.
  return !(e && typeof e === 'object' && typeof e.syscall === 'string');
}
