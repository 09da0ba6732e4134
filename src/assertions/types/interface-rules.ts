// Interface plug and slot rules of snap-declaration and base-declaration
// assertions (snapd asserts/ifacedecls.go): the allow-/deny- installation,
// connection and auto-connection subrules, each one constraint map (or a
// true/false shortcut) or a list of alternative maps. Compiling checks the
// structure with snapd's messages and yields typed rules a store can read.
import { HeaderError } from '../errors.ts';
import { checkStringListInMap } from '../checks.ts';
import { isHeaderList, isHeaderMap, type HeaderMap, type HeaderValue } from '../headers.ts';
import { SNAP_ID } from '../names.ts';
import {
  ALWAYS_MATCH,
  NEVER_MATCH,
  attributeMatcherHas,
  compileAttributeMatcher,
  compileDeviceScopeConstraint,
  type AttributeMatcher,
  type ConstraintFeature,
  type DeviceScopeConstraint,
} from './constraints.ts';
import { goAnchoredRegexpError } from '../go-compat/go-regexp.ts';
import { goQuote } from '../go-compat/go-strconv.ts';

/** One entry of plug-names / slot-names. */
export type NameMatcher =
  | { readonly kind: 'regexp'; readonly pattern: string }
  /** A special value like $INTERFACE, resolved when checking. */
  | { readonly kind: 'special'; readonly name: string };

/** plug-names / slot-names: the name must match one of the entries. */
export interface NameConstraints {
  readonly matchers: readonly NameMatcher[];
}

/** slots-per-plug / plugs-per-slot after snapd's normalization: a count >= 1 or "*" (any). */
export type SideArity = number | '*';

/** on-classic: true/false, or a list of distribution ids (implies classic). */
export interface OnClassicConstraint {
  readonly classic: boolean;
  readonly systemIds: readonly string[];
}

interface CommonConstraints {
  readonly onClassic: OnClassicConstraint | undefined;
  readonly deviceScope: DeviceScopeConstraint | undefined;
}

export interface PlugInstallationConstraints extends CommonConstraints {
  readonly plugSnapTypes: readonly string[];
  readonly plugSnapIds: readonly string[];
  readonly plugNames: NameConstraints | undefined;
  readonly plugAttributes: AttributeMatcher;
}

export interface SlotInstallationConstraints extends CommonConstraints {
  readonly slotSnapTypes: readonly string[];
  readonly slotSnapIds: readonly string[];
  readonly slotNames: NameConstraints | undefined;
  readonly slotAttributes: AttributeMatcher;
}

interface ConnectionConstraints extends CommonConstraints {
  readonly plugNames: NameConstraints | undefined;
  readonly slotNames: NameConstraints | undefined;
  readonly plugAttributes: AttributeMatcher;
  readonly slotAttributes: AttributeMatcher;
  /**
   * Normalized as snapd does for allow- subrules: "*" for connection, 1 or
   * "*" for auto-connection; undefined for deny- subrules.
   */
  readonly slotsPerPlug: SideArity | undefined;
  /** Always "*" for allow- subrules; undefined for deny- subrules. */
  readonly plugsPerSlot: SideArity | undefined;
}

export interface PlugConnectionConstraints extends ConnectionConstraints {
  readonly slotSnapTypes: readonly string[];
  readonly slotSnapIds: readonly string[];
  readonly slotPublisherIds: readonly string[];
}

export interface SlotConnectionConstraints extends ConnectionConstraints {
  readonly plugSnapTypes: readonly string[];
  readonly plugSnapIds: readonly string[];
  readonly plugPublisherIds: readonly string[];
}

interface Rule<I, C> {
  readonly interface: string;
  /** Alternatives (any may match); absent subrules get snapd's defaults. */
  readonly allowInstallation: readonly I[];
  readonly denyInstallation: readonly I[];
  readonly allowConnection: readonly C[];
  readonly denyConnection: readonly C[];
  readonly allowAutoConnection: readonly C[];
  readonly denyAutoConnection: readonly C[];
}

export type PlugRule = Rule<PlugInstallationConstraints, PlugConnectionConstraints>;
export type SlotRule = Rule<SlotInstallationConstraints, SlotConnectionConstraints>;

const SUBRULES = ['allow-installation', 'deny-installation', 'allow-connection', 'deny-connection', 'allow-auto-connection', 'deny-auto-connection'] as const;
type Subrule = (typeof SUBRULES)[number];

