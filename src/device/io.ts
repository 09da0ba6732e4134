// What the device agent's core needs from the world, as interfaces: HTTP, the
// clock, and a place for downloaded files. The core (registration, session,
// refresh) imports no I/O module; src/device/adapters/ implements these with
// node's fetch, timers and the file system, tests with scripted fakes.
import type { Epoch } from '../snap/index.ts';

export type { Epoch };

export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'HEAD';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

export interface HttpResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/**
 * A transport failure (no answer). `kind` is what snapd's httputil makes of it:
 * `no-network` (the network is not up: snapd retries soon, not counting the
 * attempt), `retryable` (timeouts, resets, refused connections) or `fatal`
 * (e.g. a name that does not resolve: snapd does not retry within the task).
 */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly kind: 'no-network' | 'retryable' | 'fatal',
    message: string,
  ) {
    super(message);
  }
}

/** A downloaded file, hashed on the way in. */
export interface Downloaded {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Where the bytes are (a temporary file until committed); undefined when the status was not 200/206. */
  readonly file: string | undefined;
  readonly size: number;
  /** SHA3-384 of the file, lowercase hex (the store's form). */
  readonly sha3384Hex: string;
  /** The body when the status was an error (bounded). */
  readonly errorBody?: Buffer;
}

export interface Transport {
  /** One request; throws TransportError when no answer came. */
  request(req: HttpRequest): Promise<HttpResponse>;
  /** GET `req.url` into a new temporary file; throws TransportError when no answer came. */
  download(req: HttpRequest): Promise<Downloaded>;
}

export interface Clock {
  now(): Date;
  /** Waits `ms` (tests advance a fake clock instead of waiting). */
  sleep(ms: number): Promise<void>;
}

/** Where refreshed snap files live. */
export interface SnapFiles {
  /** Moves a downloaded temporary file to its place for `name` at `revision`; returns the final path. */
  commit(tmp: string, name: string, revision: number): Promise<string>;
  /** Removes a file (a failed download, or a revision no longer kept). Missing files are fine. */
  remove(path: string): Promise<void>;
  /** Reads what a snap file says of itself (name, version, type, epoch). */
  inspect(path: string): Promise<{ name: string; version: string; type: string; epoch: Epoch }>;
}


export const ZERO_EPOCH: Epoch = { read: [0], write: [0] };

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
