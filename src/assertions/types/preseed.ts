// preseed: a brand's statement about the preseeding artifact of a UC20+
// seed system (snapd asserts/preseed.go).
import type { AssertionType } from '../assertion.ts';
import { HeaderError } from '../errors.ts';
import { checkDigest, checkRFC3339Date, checkStringMatches } from '../checks.ts';
import type { HeaderMap, HeaderValue } from '../headers.ts';
import { SNAP_ID, SYSTEM_LABEL } from '../names.ts';
import { checkModelHeader } from './model.ts';
import { goQuote } from '../go-compat/go-strconv.ts';
import { checkAuthorityMatchesBrand } from './repair.ts';
import { checkSnapRevision } from './snap-declaration.ts';
import { checkSnapEntryName, checkUniqueSnapList } from './validation-set.ts';

export interface PreseedSnap {
  readonly name: string;
  /** "" for unasserted snaps (then revision is 0 too). */
  readonly snapId: string;
  readonly revision: number;
}

export interface PreseedData {
  readonly series: string;
  readonly brandId: string;
  readonly model: string;
  readonly systemLabel: string;
  readonly snaps: readonly PreseedSnap[];
  readonly artifactSha3384: string;
  readonly timestamp: Date;
}

function checkSnap(snap: HeaderMap): PreseedSnap {
  const name = checkSnapEntryName(snap);
  const what = `of snap ${goQuote(name)}`;
  const snapId = Object.hasOwn(snap, 'id') ? checkStringMatches(snap, 'id', SNAP_ID, what) : '';
  const revision = Object.hasOwn(snap, 'revision') ? checkSnapRevision(snap, 'revision', what) : 0;
  if (snapId !== '' && revision <= 0) throw new HeaderError('snap revision is required when snap id is set');
  if (snapId === '' && revision > 0) throw new HeaderError('snap id is required when revision is set');
  return { name, snapId, revision };
}

function checkSnaps(value: HeaderValue): PreseedSnap[] {
  return checkUniqueSnapList(value, checkSnap);
}

export const PreseedType: AssertionType<PreseedData> = {
  name: 'preseed',
  primaryKey: ['series', 'brand-id', 'model', 'system-label'],
  maxFormat: 0,
  assemble({ headers }) {
    checkAuthorityMatchesBrand('preseed', headers);
    const model = checkModelHeader(headers);
    const systemLabel = checkStringMatches(headers, 'system-label', SYSTEM_LABEL);
    if (!Object.hasOwn(headers, 'snaps')) throw new HeaderError('"snaps" header is mandatory');
    const snaps = checkSnaps(headers['snaps']!);
    const artifactSha3384 = checkDigest(headers, 'artifact-sha3-384');
    const timestamp = checkRFC3339Date(headers, 'timestamp');
    return {
      series: headers['series'] as string,
      brandId: headers['brand-id'] as string,
      model,
      systemLabel,
      snaps,
      artifactSha3384,
      timestamp,
    };
  },
  timestamp: (d) => d.timestamp,
};
