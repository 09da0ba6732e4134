// snap-revision: the store's statement that a snap file (by digest) is a
// given revision of a snap, uploaded by a developer (snapd asserts/snap_asserts.go).
import type { AssertionType } from '../assertion.ts';
import { AssertionError } from '../errors.ts';
import { checkDigest, checkNotEmptyString, checkRFC3339Date, checkStringMatches, checkUint } from '../checks.ts';
import { DEFAULT_PROVENANCE, PROVENANCE } from '../names.ts';
import { inconsistent } from './common.ts';
import { goQuote } from '../go-compat/go-strconv.ts';
import { checkSnapRevision, revisionAuthoritiesFor, revisionAuthorityMismatch, SnapDeclarationType } from './snap-declaration.ts';

/** The release series snapd looks snap-declarations up in. */
export const SNAP_SERIES = '16';

export interface SnapRevisionData {
  /** base64url SHA3-384 of the .snap file. */
  readonly snapSha3384: string;
  /** "global-upload" unless a revision authority signed it. */
  readonly provenance: string;
  readonly snapId: string;
  readonly snapSize: number;
  readonly snapRevision: number;
  readonly developerId: string;
  readonly timestamp: Date;
}

export const SnapRevisionType: AssertionType<SnapRevisionData> = {
  name: 'snap-revision',
  primaryKey: ['snap-sha3-384', 'provenance'],
  optionalPrimaryKeyDefaults: { provenance: DEFAULT_PROVENANCE },
  maxFormat: 0,
  assemble({ headers }) {
    const snapSha3384 = checkDigest(headers, 'snap-sha3-384');
    const provenance = checkStringMatches(headers, 'provenance', PROVENANCE);
    const snapId = checkNotEmptyString(headers, 'snap-id');
    const snapSize = checkUint(headers, 'snap-size');
    const snapRevision = checkSnapRevision(headers, 'snap-revision');
    const developerId = checkNotEmptyString(headers, 'developer-id');
    const timestamp = checkRFC3339Date(headers, 'timestamp');
    return { snapSha3384, provenance, snapId, snapSize, snapRevision, developerId, timestamp };
  },
  timestamp: (d) => d.timestamp,
  prerequisites: (a) => [
    { type: 'snap-declaration', primaryKey: [SNAP_SERIES, a.data.snapId] },
    { type: 'account', primaryKey: [a.data.developerId] },
  ],
  checkConsistency(db, a) {
    const { provenance, snapId, developerId, snapRevision } = a.data;
    const otherProvenance = provenance !== DEFAULT_PROVENANCE;
    if (!otherProvenance && !db.isDirectlyTrusted(a.authorityId)) {
      // Revisions of the default provenance cannot be delegated.
      throw new AssertionError('assertion-untrusted', `snap-revision assertion for snap id ${goQuote(snapId)} is not signed by a store: ${a.authorityId}`);
    }
    if (!db.find('account', [developerId])) {
      inconsistent(`snap-revision assertion for snap id ${goQuote(snapId)} does not have a matching account assertion for the developer ${goQuote(developerId)}`);
    }
    const decl = db.find('snap-declaration', [SNAP_SERIES, snapId]);
    if (!decl) inconsistent(`snap-revision assertion for snap id ${goQuote(snapId)} does not have a matching snap-declaration assertion`);
    if (!otherProvenance) return;
    // Device scope constraints of the authority are checked at install time.
    const authorized =
      decl.is(SnapDeclarationType) &&
      revisionAuthoritiesFor(decl.data, provenance).some(
        (ra) => revisionAuthorityMismatch(ra, { provenance, authorityId: a.authorityId, snapRevision }) === undefined,
      );
    if (!authorized) {
      throw new AssertionError(
        'assertion-untrusted',
        `snap-revision assertion with provenance ${goQuote(provenance)} for snap id ${goQuote(snapId)} is not signed by an authorized authority: ${a.authorityId}`,
      );
    }
  },
};