const SUBRULE_FIELDS: Readonly<Record<Subrule, keyof Rule<unknown, unknown>>> = {
  'allow-installation': 'allowInstallation',
  'deny-installation': 'denyInstallation',
  'allow-connection': 'allowConnection',
  'deny-connection': 'denyConnection',
  'allow-auto-connection': 'allowAutoConnection',
  'deny-auto-connection': 'denyAutoConnection',
};

const SNAP_TYPE = /^(?:core|kernel|gadget|app)$/;
const DISTRO = /^[-0-9a-z._]+$/;
// Account ids, or special markers like $SLOT_PUBLISHER_ID.
const PUBLISHER = /^(?:[a-z0-9A-Z]{32}|[-a-z0-9]{2,28}|\$[A-Z][A-Z0-9_]*)$/;
const SPECIAL_NAME = /^\$[A-Z][A-Z0-9_]*$/;
const ID_PATTERNS: Readonly<Record<string, RegExp>> = {
  'slot-snap-type': SNAP_TYPE,
  'slot-snap-id': SNAP_ID,
  'slot-publisher-id': PUBLISHER,
  'plug-snap-type': SNAP_TYPE,
  'plug-snap-id': SNAP_ID,
  'plug-publisher-id': PUBLISHER,
};
const SIDE_ARITY_FIELDS = ['slots-per-plug', 'plugs-per-slot'] as const;

/** Where a constraint map sits, for messages and subrule-dependent checks. */
class SubruleContext {
  constructor(
    readonly rule: string,
    readonly subrule: Subrule,
    readonly alt: number,
  ) {}

  toString(): string {
    const s = `${this.subrule} in ${this.rule}`;
    return this.alt !== 0 ? `alternative ${this.alt} of ${s}` : s;
  }

  get allow(): boolean {
    return this.subrule.startsWith('allow-');
  }

  get installation(): boolean {
    return this.subrule.endsWith('-installation');
  }

  get autoConnection(): boolean {
    return this.subrule.endsWith('-auto-connection');
  }
}

// Go's unicode.IsSpace.
const GO_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

function compileNameConstraints(which: string, v: HeaderValue): NameConstraints {
  if (!isHeaderList(v)) throw new HeaderError(`${which} constraints must be a list of regexps and special $ values`);
  const matchers = v.map((entry): NameMatcher => {
    if (typeof entry !== 'string') throw new HeaderError(`${which} constraint entry must be a regexp or special $ value`);
    if (entry.startsWith('$')) {
      if (!SPECIAL_NAME.test(entry)) throw new HeaderError(`${which} constraint entry special value ${goQuote(entry)} is invalid`);
      return { kind: 'special', name: entry };
    }
    if (GO_SPACE.test(entry)) throw new HeaderError(`${which} constraint entry regexp contains unexpected spaces`);
    const err = goAnchoredRegexpError(entry);
    if (err !== undefined) throw new HeaderError(`cannot compile ${which} constraint entry ${goQuote(entry)}: ${err}`);
    return { kind: 'regexp', pattern: entry };
  });
  return { matchers };
}

function compileSideArity(context: SubruleContext, which: string, v: HeaderValue): SideArity {
  if (context.installation || !context.allow) {
    throw new HeaderError(`${context} cannot specify a ${which} constraint, they apply only to allow-*connection`);
  }
  const invalid = () => new HeaderError(`${which} in ${context} must be an integer >=1 or *`);
  if (typeof v !== 'string' || v === '') throw invalid();
  if (v === '*') return '*';
  // snapd's atoi: Go's Atoi (syntax errors become the message above), then the prefix-zeros rule.
  if (!/^[+-]?[0-9]+$/.test(v)) throw invalid();
  const n = BigInt(v);
  if (n > 9223372036854775807n || n < -9223372036854775808n) throw new HeaderError(`${which} in ${context} is out of range: ${v}`);
  if (v.startsWith('0') && v !== '0') throw new HeaderError(`${which} in ${context} has invalid prefix zeros: ${v}`);
  if (n < 1n) throw invalid();
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new HeaderError(`${which} in ${context} is out of range: ${v}`);
  return Number(n);
}

