// Blob storage: content-addressed by SHA3-384, behind the BlobStore contract.
export * from './errors.ts';
export type * from './blob-store.contract.ts';
export { parseBlobDigest } from './blob-digest.ts';
export { FsBlobStore } from './fs-blob-store.ts';
export { MemoryBlobStore } from './memory-blob-store.ts';
