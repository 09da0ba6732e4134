// Typed errors of the image builder. Each has a stable `code` the CLI prints
// and scripts can branch on; messages name what is wrong and what to do.

export type ImageErrorCode =
  | 'image-model-invalid'
  | 'image-model-untrusted'
  | 'image-store-mismatch'
  | 'image-store-error'
  | 'image-snap-not-found'
  | 'image-digest-mismatch'
  | 'image-assertion-invalid'
  | 'image-snap-invalid'
  | 'image-override-refused'
  | 'image-gadget-invalid'
  | 'image-tools-missing'
  | 'image-disk-unreadable'
  | 'image-validation-sets'
  | 'image-output';

export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ImageError';
  }
}

export function isImageError(err: unknown): err is ImageError {
  return err instanceof ImageError;
}
