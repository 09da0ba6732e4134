// snap-developer: the developers who may collaborate on a snap under a given
// publisher, with validity ranges (snapd asserts/snap_asserts.go).
import type { AssertionType, Ref } from '../assertion.ts';
import { AssertionError, HeaderError } from '../errors.ts';
import { checkOptionalRFC3339Date, checkRFC3339Date, checkStringMatches } from '../checks.ts';
import { isHeaderList, isHeaderMap, type HeaderMap } from '../headers.ts';
import { ACCOUNT_ID } from '../names.ts';
import { inconsistent } from './common.ts';
import { goQuote } from '../go-compat/go-strconv.ts';
import { SNAP_SERIES } from './snap-revision.ts';

/** A period a developer may collaborate; since == until revokes them. */
export interface DeveloperRange {
  readonly since: Date;
  /** undefined: open-ended. */
  readonly until: Date | undefined;
}

export interface SnapDeveloperData {
  readonly snapId: string;
  readonly publisherId: string;
  /** Developer account id to its ranges, in the order they appear. */
  readonly developers: ReadonlyMap<string, readonly DeveloperRange[]>;
}

// Go's zero time.Time (0001-01-01T00:00:00Z): snapd uses it for an absent "until".
const GO_ZERO_TIME = new Date(Date.UTC(2000, 0, 1)).setUTCFullYear(1);

function checkDevelopers(headers: HeaderMap): Map<string, DeveloperRange[]> {
  const developers = new Map<string, DeveloperRange[]>();
  if (!Object.hasOwn(headers, 'developers')) return developers;
  const value = headers['developers'];
  const wrong = () => new HeaderError('"developers" must be a list of developer maps');
  if (!isHeaderList(value)) throw wrong();
  // Per developer: whether the first item seen revokes them.
  const revocation = new Map<string, boolean>();
  value.forEach((item, i) => {
    if (!isHeaderMap(item)) throw wrong();
    const developerId = checkStringMatches(item, 'developer-id', ACCOUNT_ID, `in "developers" item ${i + 1}`);
    const what = `in "developers" item ${i + 1} for developer ${goQuote(developerId)}`;
    const since = checkRFC3339Date(item, 'since', what);
    const until = checkOptionalRFC3339Date(item, 'until', what);
    const untilTime = until?.getTime() ?? GO_ZERO_TIME;
    if (untilTime !== GO_ZERO_TIME && since.getTime() > untilTime) {
      throw new HeaderError(`"since" ${what} must be less than or equal to "until"`);
    }
    const revoked = since.getTime() === untilTime;
    const previous = revocation.get(developerId);
    if (previous === undefined) revocation.set(developerId, revoked);
    else if (previous || revoked) {
      throw new HeaderError(`revocation for developer ${goQuote(developerId)} must be standalone but found other "developers" items`);
    }
    const ranges = developers.get(developerId) ?? [];
    ranges.push({ since, until: untilTime === GO_ZERO_TIME ? undefined : until });
    developers.set(developerId, ranges);
  });
  return developers;
}

export const SnapDeveloperType: AssertionType<SnapDeveloperData> = {
  name: 'snap-developer',
  primaryKey: ['snap-id', 'publisher-id'],
  maxFormat: 0,
  assemble({ headers }) {
    const developers = checkDevelopers(headers);
    return { snapId: headers['snap-id'] as string, publisherId: headers['publisher-id'] as string, developers };
  },
  prerequisites(a) {
    const { snapId, publisherId, developers } = a.data;
    const refs: Ref[] = [
      { type: 'snap-declaration', primaryKey: [SNAP_SERIES, snapId] },
      { type: 'account', primaryKey: [publisherId] },
    ];
    for (const id of developers.keys()) if (id !== publisherId) refs.push({ type: 'account', primaryKey: [id] });
    return refs;
  },
  checkConsistency(db, a) {
    const { snapId, publisherId, developers } = a.data;
    const authorityId = a.authorityId;
    if (!db.isDirectlyTrusted(authorityId) && publisherId !== authorityId) {
      throw new AssertionError(
        'assertion-untrusted',
        `snap-developer must be signed by the publisher or a trusted authority but got authority ${goQuote(authorityId)} and publisher ${goQuote(publisherId)}`,
      );
    }
    // The current publisher does not matter: this may be for a future one.
    if (!db.find('snap-declaration', [SNAP_SERIES, snapId])) {
      inconsistent(`snap-developer assertion for snap id ${goQuote(snapId)} does not have a matching snap-declaration assertion`);
    }
    if (!db.find('account', [publisherId])) {
      inconsistent(`snap-developer assertion for snap-id ${goQuote(snapId)} does not have a matching account assertion for the publisher ${goQuote(publisherId)}`);
    }
    for (const id of developers.keys()) {
      if (id !== publisherId && !db.find('account', [id])) {
        inconsistent(`snap-developer assertion for snap-id ${goQuote(snapId)} does not have a matching account assertion for the developer ${goQuote(id)}`);
      }
    }
  },
};
