// meta/snap.yaml: parsing and validation with snapd's rules (snapd 2.57.6:
// snap/info_snap_yaml.go, snap/validate.go, snap/naming/validate.go,
// snap/epoch.go, snap/hooktypes.go). Pure: text in, typed value or
// SnapYamlError out. Messages keep snapd's wording where snapd has one.
//
// snapd reads snap.yaml with yaml.v2 into string fields, so `version: 1.0`
// is the string "1.0"; parsing with YAML's failsafe schema (every scalar is a
// string) gives the same result. Unknown top-level keys are ignored, as snapd
// does, except the `layouts` typo snapd refuses.
import { parse as parseYaml } from 'yaml';
import { SnapYamlError } from './errors.ts';

/** Snap types snapd knows. */
export const SNAP_TYPES = ['app', 'gadget', 'kernel', 'base', 'os', 'snapd'] as const;
export type SnapType = (typeof SNAP_TYPES)[number];
export type Confinement = 'strict' | 'devmode' | 'classic';
export type Grade = 'stable' | 'devel';

/** A snap epoch: which data epochs a revision reads and writes. */
export interface Epoch {
  readonly read: readonly number[];
  readonly write: readonly number[];
}

/** One app of snap.yaml (the fields snapd validates; everything else is in `raw`). */
export interface SnapApp {
  readonly name: string;
  readonly command: string;
  readonly daemon?: string;
  readonly daemonScope?: 'system' | 'user';
  readonly plugs: readonly string[];
  readonly slots: readonly string[];
  readonly commandChain: readonly string[];
  readonly raw: Readonly<Record<string, unknown>>;
}

/** One hook declared in snap.yaml. */
export interface SnapHook {
  readonly name: string;
  readonly plugs: readonly string[];
  readonly slots: readonly string[];
  readonly commandChain: readonly string[];
}

/** A plug or slot: its interface and attributes. */
export interface SnapPlugOrSlot {
  readonly name: string;
  readonly interface: string;
  readonly attrs: Readonly<Record<string, unknown>>;
}

/** A validated meta/snap.yaml. */
export interface SnapYaml {
  readonly name: string;
  readonly version: string;
  readonly type: SnapType;
  /** Base snap; undefined when not set (snapd then assumes core for apps and gadgets). */
  readonly base?: string;
  readonly confinement: Confinement;
  /** snapcraft's grade (snapd 2.57.6 ignores it; the store uses it); default stable. */
  readonly grade: Grade;
  /** Default ["all"]. */
  readonly architectures: readonly string[];
  readonly epoch: Epoch;
  readonly summary?: string;
  readonly title?: string;
  readonly description?: string;
  readonly license?: string;
  readonly provenance?: string;
  readonly assumes: readonly string[];
  readonly apps: Readonly<Record<string, SnapApp>>;
  readonly hooks: Readonly<Record<string, SnapHook>>;
  readonly plugs: Readonly<Record<string, SnapPlugOrSlot>>;
  readonly slots: Readonly<Record<string, SnapPlugOrSlot>>;
  /** The whole document as parsed (failsafe schema: scalars are strings). */
  readonly raw: Readonly<Record<string, unknown>>;
}

