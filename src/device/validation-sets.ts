// The model's enforced validation sets on a device, as snapd's refresh reads
// them (overlord/snapstate/storehelpers.go, refreshCandidates and
// setActionValidationSetsAndRequiredRevision; asserts/snapasserts
// validation_sets.go, CheckPresenceRequired): a snap that an enforced set
// requires at a revision is refreshed with that `revision` and the sets'
// keys in `validation-sets` (no cohort then), or left out of the actions when
// it already runs it; a snap an enforced set declares invalid stops the whole
// refresh. snapd 2.58 reads the model's `validation-sets` header, 2.60
// enforces it from seeding on. Pure: the sets are passed in.
import { seedViolation, snapRequirements, validationSetName, type Assertion, type ModelData, type ValidationSetData } from '../assertions/index.ts';
import { DeviceError } from './errors.ts';
import type { InstalledSnap } from './state.ts';

/** The model's sets a device enforces: `enforce`, and `prefer-enforce` (snapd enforces it when it can; a device here always can). */
export function enforcedSetRefs(model: Assertion<ModelData>): { accountId: string; name: string; sequence: number; mode: 'enforce' | 'prefer-enforce' }[] {
  return model.data.validationSets.map((v) => ({ accountId: v.accountId, name: v.name, sequence: v.sequence, mode: v.mode }));
}

/**
 * Seeding with enforced sets, as snapd ≥ 2.60 does (overlord/devicestate,
 * firstboot): each set the model enforces (`enforce`) must be in the seed (at
 * the sequence the model pins, else its newest there), and the seed's snaps
 * must meet it: every required snap present, at the pinned revision; no
 * invalid one. Throws `device-seed-invalid` naming the set and the snap.
 */
export function checkSeedAgainstSets(model: Assertion<ModelData>, assertions: readonly Assertion[], snaps: readonly { name: string; snapId: string; revision: number }[]): void {
  const fail = (msg: string): never => {
    throw new DeviceError('device-seed-invalid', msg);
  };
  for (const ref of enforcedSetRefs(model)) {
    if (ref.mode !== 'enforce') continue;
    const what = `${ref.accountId}/${ref.name}${ref.sequence ? `=${ref.sequence}` : ''}`;
    const candidates = assertions
      .filter((a): a is Assertion<ValidationSetData> => a.type === 'validation-set')
      .filter((a) => a.data.accountId === ref.accountId && a.data.name === ref.name && (!ref.sequence || a.data.sequence === ref.sequence))
      .sort((a, b) => b.data.sequence - a.data.sequence);
    const set = candidates[0] ?? fail(`the model enforces validation set ${what}, which the seed does not carry (snapd 2.60 and later refuse to seed it)`);
    const v = seedViolation(set, snaps);
    const name = validationSetName(set);
    if (v?.kind === 'invalid-present') fail(`validation set ${name} declares ${v.entry.name} invalid, and the seed carries it`);
    if (v?.kind === 'missing') fail(`validation set ${name} requires ${v.entry.name}, which the seed does not carry`);
    if (v?.kind === 'other-revision') fail(`validation set ${name} requires ${v.entry.name} at revision ${v.entry.revision}; the seed carries revision ${v.revision}`);
  }
}

/** What enforced sets ask of one installed snap. */
export interface SnapPin {
  /** The primary keys of the sets requiring the snap, sorted, as the action's `validation-sets`. */
  readonly sets: readonly (readonly string[])[];
  /** The revision they require; 0 when they require the snap at any revision. */
  readonly revision: number;
}

/**
 * For each installed snap an enforced set names: the sets that require it and
 * the revision they pin. Throws `device-validation-sets` when a set declares
 * an installed snap invalid, or two sets require different revisions
 * (whichever comes first among the sets).
 */
export function pinsFor(snaps: readonly InstalledSnap[], sets: readonly Assertion<ValidationSetData>[]): Map<string, SnapPin> {
  const pins = new Map<string, SnapPin>();
  for (const snap of snaps) {
    const r = snapRequirements(sets, snap);
    if (r.invalid && (!r.conflict || r.invalid.at < r.conflict.at)) {
      throw new DeviceError('device-validation-sets', `the enforced validation set ${validationSetName(r.invalid.set)} declares ${snap.name} invalid, and it is installed: snapd refuses to refresh`);
    }
    if (r.conflict) {
      throw new DeviceError('device-validation-sets', `the enforced validation sets disagree on ${snap.name}: revision ${r.conflict.revisions[0]} and revision ${r.conflict.revisions[1]} (${validationSetName(r.conflict.set)})`);
    }
    const keys = r.required.map((x) => [...x.set.primaryKey]);
    if (keys.length > 0) pins.set(snap.snapId, { sets: keys.sort((a, b) => a.join('/').localeCompare(b.join('/'))), revision: r.revision });
  }
  return pins;
}
