// What a model's enforced validation sets ask of snaps (snapd's
// asserts/snapasserts, validation_sets.go: CheckPresenceRequired and
// CheckPresenceInvalid, and the seeding checks of snapd 2.60): the rules the
// device agent (src/device) and the image builder (src/image) both apply,
// each refusing in its own words. Pure.
import type { Assertion } from './assertion.ts';
import type { ValidationSetData, ValidationSetSnap } from './types/validation-set.ts';

type ValidationSet = Assertion<ValidationSetData>;

export interface SnapRef {
  readonly name: string;
  /** "" for an unasserted snap. */
  readonly snapId: string;
}

/** `account/name/sequence`, as messages name a set. */
export function validationSetName(set: ValidationSet): string {
  return `${set.data.accountId}/${set.data.name}/${set.data.sequence}`;
}

/** Whether a set's entry is this snap: the same name, or the same snap-id. */
function sameSnap(e: ValidationSetSnap, s: SnapRef): boolean {
  return e.name === s.name || (e.snapId !== '' && s.snapId !== '' && e.snapId === s.snapId);
}

export interface SnapRequirements {
  /** The sets requiring the snap, in the order given, each with the revision it pins (0: any). */
  readonly required: readonly { readonly set: ValidationSet; readonly revision: number }[];
  /** The revision they pin; 0 when none does. */
  readonly revision: number;
  /** The first set declaring the snap invalid, and its place among the sets. */
  readonly invalid?: { readonly set: ValidationSet; readonly at: number };
  /** The first set pinning another revision than the sets before it: its place, and the two revisions. */
  readonly conflict?: { readonly set: ValidationSet; readonly at: number; readonly revisions: readonly [number, number] };
}

/** What `sets` ask of one snap. */
export function snapRequirements(sets: readonly ValidationSet[], snap: SnapRef): SnapRequirements {
  const required: { set: ValidationSet; revision: number }[] = [];
  let revision = 0;
  let invalid: SnapRequirements['invalid'];
  let conflict: SnapRequirements['conflict'];
  sets.forEach((set, at) => {
    const e = set.data.snaps.find((x) => sameSnap(x, snap));
    if (!e) return;
    if (e.presence === 'invalid') invalid ??= { set, at };
    if (e.presence !== 'required') return;
    if (e.revision !== 0) {
      if (revision !== 0 && revision !== e.revision) conflict ??= { set, at, revisions: [revision, e.revision] };
      else revision = e.revision;
    }
    required.push({ set, revision: e.revision });
  });
  return { required, revision, ...(invalid ? { invalid } : {}), ...(conflict ? { conflict } : {}) };
}

export type SeedViolation =
  | { readonly kind: 'invalid-present'; readonly entry: ValidationSetSnap }
  | { readonly kind: 'missing'; readonly entry: ValidationSetSnap }
  | { readonly kind: 'other-revision'; readonly entry: ValidationSetSnap; readonly revision: number };

/** The first way the seeded snaps fail `set`: an invalid snap seeded, a required one missing, or at another revision than it pins. */
export function seedViolation(set: ValidationSet, snaps: readonly (SnapRef & { readonly revision: number })[]): SeedViolation | undefined {
  for (const entry of set.data.snaps) {
    const snap = snaps.find((s) => sameSnap(entry, s));
    if (entry.presence === 'invalid' && snap) return { kind: 'invalid-present', entry };
    if (entry.presence !== 'required') continue;
    if (!snap) return { kind: 'missing', entry };
    if (entry.revision !== 0 && snap.revision !== entry.revision) return { kind: 'other-revision', entry, revision: snap.revision };
  }
  return undefined;
}
