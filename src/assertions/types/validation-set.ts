// validation-set: an account's named, sequenced statement about which snaps
// (and revisions) are required, optional or invalid together
// (snapd asserts/validation_set.go). Sequence forming; no database checks.
import type { AssertionType } from '../assertion.ts';
import { HeaderError } from '../errors.ts';
import { checkInt, checkNotEmptyString, checkOptionalString, checkRFC3339Date, checkStringMatches } from '../checks.ts';
import { isHeaderList, isHeaderMap, type HeaderMap, type HeaderValue } from '../headers.ts';
import { isValidSnapName, SNAP_ID, VALIDATION_SET_NAME } from '../names.ts';
import { goQuote } from '../go-compat/go-strconv.ts';
import { checkSnapRevision } from './snap-declaration.ts';

export type ValidationSetPresence = 'required' | 'optional' | 'invalid';

export interface ValidationSetSnap {
  readonly name: string;
  readonly snapId: string;
  /** Defaults to "required". */
  readonly presence: ValidationSetPresence;
  /** 0 when no revision is pinned. */
  readonly revision: number;
}

export interface ValidationSetData {
  readonly series: string;
  readonly accountId: string;
  readonly name: string;
  readonly sequence: number;
  readonly snaps: readonly ValidationSetSnap[];
  readonly timestamp: Date;
}

const PRESENCES: readonly string[] = ['required', 'optional', 'invalid'];

/** A sequence number header >= 1 (snapd's checkSequence). */
export function checkSequence(headers: HeaderMap, name: string): number {
  const n = checkInt(headers, name);
  if (n < 1) throw new HeaderError(`${goQuote(name)} must be >=1: ${n}`);
  return n;
}

/** The "name" entry of a snap map, which must be a valid snap name. */
export function checkSnapEntryName(snap: HeaderMap): string {
  const name = checkNotEmptyString(snap, 'name', 'of snap');
  if (!isValidSnapName(name)) throw new HeaderError(`invalid snap name ${goQuote(name)}`);
  return name;
}

function checkSnap(snap: HeaderMap): ValidationSetSnap {
  const name = checkSnapEntryName(snap);
  const what = `of snap ${goQuote(name)}`;
  const snapId = checkStringMatches(snap, 'id', SNAP_ID, what);
  const presence = checkOptionalString(snap, 'presence', what);
  if (presence !== '' && !PRESENCES.includes(presence)) throw new HeaderError(`presence ${what} must be one of ${PRESENCES.join('|')}`);
  const revision = Object.hasOwn(snap, 'revision') ? checkSnapRevision(snap, 'revision', what) : 0;
  if (revision !== 0 && presence === 'invalid') {
    throw new HeaderError(`cannot specify revision ${what} at the same time as stating its presence is invalid`);
  }
  return { name, snapId, presence: (presence || 'required') as ValidationSetPresence, revision };
}

/**
 * A "snaps" list of maps whose names, and snap ids when given, are unique
 * (validation-set and preseed share snapd's rules and messages).
 */
export function checkUniqueSnapList<T extends { name: string; snapId: string }>(value: HeaderValue, checkSnap: (entry: HeaderMap) => T): T[] {
  const wrong = () => new HeaderError('"snaps" header must be a list of maps');
  if (!isHeaderList(value)) throw wrong();
  const names = new Set<string>();
  const ids = new Map<string, string>();
  return value.map((entry) => {
    if (!isHeaderMap(entry)) throw wrong();
    const snap = checkSnap(entry);
    if (names.has(snap.name)) throw new HeaderError(`cannot list the same snap ${goQuote(snap.name)} multiple times`);
    names.add(snap.name);
    if (snap.snapId !== '') {
      const other = ids.get(snap.snapId);
      if (other !== undefined) {
        throw new HeaderError(
          `cannot specify the same snap id ${goQuote(snap.snapId)} multiple times, specified for snaps ${goQuote(other)} and ${goQuote(snap.name)}`,
        );
      }
      ids.set(snap.snapId, snap.name);
    }
    return snap;
  });
}

function checkSnaps(value: HeaderValue): ValidationSetSnap[] {
  return checkUniqueSnapList(value, checkSnap);
}

export const ValidationSetType: AssertionType<ValidationSetData> = {
  name: 'validation-set',
  primaryKey: ['series', 'account-id', 'name', 'sequence'],
  sequenceForming: true,
  maxFormat: 0,
  assemble({ headers }) {
    const authorityId = headers['authority-id'] as string;
    const accountId = headers['account-id'] as string;
    if (accountId !== authorityId) {
      throw new HeaderError(
        `authority-id and account-id must match, validation-set assertions are expected to be signed by the issuer account: ${goQuote(authorityId)} != ${goQuote(accountId)}`,
      );
    }
    const name = checkStringMatches(headers, 'name', VALIDATION_SET_NAME);
    const sequence = checkSequence(headers, 'sequence');
    if (!Object.hasOwn(headers, 'snaps')) throw new HeaderError('"snaps" header is mandatory');
    const snaps = checkSnaps(headers['snaps']!);
    const timestamp = checkRFC3339Date(headers, 'timestamp');
    return { series: headers['series'] as string, accountId, name, sequence, snaps, timestamp };
  },
  timestamp: (d) => d.timestamp,
};
