// A model's enforced validation sets at seeding, as snapd 2.60 and later
// treat them (image.Prepare with the model's `validation-sets`, mode
// `enforce`; earlier snapd ignores the header): every set is fetched (at the
// sequence the model pins, else its newest) and goes into the seed with the
// model's assertions; the snaps it requires at a revision are downloaded at
// that revision (the action carries `revision` and the sets' keys, as snapd's
// storehelpers do on devices); and the seed must meet every set: each
// required snap present, at its pinned revision, no invalid snap. Pure.
import type { Assertion, ModelData, ValidationSetData } from '../assertions/index.ts';
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

function key(s: Assertion<ValidationSetData>): string {
  return `${s.data.accountId}/${s.data.name}/${s.data.sequence}`;
}

function entryFor(set: Assertion<ValidationSetData>, snap: { name: string; snapId: string }) {
  return set.data.snaps.find((e) => e.name === snap.name || (snap.snapId !== '' && e.snapId === snap.snapId));
}

/** For each snap of the seed an enforced set requires at a revision: the revision, with the sets. Disagreeing sets are refused. */
export function pinnedRevisions(sets: readonly Assertion<ValidationSetData>[], snaps: readonly { name: string; snapId: string }[]): Map<string, SnapPin> {
  const pins = new Map<string, SnapPin>();
  for (const snap of snaps) {
    let revision = 0;
    const keys: string[][] = [];
    for (const set of sets) {
      const e = entryFor(set, snap);
      if (!e || e.presence !== 'required' || e.revision === 0) continue;
      if (revision !== 0 && revision !== e.revision) {
        throw new ImageError('image-validation-sets', `the model's enforced validation sets disagree on ${snap.name}: revision ${revision}, and revision ${e.revision} in ${key(set)}`);
      }
      revision = e.revision;
      keys.push([...set.primaryKey]);
    }
    if (revision !== 0) pins.set(snap.name, { revision, sets: keys });
  }
  return pins;
}

/** The seed meets every enforced set, or the build is refused naming the set and the snap. */
export function checkSeedSnaps(sets: readonly Assertion<ValidationSetData>[], snaps: readonly { name: string; snapId: string; revision: number }[]): void {
  for (const set of sets) {
    for (const e of set.data.snaps) {
      const snap = snaps.find((s) => s.name === e.name || (e.snapId !== '' && s.snapId === e.snapId));
      if (e.presence === 'invalid' && snap) throw new ImageError('image-validation-sets', `the enforced validation set ${key(set)} declares ${e.name} invalid, and the image would seed it`);
      if (e.presence !== 'required') continue;
      if (!snap) throw new ImageError('image-validation-sets', `the enforced validation set ${key(set)} requires ${e.name}, which the image does not seed (add it to the model or with --snap)`);
      if (e.revision !== 0 && snap.revision !== e.revision) {
        throw new ImageError('image-validation-sets', `the enforced validation set ${key(set)} requires ${e.name} at revision ${e.revision}; the image would seed ${snap.revision === 0 ? 'an unasserted file' : `revision ${snap.revision}`}`);
      }
    }
  }
}
