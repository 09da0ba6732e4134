// Typed errors of blob storage.
import { CodedError } from '../../errors/coded-error.ts';

/** Stable error codes of blob storage. */
export type BlobErrorCode =
  /** the upload went over its size limit; nothing was kept */
  | 'blob-too-large'
  /** the upload stream failed or was aborted before its end; nothing was kept */
  | 'blob-aborted'
  /** the content's SHA3-384 is not the one the caller expected; nothing was kept */
  | 'blob-digest-mismatch'
  /** no blob with that digest */
  | 'blob-not-found'
  /** the byte range lies outside the blob */
  | 'blob-range-invalid'
  /** the name is not a SHA3-384 digest in hex or base64url */
  | 'blob-digest-invalid';

/** An error of blob storage; `code` is stable, `message` is for humans. */
export class BlobError extends CodedError<BlobErrorCode> {
  override readonly name = 'BlobError';
}

export function isBlobError(err: unknown, code?: BlobErrorCode): err is BlobError {
  return err instanceof BlobError && (code === undefined || err.code === code);
}