function compileOnClassic(cMap: HeaderMap, context: SubruleContext): OnClassicConstraint | undefined {
  if (!Object.hasOwn(cMap, 'on-classic')) return undefined;
  const v = cMap['on-classic'];
  if (v === 'true' || v === 'false') return { classic: v === 'true', systemIds: [] };
  if (isHeaderList(v)) {
    return { classic: true, systemIds: checkStringListInMap(cMap, 'on-classic', `on-classic in ${context}`, DISTRO) };
  }
  throw new HeaderError(`on-classic in ${context} must be 'true', 'false' or a list of operating system IDs`);
}

interface Fields {
  readonly names: readonly string[];
  readonly attrs: readonly string[];
  readonly ids: readonly string[];
}

/** The raw outcome of snapd's baseCompileConstraints, keyed by header name. */
interface Compiled {
  readonly names: Map<string, NameConstraints>;
  readonly attrs: Map<string, AttributeMatcher>;
  readonly ids: Map<string, string[]>;
  readonly arity: Map<string, SideArity>;
  readonly onClassic: OnClassicConstraint | undefined;
  readonly deviceScope: DeviceScopeConstraint | undefined;
}

/** `cMap` undefined means a true/false shortcut (`invert` for false). */
function compileConstraints(context: SubruleContext, cMap: HeaderMap | undefined, invert: boolean, fields: Fields): Compiled {
  const out: Compiled = { names: new Map(), attrs: new Map(), ids: new Map(), arity: new Map(), onClassic: undefined, deviceScope: undefined };
  if (cMap === undefined) {
    for (const f of fields.attrs) out.attrs.set(f, invert ? NEVER_MATCH : ALWAYS_MATCH);
    return out;
  }
  let defaultUsed = 0;
  for (const f of fields.names) {
    if (Object.hasOwn(cMap, f)) out.names.set(f, compileNameConstraints(f, cMap[f]!));
    else defaultUsed++;
  }
  for (const f of fields.attrs) {
    if (Object.hasOwn(cMap, f)) {
      try {
        out.attrs.set(f, compileAttributeMatcher(cMap[f], ['SLOT', 'PLUG']));
      } catch (err) {
        if (err instanceof HeaderError) throw new HeaderError(`cannot compile ${f} in ${context}: ${err.message}`);
        throw err;
      }
    } else {
      out.attrs.set(f, ALWAYS_MATCH);
      defaultUsed++;
    }
  }
  for (const f of fields.ids) {
    const lst = checkStringListInMap(cMap, f, `${f} in ${context}`, ID_PATTERNS[f]);
    if (lst.length === 0) defaultUsed++;
    out.ids.set(f, lst);
  }
  for (const f of SIDE_ARITY_FIELDS) {
    if (Object.hasOwn(cMap, f)) out.arity.set(f, compileSideArity(context, f, cMap[f]!));
    else defaultUsed++;
  }
  const onClassic = compileOnClassic(cMap, context);
  if (onClassic === undefined) defaultUsed++;
  const deviceScope = compileDeviceScopeConstraint(cMap, context.toString());
  if (deviceScope === undefined) defaultUsed++;
  // snapd counts the attribute constraints as two even for installation
  // constraints (which have one), so an installation constraint map with
  // only unknown keys is accepted while a connection one is refused.
  if (defaultUsed === fields.names.length + 2 + fields.ids.length + SIDE_ARITY_FIELDS.length + 2) {
    throw new HeaderError(
      `${context} must specify at least one of ${[...fields.names, ...fields.attrs, ...fields.ids, ...SIDE_ARITY_FIELDS].join(', ')}, on-classic, on-store, on-brand, on-model`,
    );
  }
  return { ...out, onClassic, deviceScope };
}

/** snapd's normalizeSideArityConstraints. */
function normalizeArity(context: SubruleContext, c: Compiled): { slotsPerPlug: SideArity | undefined; plugsPerSlot: SideArity | undefined } {
  if (!context.allow) return { slotsPerPlug: undefined, plugsPerSlot: undefined };
  const given = c.arity.get('slots-per-plug');
  if (context.autoConnection) return { slotsPerPlug: given === '*' ? '*' : 1, plugsPerSlot: '*' };
  return { slotsPerPlug: '*', plugsPerSlot: '*' };
}

