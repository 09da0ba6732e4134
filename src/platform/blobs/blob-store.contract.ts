// The BlobStore contract: content-addressed storage for .snap files and other
// large immutable bytes. Implementations: fs-blob-store.ts (default) and
// memory-blob-store.ts (tests); an object-store plugin can follow the same
// contract, which test/platform/blobs/blob-store.contract.test.ts checks.
import type { Readable } from 'node:stream';
import type { ByteSink } from './send-file.ts';

/** A SHA3-384 digest in the two forms snapd uses: hex (store API) and base64url (assertions). */
export interface BlobDigest {
  hex: string;
  base64url: string;
}

/** What is known about a stored blob. */
export interface BlobInfo {
  sha3_384: BlobDigest;
  size: number;
}

export interface PutOptions {
  /** Largest accepted size in bytes; the upload fails with blob-too-large as soon as it is passed. */
  maxSize: number;
  /** When given, the content must have this SHA3-384 (hex or base64url), else blob-digest-mismatch. */
  expectedSha3_384?: string;
  /** Aborts the upload (blob-aborted). */
  signal?: AbortSignal;
}

export interface DeleteOptions {
  /** Delete only a blob stored before this time (the orphan sweep's grace period); a blob stored again since is kept. */
  storedBefore?: Date;
}

/** A stored blob as `list()` gives it. */
export interface StoredBlob {
  /** SHA3-384, lowercase hex. */
  hex: string;
  size: number;
  /** When it was last stored (put again: the later time). */
  storedAt: Date;
}

/** A byte range; `end` is inclusive, as in HTTP Range and fs streams. Omitted `end`: to the last byte. */
export interface ByteRange {
  start: number;
  end?: number;
}

/** An opened blob: its requested bytes, as a stream or sent to a sink, and where they lie in the whole. */
export interface BlobRead {
  /** The bytes as a stream. Use this or sendTo(), not both. */
  readonly stream: Readable;
  /**
   * Writes the bytes to a sink (an HTTP response), faster than piping
   * `stream` where the store can (file stores reuse their read buffers);
   * releases the blob either way. The caller ends or destroys the sink.
   */
  sendTo(sink: ByteSink): Promise<void>;
  /** Size of the whole blob. */
  size: number;
  /** First byte streamed. */
  start: number;
  /** Last byte streamed (inclusive); start - 1 when nothing is. */
  end: number;
}

/** Content-addressed blob storage: the SHA3-384 of the bytes is their name. */
export interface BlobStore {
  /**
   * Stores a stream, hashing it on the way in. Resolves once the blob is
   * durable and visible under its digest; on any failure nothing is visible
   * and nothing is left behind. Putting content already stored is fine.
   */
  put(source: Readable | AsyncIterable<Uint8Array>, options: PutOptions): Promise<BlobInfo>;
  /** Opens a blob by digest (hex or base64url), optionally a byte range of it. */
  get(digest: string, range?: ByteRange): Promise<BlobRead>;
  /** The blob's info, or undefined when it is not stored. */
  stat(digest: string): Promise<BlobInfo | undefined>;
  /** Removes a blob; resolves false when it was not stored (or, with `storedBefore`, stored since). */
  delete(digest: string, options?: DeleteOptions): Promise<boolean>;
  /** Every stored blob (for sweeps; the order is the store's). */
  list(): AsyncIterable<StoredBlob>;
}