const SNAP_NAME = /^[a-z0-9-]*[a-z][a-z0-9-]*$/;
const VERSION = /^[a-zA-Z0-9](?:[a-zA-Z0-9:.+~-]{0,30}[a-zA-Z0-9+~])?$/;
const APP_NAME = /^[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$/;
const PLUG_SLOT_IFACE = /^[a-z](?:-?[a-z0-9])*$/;
const HOOK_NAME = /^[a-z](?:-?[a-z0-9])*$/;
const ALIAS = /^[a-zA-Z0-9][-_.a-zA-Z0-9]*$/;
const PROVENANCE = /^[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$/;
const APP_CONTENT = /^[A-Za-z0-9/. _#:$-]*$/;
const COMMAND_CHAIN_CONTENT = /^[A-Za-z0-9/._#:$-]*$/;
/** Hook names snapd supports (snap/hooktypes.go). */
const SUPPORTED_HOOKS = [
  /^prepare-device$/,
  /^install-device$/,
  /^configure$/,
  /^install$/,
  /^pre-refresh$/,
  /^post-refresh$/,
  /^remove$/,
  /^prepare-(?:plug|slot)-[-a-z0-9]+$/,
  /^unprepare-(?:plug|slot)-[-a-z0-9]+$/,
  /^connect-(?:plug|slot)-[-a-z0-9]+$/,
  /^disconnect-(?:plug|slot)-[-a-z0-9]+$/,
  /^check-health$/,
  /^fde-setup$/,
  /^gate-auto-refresh$/,
];
const DAEMONS = ['simple', 'forking', 'oneshot', 'dbus', 'notify'];
const STOP_MODES = ['sigterm', 'sigterm-all', 'sighup', 'sighup-all', 'sigusr1', 'sigusr1-all', 'sigusr2', 'sigusr2-all', 'sigint', 'sigint-all'];
const RESTART_CONDITIONS = ['no', 'never', 'on-success', 'on-failure', 'on-abnormal', 'on-abort', 'on-watchdog', 'always'];
/** Largest snap.yaml accepted (snapd has no limit; this guards the YAML parser). */
export const MAX_SNAP_YAML_SIZE = 1024 * 1024;

function fail(msg: string): never {
  throw new SnapYamlError(msg);
}

/** Checks a snap name (snapd naming.ValidateSnap); returns an error message or undefined. */
export function snapNameError(name: string): string | undefined {
  if (name.length < 2 || name.length > 40 || !SNAP_NAME.test(name) || name.startsWith('-') || name.endsWith('-') || name.includes('--')) {
    return `invalid snap name: ${JSON.stringify(name)}`;
  }
  return undefined;
}

/** Checks a snap version (snapd ValidateVersion); returns an error message or undefined. */
export function versionError(version: string): string | undefined {
  if (VERSION.test(version)) return undefined;
  if (version.length === 0) return 'invalid snap version: cannot be empty';
  if (/[^\x21-\x7e]/.test(version)) return `invalid snap version ${JSON.stringify(version)}: must be printable, non-whitespace ASCII`;
  const reasons: string[] = [];
  if (version.length > 32) reasons.push(`cannot be longer than 32 characters (got: ${version.length})`);
  if (/^[^a-zA-Z0-9]/.test(version)) reasons.push(`must start with an ASCII alphanumeric (and not '${version[0]}')`);
  if (version.length > 1) {
    if (/[^a-zA-Z0-9+~]$/.test(version)) reasons.push(`must end with an ASCII alphanumeric or one of '+' or '~' (and not '${version[version.length - 1]}')`);
    if (version.length > 2) {
      const bad = version.slice(1, -1).match(/[^a-zA-Z0-9:.+~-]+/g);
      if (bad) reasons.push(`contains invalid characters: ${bad.map((b) => JSON.stringify(b)).join(', ')}`);
    }
  }
  if (reasons.length === 0) return `invalid snap version ${JSON.stringify(version)}`;
  const last = reasons.pop()!;
  return `invalid snap version ${JSON.stringify(version)}: ${reasons.length ? `${reasons.join(', ')}, and ${last}` : last}`;
}

/** Whether snapd supports a hook of this name (snap/hooktypes.go). */
export function isSupportedHook(name: string): boolean {
  return SUPPORTED_HOOKS.some((re) => re.test(name));
}

// ---- small typed accessors over the failsafe parse --------------------------

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A scalar as Go's yaml.v2 would put it into a string field ('' and null-ish mean unset). */
function str(o: Obj, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') fail(`${where}"${key}" must be a string`);
  if (v === '' || v === '~' || v === 'null' || v === 'Null' || v === 'NULL') return undefined;
  return v;
}

function strList(o: Obj, key: string, where: string): string[] {
  const v = o[key];
  if (v === undefined || v === '' || v === '~' || v === 'null') return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(`${where}"${key}" must be a list of strings`);
  return v as string[];
}

function map(o: Obj, key: string, where: string): Obj {
  const v = o[key];
  if (v === undefined || v === '' || v === '~' || v === 'null') return {};
  if (!isObj(v)) fail(`${where}"${key}" must be a map`);
  return v;
}

function parseEpochNumber(s: string): number {
  if (!(s.length > 1 && s[0] === '0') && /^[0-9]+$/.test(s)) {
    const n = Number(s);
    if (n >= 2 ** 32) fail(`epoch numbers must be less than 2³², but got ${JSON.stringify(s)}`);
    return n;
  }
  return fail(`epoch numbers must be base 10 with no zero padding, but got ${JSON.stringify(s)}`);
}

/** Parses and validates an epoch value as snapd does (snap/epoch.go). */
export function parseEpoch(v: unknown): Epoch {
  if (v === undefined || v === '' || v === '~' || v === 'null') return { read: [0], write: [0] };
  if (typeof v === 'string') {
    if (v === '0') return { read: [0], write: [0] };
    const star = v.endsWith('*');
    const n = parseEpochNumber(star ? v.slice(0, -1) : v);
    if (star && n === 0) fail('0* is an invalid epoch');
    return { read: star ? [n - 1, n] : [n], write: [n] };
  }
  if (!isObj(v)) return fail('epoch read/write attributes must be lists of epoch numbers');
  const list = (x: unknown): number[] | undefined => {
    if (x === undefined || x === '~' || x === 'null') return undefined;
    if (!Array.isArray(x) || x.some((e) => typeof e !== 'string')) fail('epoch read/write attributes must be lists of epoch numbers');
    return (x as string[]).map(parseEpochNumber);
  };
  let read = list(v.read);
  let write = list(v.write);
  if ((read && read.length === 0) || (write && write.length === 0)) fail('epoch list cannot be explicitly empty');
  if (!read && !write) write = [0];
  if (!read) read = write!;
  if (!write) write = [read[read.length - 1]!];
  const zero = (l: number[]): boolean => l.length === 1 && l[0] === 0;
  if (zero(read) && zero(write)) return { read, write };
  if (read.length > 10 || write.length > 10) fail('epoch list must not have more than 10 entries');
  const increasing = (l: number[]): boolean => l.every((x, i) => i === 0 || x > l[i - 1]!);
  if (!increasing(read) || !increasing(write)) fail('epoch list must be a strictly increasing sequence');
  if (!read.some((r) => write!.includes(r))) fail('epoch read and write lists must have a non-empty intersection');
  return { read, write };
}

function plugsOrSlots(o: Obj, kind: 'plug' | 'slot'): Record<string, SnapPlugOrSlot> {
  const out: Record<string, SnapPlugOrSlot> = {};
  for (const [name, def] of Object.entries(map(o, `${kind}s`, ''))) {
    if (!PLUG_SLOT_IFACE.test(name)) fail(`invalid ${kind} name: ${JSON.stringify(name)}`);
    let iface = name;
    let attrs: Obj = {};
    if (typeof def === 'string' && def !== '' && def !== '~' && def !== 'null') iface = def;
    else if (isObj(def)) {
      attrs = { ...def };
      if (def.interface !== undefined) {
        if (typeof def.interface !== 'string') fail(`interface name on ${kind} ${JSON.stringify(name)} is not a string`);
        iface = def.interface;
        delete attrs.interface;
      }
    } else if (def !== undefined && def !== '' && def !== '~' && def !== 'null') fail(`${kind} ${JSON.stringify(name)} has malformed definition`);
    if (!PLUG_SLOT_IFACE.test(iface)) fail(`invalid interface name ${JSON.stringify(iface)} for ${kind} ${JSON.stringify(name)}`);
    out[name] = { name, interface: iface, attrs };
  }
  return out;
}

function checkField(name: string, value: string | undefined, re: RegExp): void {
  if (value !== undefined && !re.test(value)) fail(`app description field '${name}' contains illegal ${JSON.stringify(value)} (legal: '${re.source}')`);
}

function parseApp(name: string, def: unknown): SnapApp {
  if (!APP_NAME.test(name)) fail(`cannot have ${JSON.stringify(name)} as app name - use letters, digits, and dash as separator`);
  const where = `app ${JSON.stringify(name)}: `;
  const a: Obj = isObj(def) ? def : def === '' || def === '~' || def === undefined ? {} : fail(`${where}definition must be a map`);
  const invalid = (msg: string): never => fail(`invalid definition of application ${JSON.stringify(name)}: ${msg}`);
  const command = str(a, 'command', where) ?? '';
  const daemon = str(a, 'daemon', where);
  if (daemon !== undefined && !DAEMONS.includes(daemon)) invalid(`"daemon" field contains invalid value ${JSON.stringify(daemon)}`);
  let daemonScope = str(a, 'daemon-scope', where);
  if (daemon !== undefined && daemonScope === undefined) daemonScope = 'system';
  if (daemonScope !== undefined) {
    if (daemonScope !== 'system' && daemonScope !== 'user') invalid(`invalid "daemon-scope": ${JSON.stringify(daemonScope)}`);
    if (daemon === undefined) invalid('"daemon-scope" can only be set for daemons');
  }
  for (const f of ['command', 'stop-command', 'reload-command', 'post-stop-command', 'bus-name']) {
    try {
      checkField(f, str(a, f, where), APP_CONTENT);
    } catch (err) {
      invalid((err as Error).message);
    }
  }
  const commandChain = strList(a, 'command-chain', where);
  for (const c of commandChain) if (!COMMAND_CHAIN_CONTENT.test(c)) invalid(`app description field 'command-chain' contains illegal ${JSON.stringify(c)} (legal: '${COMMAND_CHAIN_CONTENT.source}')`);
  const plugs = strList(a, 'plugs', where);
  const slots = strList(a, 'slots', where);
  const sockets = map(a, 'sockets', where);
  if (Object.keys(sockets).length > 0 && !plugs.includes('network-bind')) invalid('"network-bind" interface plug is required when sockets are used');
  const stopMode = str(a, 'stop-mode', where);
  if (stopMode !== undefined && !STOP_MODES.includes(stopMode)) invalid(`"stop-mode" field contains invalid value ${JSON.stringify(stopMode)}`);
  const refreshMode = str(a, 'refresh-mode', where);
  if (refreshMode !== undefined && !['endure', 'restart', 'ignore-running'].includes(refreshMode)) invalid(`"refresh-mode" field contains invalid value ${JSON.stringify(refreshMode)}`);
  const installMode = str(a, 'install-mode', where);
  if (installMode !== undefined && !['enable', 'disable'].includes(installMode)) invalid(`"install-mode" field contains invalid value ${JSON.stringify(installMode)}`);
  if (stopMode !== undefined && daemon === undefined) invalid(`"stop-mode" cannot be used for ${JSON.stringify(name)}, only for services`);
  if (refreshMode !== undefined) {
    if (daemon !== undefined && refreshMode === 'ignore-running') invalid('"refresh-mode" cannot be set to "ignore-running" for services');
    if (daemon === undefined && refreshMode !== 'ignore-running') invalid(`"refresh-mode" for app ${JSON.stringify(name)} can only have value "ignore-running"`);
  }
  if (installMode !== undefined && daemon === undefined) invalid(`"install-mode" cannot be used for ${JSON.stringify(name)}, only for services`);
  const restart = str(a, 'restart-condition', where);
  if (restart !== undefined && !RESTART_CONDITIONS.includes(restart)) fail('invalid restart condition');
  for (const alias of strList(a, 'aliases', where)) {
    if (!ALIAS.test(alias)) fail(`cannot have ${JSON.stringify(alias)} as alias name for app ${JSON.stringify(name)} - use only letters, digits, dash, underscore and dot characters`);
  }
  return { name, command, daemon, daemonScope: daemonScope as SnapApp['daemonScope'], plugs, slots, commandChain, raw: a };
}

/**
 * Parses and validates meta/snap.yaml. Throws SnapYamlError naming the first
 * problem found, in the order snapd checks.
 */
export function parseSnapYaml(text: string | Uint8Array): SnapYaml {
  const src = typeof text === 'string' ? text : Buffer.from(text).toString('utf8');
  if (src.length > MAX_SNAP_YAML_SIZE) fail(`snap.yaml is larger than ${MAX_SNAP_YAML_SIZE} bytes`);
  let doc: unknown;
  try {
    doc = parseYaml(src, { schema: 'failsafe', maxAliasCount: 100, uniqueKeys: true });
  } catch (err) {
    return fail(`cannot parse snap.yaml: ${String((err as Error).message).split('\n')[0]!.toLowerCase()}`);
  }
  if (!isObj(doc)) return fail('cannot parse snap.yaml: not a map');
  if (doc.layouts !== undefined) fail('typo detected: use singular "layout" instead of plural "layouts"');
  const name = str(doc, 'name', '');
  if (name === undefined) fail('snap name cannot be empty');
  const rawType = str(doc, 'type', '') ?? 'app';
  const typeName = rawType === 'application' ? 'app' : rawType;
  if (!(SNAP_TYPES as readonly string[]).includes(typeName)) fail(`invalid snap type: ${JSON.stringify(rawType)}`);
  const type = (name === 'snapd' ? 'snapd' : typeName) as SnapType;
  const confinement = str(doc, 'confinement', '') ?? 'strict';
  if (!['strict', 'devmode', 'classic'].includes(confinement)) fail(`invalid confinement type: ${JSON.stringify(confinement)}`);
  const provenance = str(doc, 'provenance', '');
  if (provenance !== undefined) {
    if (provenance === 'global-upload') fail('provenance cannot be set to default (global-upload) explicitly');
    if (!PROVENANCE.test(provenance)) fail(`invalid provenance: ${JSON.stringify(provenance)}`);
  }
  const nameErr = snapNameError(name);
  if (nameErr) fail(nameErr);
  const title = str(doc, 'title', '');
  if (title !== undefined && [...title].length > 40) fail(`title can have up to 40 codepoints, got ${[...title].length}`);
  const description = str(doc, 'description', '');
  if (description !== undefined && [...description].length > 4096) fail(`description can have up to 4096 codepoints, got ${[...description].length}`);
  const version = str(doc, 'version', '') ?? '';
  const versionErr = versionError(version);
  if (versionErr) fail(versionErr);
  const epoch = parseEpoch(doc.epoch);
  const grade = str(doc, 'grade', '') ?? 'stable';
  if (grade !== 'stable' && grade !== 'devel') fail(`invalid grade: ${JSON.stringify(grade)} (must be stable or devel)`);
  const architectures = strList(doc, 'architectures', '');
  const license = str(doc, 'license', '');
  if (license !== undefined && !/^[A-Za-z0-9.+() -]+$/.test(license)) fail(`cannot validate license ${JSON.stringify(license)}: unknown characters`);

  const plugs = plugsOrSlots(doc, 'plug');
  const slots = plugsOrSlots(doc, 'slot');
  const apps: Record<string, SnapApp> = {};
  for (const [appName, def] of Object.entries(map(doc, 'apps', ''))) {
    const app = parseApp(appName, def);
    for (const p of app.plugs) if (!PLUG_SLOT_IFACE.test(p)) fail(`invalid plug name: ${JSON.stringify(p)}`);
    for (const s of app.slots) if (!PLUG_SLOT_IFACE.test(s)) fail(`invalid slot name: ${JSON.stringify(s)}`);
    apps[appName] = app;
  }
  for (const app of Object.values(apps)) {
    for (const [field, list] of [
      ['before', strList(app.raw, 'before', '')],
      ['after', strList(app.raw, 'after', '')],
    ] as const) {
      for (const other of list) {
        if (!app.daemon) fail(`invalid definition of application ${JSON.stringify(app.name)}: cannot define ${field} for non-service application ${JSON.stringify(app.name)}`);
        const o = apps[other];
        if (!o) fail(`invalid definition of application ${JSON.stringify(app.name)}: ${field} references unknown application ${JSON.stringify(other)}`);
        if (!o.daemon) fail(`invalid definition of application ${JSON.stringify(app.name)}: ${field} references non-service application ${JSON.stringify(other)}`);
      }
    }
  }
  const hooks: Record<string, SnapHook> = {};
  for (const [hookName, def] of Object.entries(map(doc, 'hooks', ''))) {
    if (!HOOK_NAME.test(hookName)) fail(`invalid hook name: ${JSON.stringify(hookName)}`);
    const h: Obj = isObj(def) ? def : {};
    const commandChain = strList(h, 'command-chain', `hook ${JSON.stringify(hookName)}: `);
    for (const c of commandChain) if (!COMMAND_CHAIN_CONTENT.test(c)) fail(`hook command-chain contains illegal ${JSON.stringify(c)} (legal: '${COMMAND_CHAIN_CONTENT.source}')`);
    // snapd silently drops hooks it does not support.
    if (!isSupportedHook(hookName)) continue;
    hooks[hookName] = { name: hookName, plugs: strList(h, 'plugs', ''), slots: strList(h, 'slots', ''), commandChain };
  }
  for (const p of Object.keys(plugs)) if (slots[p]) fail(`cannot have plug and slot with the same name: ${JSON.stringify(p)}`);

  const base = str(doc, 'base', '');
  if ((type === 'os' || type === 'base') && base !== undefined && base !== 'none') fail(`cannot have "base" field on ${JSON.stringify(type)} snap ${JSON.stringify(name)}`);
  if (base === 'none' && (Object.keys(hooks).length > 0 || Object.keys(apps).length > 0)) fail('cannot have apps or hooks with base "none"');
  if (base !== undefined && base !== 'none') {
    if (base.includes('_')) fail(`base cannot specify a snap instance name: ${JSON.stringify(base)}`);
    const e = snapNameError(base);
    if (e) fail(`invalid base name: ${e}`);
  }

  return {
    name,
    version,
    type,
    base,
    confinement: confinement as Confinement,
    grade,
    architectures: architectures.length > 0 ? architectures : ['all'],
    epoch,
    summary: str(doc, 'summary', ''),
    title,
    description,
    license,
    provenance,
    assumes: strList(doc, 'assumes', ''),
    apps,
    hooks,
    plugs,
    slots,
    raw: doc,
  };
}

/** The architecture part of a snap file name as `snap pack` computes it: all, the single one, or multi. */
export function packArchitecture(y: Pick<SnapYaml, 'architectures'>): string {
  if (y.architectures.length === 0) return 'all';
  if (y.architectures.length === 1) return y.architectures[0]!;
  return 'multi';
}

/** The file name `snap pack` gives a snap: `<name>_<version>_<arch>.snap`. */
export function snapFileName(y: Pick<SnapYaml, 'name' | 'version' | 'architectures'>): string {
  return `${y.name}_${y.version}_${packArchitecture(y)}.snap`;
}