const PLUG_INSTALLATION: Fields = { names: ['plug-names'], attrs: ['plug-attributes'], ids: ['plug-snap-type', 'plug-snap-id'] };
const SLOT_INSTALLATION: Fields = { names: ['slot-names'], attrs: ['slot-attributes'], ids: ['slot-snap-type', 'slot-snap-id'] };
const CONNECTION_NAMES = ['plug-names', 'slot-names'];
const CONNECTION_ATTRS = ['plug-attributes', 'slot-attributes'];
const PLUG_CONNECTION: Fields = { names: CONNECTION_NAMES, attrs: CONNECTION_ATTRS, ids: ['slot-snap-type', 'slot-publisher-id', 'slot-snap-id'] };
const SLOT_CONNECTION: Fields = { names: CONNECTION_NAMES, attrs: CONNECTION_ATTRS, ids: ['plug-snap-type', 'plug-publisher-id', 'plug-snap-id'] };

function common(c: Compiled): CommonConstraints {
  return { onClassic: c.onClassic, deviceScope: c.deviceScope };
}

function connectionCommon(context: SubruleContext, c: Compiled): ConnectionConstraints {
  return {
    ...common(c),
    plugNames: c.names.get('plug-names'),
    slotNames: c.names.get('slot-names'),
    plugAttributes: c.attrs.get('plug-attributes')!,
    slotAttributes: c.attrs.get('slot-attributes')!,
    ...normalizeArity(context, c),
  };
}

interface Compilers<I, C> {
  installation(context: SubruleContext, cMap: HeaderMap | undefined, invert: boolean): I;
  connection(context: SubruleContext, cMap: HeaderMap | undefined, invert: boolean): C;
}

const PLUG_COMPILERS: Compilers<PlugInstallationConstraints, PlugConnectionConstraints> = {
  installation(context, cMap, invert) {
    const c = compileConstraints(context, cMap, invert, PLUG_INSTALLATION);
    return {
      ...common(c),
      plugSnapTypes: c.ids.get('plug-snap-type') ?? [],
      plugSnapIds: c.ids.get('plug-snap-id') ?? [],
      plugNames: c.names.get('plug-names'),
      plugAttributes: c.attrs.get('plug-attributes')!,
    };
  },
  connection(context, cMap, invert) {
    const c = compileConstraints(context, cMap, invert, PLUG_CONNECTION);
    return {
      ...connectionCommon(context, c),
      slotSnapTypes: c.ids.get('slot-snap-type') ?? [],
      slotSnapIds: c.ids.get('slot-snap-id') ?? [],
      slotPublisherIds: c.ids.get('slot-publisher-id') ?? [],
    };
  },
};

const SLOT_COMPILERS: Compilers<SlotInstallationConstraints, SlotConnectionConstraints> = {
  installation(context, cMap, invert) {
    const c = compileConstraints(context, cMap, invert, SLOT_INSTALLATION);
    return {
      ...common(c),
      slotSnapTypes: c.ids.get('slot-snap-type') ?? [],
      slotSnapIds: c.ids.get('slot-snap-id') ?? [],
      slotNames: c.names.get('slot-names'),
      slotAttributes: c.attrs.get('slot-attributes')!,
    };
  },
  connection(context, cMap, invert) {
    const c = compileConstraints(context, cMap, invert, SLOT_CONNECTION);
    return {
      ...connectionCommon(context, c),
      plugSnapTypes: c.ids.get('plug-snap-type') ?? [],
      plugSnapIds: c.ids.get('plug-snap-id') ?? [],
      plugPublisherIds: c.ids.get('plug-publisher-id') ?? [],
    };
  },
};

/** A map, or the shortcuts "true"/"false"; undefined otherwise. */
function mapOrShortcut(v: HeaderValue): { cMap: HeaderMap | undefined; invert: boolean } | undefined {
  if (isHeaderMap(v)) return { cMap: v, invert: false };
  if (v === 'true') return { cMap: undefined, invert: false };
  if (v === 'false') return { cMap: undefined, invert: true };
  return undefined;
}

const DEFAULT_OUTCOME = (subrule: Subrule): string => (subrule.startsWith('allow-') ? 'true' : 'false');
const INVERTED_OUTCOME = (subrule: Subrule): string => (subrule.startsWith('allow-') ? 'false' : 'true');

