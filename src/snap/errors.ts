// Typed errors of the snap module. Each class has a stable `code` that callers
// (the store's upload path, the CLI, the image builder) branch on; messages are
// lowercase and name what is wrong, in snapd's style.

/** Base class of every error thrown by src/snap: carries a stable machine code. */
export class SnapError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A squashfs image is malformed, truncated, inconsistent or exceeds a safety limit. */
export class SquashfsCorruptError extends SnapError {
  constructor(message: string) {
    super('squashfs-corrupt', message);
  }
}

/** A squashfs image uses a compressor this build cannot decode (lzo, lz4, lzma, xz with bcj filters ...). */
export class SquashfsUnsupportedCompressionError extends SnapError {
  constructor(
    readonly compressor: string,
    message?: string,
  ) {
    super('squashfs-unsupported-compression', message ?? `squashfs compression ${compressor} is not supported`);
  }
}

/** A squashfs image uses a feature outside what Snapline reads (other versions, ...). */
export class SquashfsUnsupportedError extends SnapError {
  constructor(message: string) {
    super('squashfs-unsupported', message);
  }
}

/** A path looked up inside a squashfs image does not exist or has the wrong kind. */
export class SquashfsPathError extends SnapError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super('squashfs-path', message);
  }
}

/** meta/snap.yaml is missing, not YAML, or breaks one of snapd's rules. */
export class SnapYamlError extends SnapError {
  constructor(message: string) {
    super('snap-yaml-invalid', message);
  }
}

/** meta/gadget.yaml is missing, not YAML, or breaks one of snapd's rules. */
export class GadgetYamlError extends SnapError {
  constructor(message: string) {
    super('gadget-yaml-invalid', message);
  }
}

/** A directory cannot be packed into a snap (bad layout, unreadable file, unsupported file type). */
export class SnapPackError extends SnapError {
  constructor(message: string) {
    super('snap-pack-invalid', message);
  }
}
