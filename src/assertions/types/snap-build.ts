// snap-build: a developer's statement about a snap file they built
// (snapd asserts/snap_asserts.go). No database checks beyond the key chain.
import type { AssertionType } from '../assertion.ts';
import { checkDigest, checkNotEmptyString, checkRFC3339Date, checkUint } from '../checks.ts';

export interface SnapBuildData {
  readonly snapSha3384: string;
  readonly snapId: string;
  /** "stable" or "devel" as `snap sign-build` writes it; any non-empty string is accepted. */
  readonly grade: string;
  readonly snapSize: number;
  readonly timestamp: Date;
}

export const SnapBuildType: AssertionType<SnapBuildData> = {
  name: 'snap-build',
  primaryKey: ['snap-sha3-384'],
  maxFormat: 0,
  assemble({ headers }) {
    const snapSha3384 = checkDigest(headers, 'snap-sha3-384');
    const snapId = checkNotEmptyString(headers, 'snap-id');
    const grade = checkNotEmptyString(headers, 'grade');
    const snapSize = checkUint(headers, 'snap-size');
    const timestamp = checkRFC3339Date(headers, 'timestamp');
    return { snapSha3384, snapId, grade, snapSize, timestamp };
  },
  timestamp: (d) => d.timestamp,
};
