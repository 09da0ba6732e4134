// base-declaration: the default interface policy for all snaps of a series
// (snapd asserts/snap_asserts.go). snapd ships a built-in one; it is
// registered as an assertion type in 2.57.6 and must be signed by a
// directly trusted authority.
import type { AssertionType } from '../assertion.ts';
import { checkRFC3339Date } from '../checks.ts';
import { notDirectlyTrusted } from './common.ts';
import { compileInterfaceRules, type PlugRule, type SlotRule } from './interface-rules.ts';

export interface BaseDeclarationData {
  readonly series: string;
  readonly plugRules: ReadonlyMap<string, PlugRule>;
  readonly slotRules: ReadonlyMap<string, SlotRule>;
  readonly timestamp: Date;
}

export const BaseDeclarationType: AssertionType<BaseDeclarationData> = {
  name: 'base-declaration',
  primaryKey: ['series'],
  maxFormat: 0,
  assemble({ headers }) {
    const { plugRules, slotRules } = compileInterfaceRules(headers);
    const timestamp = checkRFC3339Date(headers, 'timestamp');
    return { series: headers['series'] as string, plugRules, slotRules, timestamp };
  },
  timestamp: (d) => d.timestamp,
  checkConsistency(db, a) {
    if (!db.isDirectlyTrusted(a.authorityId)) notDirectlyTrusted(`base-declaration assertion for series ${a.data.series}`, a.authorityId);
  },
};
