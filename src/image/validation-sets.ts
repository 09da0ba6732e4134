// A model's enforced validation sets at seeding, as snapd 2.60 and later
// treat them (image.Prepare with the model's `validation-sets`, mode
// `enforce`; earlier snapd ignores the header): every set is fetched (at the
// sequence the model pins, else its newest) and goes into the seed with the
// model's assertions; the snaps it requires at a revision are downloaded at
// that revision (the action carries `revision` and the sets' keys, as snapd's
// storehelpers do on devices); and the seed must meet every set: each
// required snap present, at its pinned revision, no invalid snap. Pure.
import { seedViolation, snapRequirements, validationSetName, type Assertion, type ModelData, type ValidationSetData } from '../assertions/index.ts';
import { ImageError } from './errors.ts';

export interface EnforcedSetRef {
  readonly accountId: string;
  readonly name: string;
  /** 0: the newest. */
  readonly sequence: number;
}

/** The sets the model enforces at seeding (`mode: enforce`; `prefer-enforce` sets are left to the device). */
export function enforcedSetRefs(model: ModelData): EnforcedSetRef[] {
  return model.validationSets.filter((v) => v.mode === 'enforce').map((v) => ({ accountId: v.accountId, name: v.name, sequence: v.sequence }));
}

export interface SnapPin {
  readonly revision: number;
  /** The sets' primary keys, as a snap action's `validation-sets`. */
  readonly sets: readonly (readonly string[])[];
}

/** For each snap of the seed an enforced set requires at a revision: the revision, with the sets pinning it. Disagreeing sets are refused. */
export function pinnedRevisions(sets: readonly Assertion<ValidationSetData>[], snaps: readonly { name: string; snapId: string }[]): Map<string, SnapPin> {
  const pins = new Map<string, SnapPin>();
  for (const snap of snaps) {
    const r = snapRequirements(sets, snap);
    if (r.conflict) {
      throw new ImageError('image-validation-sets', `the model's enforced validation sets disagree on ${snap.name}: revision ${r.conflict.revisions[0]}, and revision ${r.conflict.revisions[1]} in ${validationSetName(r.conflict.set)}`);
    }
    const pinning = r.required.filter((x) => x.revision !== 0);
    if (pinning.length > 0) pins.set(snap.name, { revision: r.revision, sets: pinning.map((x) => [...x.set.primaryKey]) });
  }
  return pins;
}

/** The seed meets every enforced set, or the build is refused naming the set and the snap. */
export function checkSeedSnaps(sets: readonly Assertion<ValidationSetData>[], snaps: readonly { name: string; snapId: string; revision: number }[]): void {
  for (const set of sets) {
    const v = seedViolation(set, snaps);
    const name = validationSetName(set);
    if (v?.kind === 'invalid-present') throw new ImageError('image-validation-sets', `the enforced validation set ${name} declares ${v.entry.name} invalid, and the image would seed it`);
    if (v?.kind === 'missing') throw new ImageError('image-validation-sets', `the enforced validation set ${name} requires ${v.entry.name}, which the image does not seed (add it to the model or with --snap)`);
    if (v?.kind === 'other-revision') {
      throw new ImageError('image-validation-sets', `the enforced validation set ${name} requires ${v.entry.name} at revision ${v.entry.revision}; the image would seed ${v.revision === 0 ? 'an unasserted file' : `revision ${v.revision}`}`);
    }
  }
}
