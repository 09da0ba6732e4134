// repair: a brand's signed repair script for snap-repair, sequenced per
// brand (snapd asserts/repair.go). The body is the script.
import type { AssertionType } from '../assertion.ts';
import { HeaderError } from '../errors.ts';
import { checkNotEmptyString, checkOptionalBool, checkRFC3339Date, checkStringList } from '../checks.ts';
import type { HeaderMap } from '../headers.ts';
import { isValidSnapName } from '../names.ts';
import { goQuote } from '../go-compat/go-strconv.ts';
import { checkSequence } from './validation-set.ts';

/**
 * Body limit snap-repair applies to repair assertions it fetches (snapd
 * cmd/snap-repair/runner.go: 24 MiB), instead of the stream decoder's
 * default 2 MiB; pass it as `maxBodySize: { repair: REPAIR_MAX_BODY_SIZE }`
 * to decodeStream. The single-assertion decoder has no limit.
 */
export const REPAIR_MAX_BODY_SIZE = 24 * 1024 * 1024;

export interface RepairData {
  readonly brandId: string;
  readonly repairId: number;
  readonly summary: string;
  readonly series: readonly string[];
  /** "brand/model" entries (snap-repair also accepts "brand/prefix*" globs). */
  readonly models: readonly string[];
  readonly architectures: readonly string[];
  /** "run" and/or "recover"; empty means run mode only. */
  readonly modes: readonly string[];
  readonly bases: readonly string[];
  readonly disabled: boolean;
  readonly timestamp: Date;
  /** The repair script. */
  readonly script: Buffer | undefined;
}

/** snapd's checkAuthorityMatchesBrand. */
export function checkAuthorityMatchesBrand(typeName: string, headers: HeaderMap): void {
  const authorityId = headers['authority-id'] as string;
  const brandId = headers['brand-id'] as string;
  if (brandId !== authorityId) {
    throw new HeaderError(
      `authority-id and brand-id must match, ${typeName} assertions are expected to be signed by the brand: ${goQuote(authorityId)} != ${goQuote(brandId)}`,
    );
  }
}

// Bases known not to support recovery modes (UC16, UC18).
const NON_RECOVERY_BASES = ['core', 'core18', 'core16'];

export const RepairType: AssertionType<RepairData> = {
  name: 'repair',
  primaryKey: ['brand-id', 'repair-id'],
  sequenceForming: true,
  maxFormat: 0,
  assemble({ headers, body }) {
    checkAuthorityMatchesBrand('repair', headers);
    const repairId = checkSequence(headers, 'repair-id');
    const summary = checkNotEmptyString(headers, 'summary');
    if (/[\n\r]/.test(summary)) throw new HeaderError('"summary" header cannot have newlines');
    const series = checkStringList(headers, 'series');
    const models = checkStringList(headers, 'models');
    const architectures = checkStringList(headers, 'architectures');
    const modes = checkStringList(headers, 'modes');
    const bases = checkStringList(headers, 'bases');
    for (const b of bases) {
      if (!isValidSnapName(b)) throw new HeaderError(`invalid snap name ${goQuote(b)} in "bases"`);
    }
    if (modes.length > 0) {
      for (const m of modes) {
        if (m !== 'run' && m !== 'recover') {
          throw new HeaderError(`header "modes" contains an invalid element: ${goQuote(m)} (valid values are run and recover)`);
        }
      }
      if (bases.some((b) => NON_RECOVERY_BASES.includes(b))) {
        throw new HeaderError('in the presence of a non-empty "modes" header, "bases" must only contain base snaps supporting recovery modes');
      }
    }
    const disabled = checkOptionalBool(headers, 'disabled');
    const timestamp = checkRFC3339Date(headers, 'timestamp');
    return {
      brandId: headers['brand-id'] as string,
      repairId,
      summary,
      series,
      models,
      architectures,
      modes,
      bases,
      disabled,
      timestamp,
      script: body,
    };
  },
  timestamp: (d) => d.timestamp,
};
