// Helpers shared by assertion type modules.
import { AssertionError, HeaderError } from '../errors.ts';
import { checkOptionalRFC3339Date, checkRFC3339Date } from '../checks.ts';
import type { HeaderMap } from '../headers.ts';
import { PublicKey } from '../crypto.ts';

/** A validity window [since, until); until undefined means forever. */
export interface SinceUntil {
  readonly since: Date;
  readonly until: Date | undefined;
}

export function checkSinceUntil(m: HeaderMap, what = 'header'): SinceUntil {
  const since = checkRFC3339Date(m, 'since', what);
  const until = checkOptionalRFC3339Date(m, 'until', what);
  if (until && until.getTime() < since.getTime()) throw new HeaderError("'until' time cannot be before 'since' time");
  return { since, until };
}

export function isValidAt(w: SinceUntil, when: Date): boolean {
  const t = when.getTime();
  return t >= w.since.getTime() && (w.until === undefined || t < w.until.getTime());
}

/** Decodes the public key in `body` and checks it against the key-id header. */
export function checkPublicKeyBody(headers: HeaderMap, body: Buffer | undefined, keyIdHeader: string): PublicKey {
  let key: PublicKey;
  try {
    key = PublicKey.decode(body?.toString('utf8') ?? '');
  } catch (err) {
    if (err instanceof AssertionError) throw new HeaderError(err.message);
    throw err;
  }
  const id = headers[keyIdHeader];
  if (typeof id !== 'string' || id === '') throw new HeaderError(`"${keyIdHeader}" header is mandatory`);
  if (id !== key.id) throw new HeaderError('public key does not match provided key id');
  return key;
}

export function notDirectlyTrusted(what: string, authority: string): never {
  throw new AssertionError('assertion-untrusted', `${what} is not signed by a directly trusted authority: ${authority}`);
}

export function inconsistent(msg: string): never {
  throw new AssertionError('assertion-inconsistent', msg);
}
