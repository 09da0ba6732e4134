// Attribute matchers and device-scope constraints (snapd asserts/constraint.go),
// shared by interface rules, snap-declaration revision authorities and
// authority-delegation. Compiling validates the structure exactly as snapd
// does and keeps a typed description of the matcher; evaluating matchers
// against plugs, slots or devices is not implemented here.
import { HeaderError } from '../errors.ts';
import { checkStringListInMap } from '../checks.ts';
import { isHeaderList, isHeaderMap, type HeaderMap, type HeaderValue } from '../headers.ts';
import { ACCOUNT_ID } from '../names.ts';
import { goAnchoredRegexpError } from '../go-compat/go-regexp.ts';
import { goQuote } from '../go-compat/go-strconv.ts';

/** A compiled attribute (or header) constraint. */
export type AttributeMatcher =
  /** Every attribute value matches ("true" shortcut, or no constraint given). */
  | { readonly kind: 'always' }
  /** Nothing matches ("false" shortcut). */
  | { readonly kind: 'never' }
  /** Constraints per key; each key must be set (unless its matcher is "missing"). */
  | { readonly kind: 'map'; readonly entries: ReadonlyMap<string, AttributeMatcher> }
  /** A Go regexp matched against the whole scalar value (anchored ^(...)$). */
  | { readonly kind: 'regexp'; readonly pattern: string }
  /** $MISSING: the attribute must be unset. */
  | { readonly kind: 'missing' }
  /** $SLOT(arg) / $PLUG(arg): equal to an attribute of the other side. */
  | { readonly kind: 'eval'; readonly op: 'SLOT' | 'PLUG'; readonly arg: string }
  /** A list: any one alternative must match. */
  | { readonly kind: 'alternatives'; readonly alternatives: readonly AttributeMatcher[] };

export const ALWAYS_MATCH: AttributeMatcher = Object.freeze({ kind: 'always' });
export const NEVER_MATCH: AttributeMatcher = Object.freeze({ kind: 'never' });

/** Feature labels snapd uses to pick the minimum snap-declaration format. */
export type ConstraintFeature = 'dollar-attr-constraints' | 'alt-attr-matcher' | 'device-scope-constraints' | 'name-constraints';

interface CompileContext {
  readonly dotted: string;
  readonly hadMap: boolean;
  readonly wasAlt: boolean;
  readonly allowedOperations: readonly string[];
}

const EVAL_MATCHER = /^\$([A-Z]+)\(([^,]+)(?:,([^,]+))?\)$/;
const EVAL_OPS = new Set(['PLUG', 'SLOT']);

function compile(cc: CompileContext, constraints: HeaderValue): AttributeMatcher {
  if (isHeaderMap(constraints)) {
    const entries = new Map<string, AttributeMatcher>();
    for (const [k, v] of Object.entries(constraints)) {
      const dotted = cc.dotted === '' ? k : `${cc.dotted}.${k}`;
      entries.set(k, compile({ ...cc, dotted, hadMap: true, wasAlt: false }, v));
    }
    return { kind: 'map', entries };
  }
  if (isHeaderList(constraints)) {
    if (cc.wasAlt) throw new HeaderError(`cannot nest alternative constraints directly at ${goQuote(cc.dotted)}`);
    const alternatives = constraints.map((c, i) => compile({ ...cc, dotted: `${cc.dotted}/alt#${i + 1}/`, wasAlt: true }, c));
    return { kind: 'alternatives', alternatives };
  }
  const s = constraints as string;
  if (!cc.hadMap) throw new HeaderError('first level of non alternative constraints must be a set of key-value contraints');
  if (s.startsWith('$')) {
    if (s === '$MISSING') return { kind: 'missing' };
    if (cc.allowedOperations.length === 0) {
      throw new HeaderError(`cannot compile ${goQuote(cc.dotted)} constraint ${goQuote(s)}: no $OP() constraints supported`);
    }
    const m = EVAL_MATCHER.exec(s);
    if (!m || !EVAL_OPS.has(m[1]!) || !cc.allowedOperations.includes(m[1]!)) {
      const ops = cc.allowedOperations.map((op) => `$${op}()`).join('/');
      throw new HeaderError(`cannot compile ${goQuote(cc.dotted)} constraint ${goQuote(s)}: not a valid ${ops} constraint`);
    }
    if (m[3] !== undefined && m[3] !== '') {
      throw new HeaderError(`cannot compile ${goQuote(cc.dotted)} constraint ${goQuote(s)}: $${m[1]}() constraint expects 1 argument`);
    }
    return { kind: 'eval', op: m[1] as 'SLOT' | 'PLUG', arg: m[2]! };
  }
  const err = goAnchoredRegexpError(s);
  if (err !== undefined) throw new HeaderError(`cannot compile ${goQuote(cc.dotted)} constraint ${goQuote(s)}: ${err}`);
  return { kind: 'regexp', pattern: s };
}

/**
 * Compiles attribute constraints (a map, or a list of alternative maps).
 * `allowedOperations` lists the $OP() forms accepted (interface rules allow
 * SLOT and PLUG; authority-delegation header constraints allow none).
 * An absent value compiles to a map without entries (matches everything).
 */
export function compileAttributeMatcher(constraints: HeaderValue | undefined, allowedOperations: readonly string[]): AttributeMatcher {
  if (constraints === undefined) return { kind: 'map', entries: new Map() };
  return compile({ dotted: '', hadMap: false, wasAlt: false, allowedOperations }, constraints);
}

/** Whether the matcher uses a format-relevant feature ($SLOT/$PLUG/$MISSING, alternatives). */
export function attributeMatcherHas(m: AttributeMatcher, feature: ConstraintFeature): boolean {
  switch (m.kind) {
    case 'map':
      return [...m.entries.values()].some((e) => attributeMatcherHas(e, feature));
    case 'missing':
    case 'eval':
      return feature === 'dollar-attr-constraints';
    case 'alternatives':
      return feature === 'alt-attr-matcher' || m.alternatives.some((a) => attributeMatcherHas(a, feature));
    default:
      return false;
  }
}

/** on-store / on-brand / on-model: the device must match every list given. */
export interface DeviceScopeConstraint {
  /** Store ids (the model's store, or a friendly store of it). */
  readonly store: readonly string[];
  /** Brand account ids. */
  readonly brand: readonly string[];
  /** "brand/model" pairs. */
  readonly model: readonly string[];
}

const STORE_ID = /^[-A-Z0-9a-z_]+$/;
const BRAND_SLASH_MODEL = new RegExp(`^(${ACCOUNT_ID.source.slice(1, -1)})/([a-zA-Z0-9](?:-?[a-zA-Z0-9])*)$`);

const DEVICE_SCOPE_FIELDS: ReadonlyArray<[string, RegExp]> = [
  ['on-store', STORE_ID],
  ['on-brand', ACCOUNT_ID],
  ['on-model', BRAND_SLASH_MODEL],
];

/**
 * Compiles the on-store/on-brand/on-model entries of `m`; undefined when
 * none is present. `context` names the enclosing stanza in errors.
 */
export function compileDeviceScopeConstraint(m: HeaderMap, context: string): DeviceScopeConstraint | undefined {
  if (!DEVICE_SCOPE_FIELDS.some(([field]) => Object.hasOwn(m, field))) return undefined;
  const [store, brand, model] = DEVICE_SCOPE_FIELDS.map(([field, re]) => checkStringListInMap(m, field, `${field} in ${context}`, re)) as [
    string[],
    string[],
    string[],
  ];
  return { store, brand, model };
}
