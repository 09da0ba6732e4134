// snap-declaration: binds a snap-id to a name and a publisher, with interface
// policy, aliases and revision authorities (snapd asserts/snap_asserts.go).
import type { AssertionType } from '../assertion.ts';
import { HeaderError } from '../errors.ts';
import {
  checkExistsString,
  checkInt,
  checkNotEmptyString,
  checkRFC3339Date,
  checkStringList,
  checkStringListInMap,
  checkStringMatches,
} from '../checks.ts';
import { isHeaderList, isHeaderMap, type HeaderMap } from '../headers.ts';
import { ACCOUNT_ID, PROVENANCE } from '../names.ts';
import { inconsistent, notDirectlyTrusted } from './common.ts';
import { compileDeviceScopeConstraint, type DeviceScopeConstraint } from './constraints.ts';
import { goQuote } from '../go-compat/go-strconv.ts';
import { compileInterfaceRules, ruleHas, type PlugRule, type SlotRule } from './interface-rules.ts';

/** snapd's naming.ValidAlias and naming.ValidApp. */
export const ALIAS_NAME = /^[a-zA-Z0-9][-_.a-zA-Z0-9]*$/;
export const APP_NAME = /^[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$/;

/** An account allowed to sign snap-revisions of the snap with some provenances. */
export interface RevisionAuthority {
  readonly accountId: string;
  readonly provenance: readonly string[];
  /** Default 1. */
  readonly minRevision: number;
  /** 0 when unbounded. */
  readonly maxRevision: number;
  /** Devices the authority applies to; checked at install time, not here. */
  readonly deviceScope: DeviceScopeConstraint | undefined;
}

export interface SnapDeclarationData {
  readonly series: string;
  readonly snapId: string;
  /** Empty when the declaration is revoked. */
  readonly snapName: string;
  readonly publisherId: string;
  readonly timestamp: Date;
  /** Snap ids whose refreshes this snap gates. */
  readonly refreshControl: readonly string[];
  /** Interface name to plug-side rule, from the "plugs" stanza. */
  readonly plugRules: ReadonlyMap<string, PlugRule>;
  /** Interface name to slot-side rule, from the "slots" stanza. */
  readonly slotRules: ReadonlyMap<string, SlotRule>;
  /** Deprecated list of alias names. */
  readonly autoAliases: readonly string[];
  /** Alias name to app name. */
  readonly aliases: ReadonlyMap<string, string>;
  readonly revisionAuthorities: readonly RevisionAuthority[];
}

/** A positive snap revision in a header or map entry (snapd's checkSnapRevisionWhat). */
export function checkSnapRevision(m: HeaderMap, name: string, what = 'header'): number {
  const n = checkInt(m, name, what);
  if (n < 1) throw new HeaderError(`${goQuote(name)} ${what} must be >=1: ${n}`);
  return n;
}

function checkAliases(headers: HeaderMap): Map<string, string> {
  const aliases = new Map<string, string>();
  if (!Object.hasOwn(headers, 'aliases')) return aliases;
  const value = headers['aliases'];
  const wrong = () => new HeaderError('"aliases" header must be a list of alias maps');
  if (!isHeaderList(value)) throw wrong();
  value.forEach((item, i) => {
    if (!isHeaderMap(item)) throw wrong();
    const name = checkStringMatches(item, 'name', ALIAS_NAME, `in "aliases" item ${i + 1}`);
    const target = checkStringMatches(item, 'target', APP_NAME, `for alias ${goQuote(name)}`);
    if (aliases.has(name)) throw new HeaderError(`duplicated definition in "aliases" for alias ${goQuote(name)}`);
    aliases.set(name, target);
  });
  return aliases;
}

function checkRevisionAuthorities(headers: HeaderMap): RevisionAuthority[] {
  if (!Object.hasOwn(headers, 'revision-authority')) return [];
  const value = headers['revision-authority'];
  const wrong = () => new HeaderError('revision-authority stanza must be a list of maps');
  if (!isHeaderList(value)) throw wrong();
  if (value.length === 0) throw new HeaderError('revision-authority stanza cannot be empty');
  return value.map((m) => {
    if (!isHeaderMap(m)) throw wrong();
    const accountId = checkStringMatches(m, 'account-id', ACCOUNT_ID, 'in revision authority');
    const provenance = checkStringListInMap(m, 'provenance', 'provenance in revision authority', PROVENANCE);
    if (provenance.length === 0) throw new HeaderError('provenance in revision authority cannot be empty');
    const minRevision = Object.hasOwn(m, 'min-revision') ? checkSnapRevision(m, 'min-revision', 'in revision authority') : 1;
    const maxRevision = Object.hasOwn(m, 'max-revision') ? checkSnapRevision(m, 'max-revision', 'in revision authority') : 0;
    if (maxRevision !== 0 && maxRevision < minRevision) {
      throw new HeaderError('optional max-revision cannot be less than min-revision in revision-authority');
    }
    const deviceScope = compileDeviceScopeConstraint(m, 'revision-authority');
    return { accountId, provenance, minRevision, maxRevision, deviceScope };
  });
}

/** The revision authorities of the declaration that cover `provenance`. */
export function revisionAuthoritiesFor(decl: SnapDeclarationData, provenance: string): RevisionAuthority[] {
  return decl.revisionAuthorities.filter((ra) => ra.provenance.includes(provenance));
}

/**
 * Checks a snap-revision against a revision authority, without the device
 * scope (snapd's RevisionAuthority.Check with no model). Returns the reason
 * it does not match, or undefined when it does.
 */
export function revisionAuthorityMismatch(
  ra: RevisionAuthority,
  rev: { readonly provenance: string; readonly authorityId: string; readonly snapRevision: number },
): string | undefined {
  if (!ra.provenance.includes(rev.provenance)) return 'provenance mismatch';
  if (rev.authorityId !== ra.accountId) return 'authority-id mismatch';
  if (rev.snapRevision < ra.minRevision) return `snap revision ${rev.snapRevision} is less than min-revision ${ra.minRevision}`;
  if (ra.maxRevision !== 0 && rev.snapRevision > ra.maxRevision) {
    return `snap revision ${rev.snapRevision} is greater than max-revision ${ra.maxRevision}`;
  }
  return undefined;
}

/**
 * snapd's snapDeclarationFormatAnalyze: 0 without plugs/slots, 1 with them,
 * 2 for $SLOT()/$PLUG()/$MISSING, 3 for on-store/on-brand/on-model, 4 for
 * plug-names/slot-names, 5 for alternative attribute matchers.
 */
export function snapDeclarationFormat(headers: HeaderMap): number {
  if (!Object.hasOwn(headers, 'plugs') && !Object.hasOwn(headers, 'slots')) return 0;
  const { plugRules, slotRules } = compileInterfaceRules(headers);
  let format = 1;
  for (const rule of [...plugRules.values(), ...slotRules.values()]) {
    if (ruleHas(rule, 'dollar-attr-constraints')) format = Math.max(format, 2);
    if (ruleHas(rule, 'device-scope-constraints')) format = Math.max(format, 3);
    if (ruleHas(rule, 'name-constraints')) format = Math.max(format, 4);
    if (ruleHas(rule, 'alt-attr-matcher')) format = Math.max(format, 5);
  }
  return format;
}

export const SnapDeclarationType: AssertionType<SnapDeclarationData> = {
  name: 'snap-declaration',
  primaryKey: ['series', 'snap-id'],
  maxFormat: 5,
  assemble({ headers }) {
    const snapName = checkExistsString(headers, 'snap-name');
    const publisherId = checkNotEmptyString(headers, 'publisher-id');
    const timestamp = checkRFC3339Date(headers, 'timestamp');
    const refreshControl = checkStringList(headers, 'refresh-control');
    const { plugRules, slotRules } = compileInterfaceRules(headers);
    const autoAliases = checkStringList(headers, 'auto-aliases', ALIAS_NAME);
    const aliases = checkAliases(headers);
    const revisionAuthorities = checkRevisionAuthorities(headers);
    return {
      series: headers['series'] as string,
      snapId: headers['snap-id'] as string,
      snapName,
      publisherId,
      timestamp,
      refreshControl,
      plugRules,
      slotRules,
      autoAliases,
      aliases,
      revisionAuthorities,
    };
  },
  suggestFormat: (headers) => snapDeclarationFormat(headers),
  timestamp: (d) => d.timestamp,
  prerequisites: (a) => [{ type: 'account', primaryKey: [a.data.publisherId] }],
  checkConsistency(db, a) {
    const { snapName, snapId, publisherId } = a.data;
    const what = `snap-declaration assertion for ${goQuote(snapName)} (id ${goQuote(snapId)})`;
    if (!db.isDirectlyTrusted(a.authorityId)) notDirectlyTrusted(what, a.authorityId);
    if (!db.find('account', [publisherId])) {
      inconsistent(`${what} does not have a matching account assertion for the publisher ${goQuote(publisherId)}`);
    }
  },
};
