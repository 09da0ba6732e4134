// validation: the legacy gating of one snap's revision by another snap's
// publisher (snapd asserts/snap_asserts.go); validation-set replaces it.
import type { AssertionType } from '../assertion.ts';
import { AssertionError } from '../errors.ts';
import { checkOptionalBool, checkRFC3339Date } from '../checks.ts';
import { inconsistent } from './common.ts';
import { goQuote } from '../go-compat/go-strconv.ts';
import { checkSnapRevision, SnapDeclarationType } from './snap-declaration.ts';

export interface ValidationData {
  readonly series: string;
  /** The gating snap. */
  readonly snapId: string;
  /** The gated snap and its approved revision. */
  readonly approvedSnapId: string;
  readonly approvedSnapRevision: number;
  readonly revoked: boolean;
  readonly timestamp: Date;
}

export const ValidationType: AssertionType<ValidationData> = {
  name: 'validation',
  primaryKey: ['series', 'snap-id', 'approved-snap-id', 'approved-snap-revision'],
  maxFormat: 0,
  assemble({ headers }) {
    const approvedSnapRevision = checkSnapRevision(headers, 'approved-snap-revision');
    const revoked = checkOptionalBool(headers, 'revoked');
    const timestamp = checkRFC3339Date(headers, 'timestamp');
    return {
      series: headers['series'] as string,
      snapId: headers['snap-id'] as string,
      approvedSnapId: headers['approved-snap-id'] as string,
      approvedSnapRevision,
      revoked,
      timestamp,
    };
  },
  timestamp: (d) => d.timestamp,
  prerequisites: (a) => [
    { type: 'snap-declaration', primaryKey: [a.data.series, a.data.snapId] },
    { type: 'snap-declaration', primaryKey: [a.data.series, a.data.approvedSnapId] },
  ],
  checkConsistency(db, a) {
    const { series, snapId, approvedSnapId } = a.data;
    if (!db.find('snap-declaration', [series, approvedSnapId])) {
      inconsistent(
        `validation assertion by snap-id ${goQuote(snapId)} does not have a matching snap-declaration assertion for approved-snap-id ${goQuote(approvedSnapId)}`,
      );
    }
    const gating = db.find('snap-declaration', [series, snapId]);
    if (!gating) inconsistent(`validation assertion by snap-id ${goQuote(snapId)} does not have a matching snap-declaration assertion`);
    const publisherId = gating.is(SnapDeclarationType) ? gating.data.publisherId : gating.headerString('publisher-id');
    if (publisherId !== a.authorityId) {
      const snapName = gating.headerString('snap-name');
      throw new AssertionError('assertion-untrusted', `validation assertion by snap ${goQuote(snapName)} (id ${goQuote(snapId)}) not signed by its publisher`);
    }
  },
};