function compileRule<I, C>(side: 'plug' | 'slot', iface: string, rule: HeaderValue, compilers: Compilers<I, C>): Rule<I, C> {
  const context = `${side} rule for interface ${goQuote(iface)}`;
  const top = mapOrShortcut(rule);
  if (!top) throw new HeaderError(`${context} must be a map or one of the shortcuts 'true' or 'false'`);
  const value = (subrule: Subrule): HeaderValue | undefined => {
    if (top.cMap === undefined) return top.invert ? INVERTED_OUTCOME(subrule) : DEFAULT_OUTCOME(subrule);
    return Object.hasOwn(top.cMap, subrule) ? top.cMap[subrule] : undefined;
  };
  const out: Record<string, unknown> = { interface: iface };
  let defaultUsed = 0;
  for (const subrule of SUBRULES) {
    let v = value(subrule);
    if (v === undefined) {
      v = DEFAULT_OUTCOME(subrule);
      defaultUsed++;
    }
    const alternatives = isHeaderList(v);
    const list: readonly HeaderValue[] = isHeaderList(v) ? v : [v];
    out[SUBRULE_FIELDS[subrule]] = list.map((alt, i) => {
      const subctxt = new SubruleContext(context, subrule, alternatives ? i + 1 : 0);
      const c = mapOrShortcut(alt);
      if (!c || (c.cMap === undefined && alternatives)) {
        throw new HeaderError(alternatives ? `${subctxt} must be a map` : `${subctxt} must be a map or one of the shortcuts 'true' or 'false'`);
      }
      return subctxt.installation ? compilers.installation(subctxt, c.cMap, c.invert) : compilers.connection(subctxt, c.cMap, c.invert);
    });
  }
  if (defaultUsed === SUBRULES.length) throw new HeaderError(`${context} must specify at least one of ${SUBRULES.join(', ')}`);
  return out as unknown as Rule<I, C>;
}

/** Compiles the rule for one interface in a "plugs" stanza. */
export function compilePlugRule(iface: string, rule: HeaderValue): PlugRule {
  return compileRule('plug', iface, rule, PLUG_COMPILERS);
}

/** Compiles the rule for one interface in a "slots" stanza. */
export function compileSlotRule(iface: string, rule: HeaderValue): SlotRule {
  return compileRule('slot', iface, rule, SLOT_COMPILERS);
}

type AnyConstraints = (PlugInstallationConstraints | SlotInstallationConstraints | PlugConnectionConstraints | SlotConnectionConstraints) & {
  readonly plugNames?: NameConstraints | undefined;
  readonly slotNames?: NameConstraints | undefined;
  readonly plugAttributes?: AttributeMatcher;
  readonly slotAttributes?: AttributeMatcher;
};

function constraintsHave(c: AnyConstraints, feature: ConstraintFeature): boolean {
  if (feature === 'device-scope-constraints') return c.deviceScope !== undefined;
  if (feature === 'name-constraints') return c.plugNames !== undefined || c.slotNames !== undefined;
  return [c.plugAttributes, c.slotAttributes].some((m) => m !== undefined && attributeMatcherHas(m, feature));
}

/** Whether any subrule of the rule uses the feature (snapd's rule.feature). */
export function ruleHas(rule: PlugRule | SlotRule, feature: ConstraintFeature): boolean {
  return SUBRULES.some((subrule) => (rule[SUBRULE_FIELDS[subrule]] as readonly AnyConstraints[]).some((c) => constraintsHave(c, feature)));
}

/** Compiled "plugs" and "slots" stanzas (interface name to rule). */
export interface InterfaceRules {
  readonly plugRules: ReadonlyMap<string, PlugRule>;
  readonly slotRules: ReadonlyMap<string, SlotRule>;
}

function checkRulesMap(headers: HeaderMap, name: string): HeaderMap | undefined {
  if (!Object.hasOwn(headers, name)) return undefined;
  const v = headers[name];
  if (!isHeaderMap(v)) throw new HeaderError(`${goQuote(name)} header must be a map`);
  return v;
}

/** Checks and compiles the "plugs" then "slots" headers. */
export function compileInterfaceRules(headers: HeaderMap): InterfaceRules {
  const plugRules = new Map<string, PlugRule>();
  const slotRules = new Map<string, SlotRule>();
  for (const [iface, rule] of Object.entries(checkRulesMap(headers, 'plugs') ?? {})) plugRules.set(iface, compilePlugRule(iface, rule));
  for (const [iface, rule] of Object.entries(checkRulesMap(headers, 'slots') ?? {})) slotRules.set(iface, compileSlotRule(iface, rule));
  return { plugRules, slotRules };
}
