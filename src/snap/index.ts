// Public API of the snap module: squashfs reading and writing, snap.yaml and
// gadget.yaml, packing and reading .snap files. See docs/snap-packages.md.
export * from './errors.ts';
export { SquashfsReader, DEFAULT_LIMITS, type ReaderLimits, type SquashfsStat, type SquashfsDirEntry, type EntryType } from './squashfs/reader.ts';
export { BufferSource, FileSource, type RandomAccessSource } from './squashfs/source.ts';
export {
  writeSquashfs,
  BufferSink,
  type ImageSink,
  type WriteOptions,
  type WriteResult,
  type WriterNode,
  type WriterDirectory,
  type WriterFile,
  type WriterSymlink,
  type WriterSpecial,
} from './squashfs/writer.ts';
export { Compression, compressionName, type Superblock } from './squashfs/format.ts';
export * from './snap-yaml.ts';
export * from './gadget-yaml.ts';
export { validateContainer, isPackExcluded, type ContainerEntry } from './container.ts';
export { readSnapMetadata, listHookFiles, snapDigest, snapFileInfo, type SnapMetadata, type SnapFileInfo } from './snap-file.ts';
export { packSnap, loadSnapDir, FileSink, type PackOptions, type PackResult } from './pack.ts';
