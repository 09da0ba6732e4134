// meta/gadget.yaml: parsing and validation with snapd's rules (snapd 2.57.6:
// gadget/gadget.go InfoFromGadgetYaml, gadget/validate.go, gadget/quantity).
// Pure: text in, typed value or GadgetYamlError out. Enough for the image
// builder: volumes, schema, bootloader, structures laid out with snapd's
// offset rules, content, update, defaults and connections.
import { parse as parseYaml } from 'yaml';
import { GadgetYamlError } from './errors.ts';
import { KERNEL_REF_PREFIX, splitKernelRef } from './kernel-ref.ts';

/** Which Ubuntu Core generation the gadget is checked for (changes role rules and implicit labels). */
export type GadgetModelKind = 'uc16' | 'uc20';

export interface GadgetContent {
  /** Filesystem content: source in the gadget (or $kernel:<asset>/<path>) and target in the filesystem. */
  readonly source?: string;
  readonly target?: string;
  /** Raw content: an image file, with optional offset and size. */
  readonly image?: string;
  readonly offset?: number;
  readonly offsetWrite?: GadgetRelativeOffset;
  readonly size?: number;
}

export interface GadgetRelativeOffset {
  /** Name of the structure the offset is relative to ('' = start of the volume). */
  readonly relativeTo: string;
  readonly offset: number;
}

export interface GadgetStructure {
  /** Index in the volume's structure list as written. */
  readonly index: number;
  readonly name?: string;
  /** filesystem-label, explicit or implied by the role. */
  readonly label?: string;
  readonly type: string;
  /** Role, explicit or implied ("mbr" for type mbr; system-boot for a uc16 structure labelled system-boot). */
  readonly role?: string;
  /** Declared offset. */
  readonly offset?: number;
  /** Where the structure starts once laid out as snapd does. */
  readonly startOffset: number;
  readonly offsetWrite?: GadgetRelativeOffset;
  readonly size: number;
  /** ext4, vfat, or undefined/none for raw structures. */
  readonly filesystem?: 'ext4' | 'vfat' | 'none';
  readonly id?: string;
  readonly content: readonly GadgetContent[];
  readonly update: { readonly edition: number; readonly preserve: readonly string[] };
}

export interface GadgetVolume {
  readonly name: string;
  readonly schema: 'gpt' | 'mbr';
  readonly bootloader?: string;
  readonly id?: string;
  readonly structure: readonly GadgetStructure[];
}

export interface GadgetConnection {
  readonly plug: { readonly snapId: string; readonly plug: string };
  readonly slot: { readonly snapId: string; readonly slot: string };
}

/** A validated meta/gadget.yaml. */
export interface GadgetYaml {
  readonly volumes: Readonly<Record<string, GadgetVolume>>;
  /** Initial configuration keyed by "system" or a snap-id (values typed as YAML 1.1, like snapd). */
  readonly defaults: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly connections: readonly GadgetConnection[];
}

export interface GadgetYamlOptions {
  /** Apply the rules of this model kind; undefined checks self-consistency only (as snapd with no model). */
  readonly model?: GadgetModelKind;
  /** Classic gadgets may omit volumes. */
  readonly classic?: boolean;
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-]+$/;
const TYPE_ID = /^[0-9A-F]{2}$/;
const GUID = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/i;
const SNAP_ID = /^[a-z0-9A-Z]{32}$/;
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
/** Non-MBR structures without an explicit offset never start before 1 MiB (snapd NonMBRStartOffset). */
const NON_MBR_START = MIB;
const SIZE_MBR = 446;
const BOOTLOADERS = ['grub', 'u-boot', 'android-boot', 'lk', 'piboot'];
const ROLES = [
  'mbr',
  'system-boot',
  'system-data',
  'system-seed',
  'system-save',
  'system-boot-image',
  'system-boot-select',
  'system-seed-image',
  'system-seed-select',
  'bootimg',
  'bootselect',
];
const SYSTEM_ROLES = ['system-seed', 'system-boot', 'system-data', 'system-save'];
const MAX_GADGET_YAML_SIZE = 1024 * 1024;

function fail(msg: string): never {
  throw new GadgetYamlError(msg);
}

type Obj = Record<string, unknown>;
function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isNull(v: unknown): boolean {
  return v === undefined || v === '' || v === '~' || v === 'null';
}
function str(o: Obj, key: string, where: string): string | undefined {
  const v = o[key];
  if (isNull(v)) return undefined;
  if (typeof v !== 'string') fail(`${where}: "${key}" must be a string`);
  return v;
}

/** Parses a gadget size or offset: bytes, or a number with suffix M (MiB) or G (GiB). */
export function parseGadgetQuantity(s: string, what = 'size'): number {
  const m = /^(-?[0-9]+)([A-Za-z]*)$/.exec(s.trim());
  if (!m) fail(`cannot parse ${what} ${JSON.stringify(s)}: need a number with an optional M or G suffix`);
  let n = Number(m[1]);
  if (m[2] === 'M') n *= MIB;
  else if (m[2] === 'G') n *= GIB;
  else if (m[2] !== '') fail(`cannot parse ${what} ${JSON.stringify(s)}: invalid suffix ${JSON.stringify(m[2])}`);
  if (n < 0) fail(`${what} cannot be negative`);
  if (!Number.isSafeInteger(n)) fail(`${what} ${JSON.stringify(s)} is too large`);
  return n;
}

function parseRelativeOffset(s: string): GadgetRelativeOffset {
  const plus = s.indexOf('+');
  const relativeTo = plus === -1 ? '' : s.slice(0, plus);
  const offs = plus === -1 ? s : s.slice(plus + 1);
  if (plus !== -1 && relativeTo === '') fail(`cannot parse relative offset ${JSON.stringify(s)}: missing volume name`);
  if (offs === '') fail(`cannot parse relative offset ${JSON.stringify(s)}: missing offset`);
  const offset = parseGadgetQuantity(offs, 'offset');
  if (offset >= 4 * GIB) fail(`cannot parse relative offset ${JSON.stringify(s)}: offset above 4G limit`);
  return { relativeTo, offset };
}

function parseSnapRef(s: unknown, what: 'plug' | 'slot'): { snapId: string; name: string } {
  if (typeof s !== 'string') fail(`in gadget connection ${what}: expected "(<snap-id>|system):name" not ${JSON.stringify(s)}`);
  const i = s.indexOf(':');
  const snapId = i === -1 ? '' : s.slice(0, i);
  const name = i === -1 ? '' : s.slice(i + 1);
  if (i === -1 || name === '' || snapId === '') fail(`in gadget connection ${what}: expected "(<snap-id>|system):name" not ${JSON.stringify(s)}`);
  if (snapId !== 'system' && !SNAP_ID.test(snapId)) fail(`in gadget connection ${what}: invalid snap-id: ${JSON.stringify(snapId)}`);
  return { snapId, name };
}

function checkType(t: string | undefined, schema: string): void {
  if (t === undefined) fail('type is not specified');
  if (t === 'bare' || t === 'mbr') return;
  let isGpt = false;
  let isMbr = false;
  const comma = t.indexOf(',');
  if (comma === -1) {
    if (TYPE_ID.test(t)) isMbr = true;
    else if (GUID.test(t)) isGpt = true;
    else fail(`invalid type ${JSON.stringify(t)}: invalid format`);
  } else {
    const code = t.slice(0, comma);
    const guid = t.slice(comma + 1);
    if (!TYPE_ID.test(code) || guid.length !== 36 || !GUID.test(guid)) fail(`invalid type ${JSON.stringify(t)}: invalid format of hybrid type`);
  }
  if (schema !== 'gpt' && isGpt) fail(`invalid type ${JSON.stringify(t)}: GUID structure type with non-GPT schema ${JSON.stringify(schema)}`);
  if (schema !== 'mbr' && isMbr) fail(`invalid type ${JSON.stringify(t)}: MBR structure type with non-MBR schema ${JSON.stringify(schema)}`);
}

interface RawStructure {
  index: number;
  name?: string;
  label?: string;
  type: string;
  role?: string;
  offset?: number;
  offsetWrite?: GadgetRelativeOffset;
  size: number;
  filesystem?: 'ext4' | 'vfat' | 'none';
  id?: string;
  content: GadgetContent[];
  update: { edition: number; preserve: string[] };
}

function parseStructure(s: unknown, index: number, schema: string): RawStructure {
  const where = `structure #${index}`;
  if (!isObj(s)) fail(`invalid structure #${index}: not a map`);
  const name = str(s, 'name', where);
  const label = str(s, 'filesystem-label', where);
  const invalid = (msg: string): never => fail(`invalid structure #${index}${name ? ` (${JSON.stringify(name)})` : ''}: ${msg}`);
  const type = str(s, 'type', where);
  const role = str(s, 'role', where);
  const sizeText = str(s, 'size', where);
  const size = sizeText === undefined ? 0 : parseGadgetQuantity(sizeText, 'size');
  const offsetText = str(s, 'offset', where);
  const offset = offsetText === undefined ? undefined : parseGadgetQuantity(offsetText, 'offset');
  const owText = str(s, 'offset-write', where);
  const offsetWrite = owText === undefined ? undefined : parseRelativeOffset(owText);
  const fs = str(s, 'filesystem', where);
  const id = str(s, 'id', where);
  if (size === 0) invalid('missing size');
  try {
    checkType(type, schema);
  } catch (err) {
    invalid((err as Error).message);
  }
  // Role checks (validateRole).
  if (type === 'bare' && role !== undefined && role !== 'mbr') invalid(`invalid role ${JSON.stringify(role)}: conflicting type: "bare"`);
  let effRole = role;
  if (type === 'mbr') {
    if (role !== undefined && role !== 'mbr') invalid(`invalid role ${JSON.stringify(role)}: conflicting legacy type: "mbr"`);
    effRole = 'mbr';
  }
  const what = role !== undefined ? `role ${JSON.stringify(role)}` : `implicit role ${JSON.stringify(type)}`;
  if (effRole !== undefined && !ROLES.includes(effRole)) invalid(`invalid ${what}: unsupported role`);
  if (effRole === 'mbr') {
    if (size > SIZE_MBR) invalid(`invalid ${what}: mbr structures cannot be larger than 446 bytes`);
    if (offset !== undefined && offset !== 0) invalid(`invalid ${what}: mbr structure must start at offset 0`);
    if (id !== undefined) invalid(`invalid ${what}: mbr structure must not specify partition ID`);
    if (fs !== undefined && fs !== 'none') invalid(`invalid ${what}: mbr structures must not specify a file system`);
  }
  if (fs !== undefined && fs !== 'ext4' && fs !== 'vfat' && fs !== 'none') invalid(`invalid filesystem ${JSON.stringify(fs)}`);
  const hasFs = fs === 'ext4' || fs === 'vfat';
  const rawContent = s.content;
  const content: GadgetContent[] = [];
  if (!isNull(rawContent)) {
    if (!Array.isArray(rawContent)) invalid('"content" must be a list');
    (rawContent as unknown[]).forEach((c, ci) => {
      const cw = `${where} content #${ci}`;
      if (!isObj(c)) invalid(`invalid content #${ci}: not a map`);
      const cc = c as Obj;
      const source = str(cc, 'source', cw);
      const target = str(cc, 'target', cw);
      const image = str(cc, 'image', cw);
      const cOffText = str(cc, 'offset', cw);
      const cOwText = str(cc, 'offset-write', cw);
      const cSizeText = str(cc, 'size', cw);
      const entry: GadgetContent = {
        source,
        target,
        image,
        offset: cOffText === undefined ? undefined : parseGadgetQuantity(cOffText, 'offset'),
        offsetWrite: cOwText === undefined ? undefined : parseRelativeOffset(cOwText),
        size: cSizeText === undefined ? undefined : parseGadgetQuantity(cSizeText, 'size'),
      };
      if (!hasFs) {
        if (source !== undefined || target !== undefined) invalid(`invalid content #${ci}: cannot use non-image content for bare file system`);
        if (image === undefined) invalid(`invalid content #${ci}: missing image file name`);
      } else {
        if (image !== undefined || entry.offset !== undefined || entry.offsetWrite !== undefined || (entry.size ?? 0) !== 0) {
          invalid(`invalid content #${ci}: cannot use image content for non-bare file system`);
        }
        if (source === undefined) invalid(`invalid content #${ci}: missing source`);
        if (target === undefined) invalid(`invalid content #${ci}: missing target`);
        // snapd checks references only in ValidateContent, which prepare-image runs on every build: refused here already, in its words.
        const ref = source!.startsWith(KERNEL_REF_PREFIX) ? splitKernelRef(source!) : undefined;
        if (ref && 'error' in ref) invalid(`invalid content #${ci}: cannot use kernel reference ${JSON.stringify(source)}: ${ref.error}`);
      }
      content.push(entry);
    });
  }
  const upd = isObj(s.update) ? s.update : {};
  let edition = 0;
  const edText = str(upd, 'edition', `${where} update`);
  if (edText !== undefined) {
    if (!/^[0-9]+$/.test(edText)) invalid(`"edition" must be a non-negative integer, not ${JSON.stringify(edText)}`);
    edition = Number(edText);
  }
  const preserveRaw = upd.preserve;
  const preserve: string[] = isNull(preserveRaw) ? [] : Array.isArray(preserveRaw) ? (preserveRaw as unknown[]).map(String) : invalid('"preserve" must be a list');
  if (!hasFs && preserve.length > 0) invalid('preserving files during update is not supported for non-filesystem structures');
  const seen = new Set<string>();
  for (const p of preserve) {
    if (seen.has(p)) invalid(`duplicate "preserve" entry ${JSON.stringify(p)}`);
    seen.add(p);
  }
  return {
    index,
    name,
    label,
    type: type!,
    role: effRole,
    offset,
    offsetWrite,
    size,
    filesystem: fs as RawStructure['filesystem'],
    id,
    content,
    update: { edition, preserve },
  };
}

function fmtStructure(s: RawStructure): string {
  return s.name ? `#${s.index} (${JSON.stringify(s.name)})` : `#${s.index}`;
}

function parseVolume(name: string, v: unknown, opts: GadgetYamlOptions, labelsByVolume: Map<string, Set<string>>): GadgetVolume {
  if (isNull(v)) fail(`volume ${JSON.stringify(name)} stanza is empty`);
  if (!isObj(v)) fail(`invalid volume ${JSON.stringify(name)}: not a map`);
  const invalid = (msg: string): never => fail(`invalid volume ${JSON.stringify(name)}: ${msg}`);
  if (!VOLUME_NAME.test(name)) invalid('invalid name');
  const schemaText = str(v, 'schema', `volume ${name}`);
  if (schemaText !== undefined && schemaText !== 'gpt' && schemaText !== 'mbr') invalid(`invalid schema ${JSON.stringify(schemaText)}`);
  const schema = (schemaText ?? 'gpt') as 'gpt' | 'mbr';
  const bootloader = str(v, 'bootloader', `volume ${name}`);
  const rawList = v.structure;
  if (!isNull(rawList) && !Array.isArray(rawList)) invalid('"structure" must be a list');
  const raw: RawStructure[] = [];
  const names = new Set<string>();
  const labels = new Set<string>();
  labelsByVolume.set(name, labels);
  try {
    ((isNull(rawList) ? [] : rawList) as unknown[]).forEach((s, i) => {
      const st = parseStructure(s, i, schema);
      if (st.name !== undefined) {
        if (names.has(st.name)) fail(`structure name ${JSON.stringify(st.name)} is not unique`);
        names.add(st.name);
      }
      if (st.label !== undefined) {
        if (labels.has(st.label)) fail(`filesystem label ${JSON.stringify(st.label)} is not unique`);
        labels.add(st.label);
      }
      raw.push(st);
    });
  } catch (err) {
    invalid((err as Error).message);
  }
  // Lay out as snapd does: a structure without an offset follows the
  // previous one, but nothing except the MBR starts before 1 MiB.
  let previousEnd = 0;
  const laid = raw.map((s) => {
    let start: number;
    if (s.offset !== undefined) start = s.offset;
    else if (s.role !== 'mbr' && previousEnd < NON_MBR_START) start = NON_MBR_START;
    else start = previousEnd;
    previousEnd = start + s.size;
    return { s, start };
  });
  const sorted = [...laid].sort((a, b) => a.start - b.start);
  let end = 0;
  sorted.forEach(({ s, start }, i) => {
    if (s.role === 'mbr' && start !== 0) invalid(`structure ${fmtStructure(s)} has "mbr" role and must start at offset 0`);
    if (s.offsetWrite && s.offsetWrite.relativeTo !== '' && !names.has(s.offsetWrite.relativeTo)) {
      invalid(`structure ${fmtStructure(s)} refers to an unknown structure ${JSON.stringify(s.offsetWrite.relativeTo)}`);
    }
    if (start < end) invalid(`structure ${fmtStructure(s)} overlaps with the preceding structure ${fmtStructure(sorted[i - 1]!.s)}`);
    end = start + s.size;
    for (const [ci, c] of s.content.entries()) {
      if (c.offsetWrite && c.offsetWrite.relativeTo !== '' && !names.has(c.offsetWrite.relativeTo)) {
        invalid(`structure ${fmtStructure(s)}, content #${ci} refers to an unknown structure ${JSON.stringify(c.offsetWrite.relativeTo)}`);
      }
    }
  });
  // Implicit roles and labels (setImplicitForVolumeStructure).
  const structure: GadgetStructure[] = laid.map(({ s, start }) => {
    let role = s.role;
    let label = s.label;
    if (opts.model === 'uc16' && role === undefined && label === 'system-boot') role = 'system-boot';
    if (label === undefined) {
      const implicit =
        opts.model === 'uc16' ? (role === 'system-data' ? 'writable' : undefined) : opts.model === 'uc20' ? implicitUc20Label(role) : undefined;
      if (implicit !== undefined) {
        if (labels.has(implicit)) invalid(`filesystem label ${JSON.stringify(implicit)} is implied by ${role} role but was already set elsewhere`);
        labels.add(implicit);
        label = implicit;
      }
    }
    return { ...s, role, label, startOffset: start };
  });
  return { name, schema, bootloader, id: str(v, 'id', `volume ${name}`), structure };
}

function implicitUc20Label(role: string | undefined): string | undefined {
  switch (role) {
    case 'system-data':
      return 'ubuntu-data';
    case 'system-seed':
      return 'ubuntu-seed';
    case 'system-boot':
      return 'ubuntu-boot';
    case 'system-save':
      return 'ubuntu-save';
    default:
      return undefined;
  }
}

/** Cross-volume role rules (gadget/validate.go ruleValidateVolumes, ensureRolesConsistency). */
function checkRoles(volumes: Record<string, GadgetVolume>, opts: GadgetYamlOptions): void {
  const roles = new Map<string, { vol: string; s: GadgetStructure }>();
  const xvols = Object.keys(volumes).length !== 1 ? ' across volumes' : '';
  for (const [vname, v] of Object.entries(volumes)) {
    for (const s of v.structure) {
      if (s.role !== undefined && SYSTEM_ROLES.includes(s.role)) {
        if (roles.has(s.role)) fail(`cannot have more than one partition with ${s.role} role${xvols}`);
        roles.set(s.role, { vol: vname, s });
      }
    }
  }
  const expectedSeed = opts.model !== undefined ? opts.model === 'uc20' : roles.has('system-seed');
  const reserved = expectedSeed ? ['ubuntu-boot', 'ubuntu-seed', 'ubuntu-data', 'ubuntu-save'] : ['ubuntu-seed', 'ubuntu-data'];
  for (const [vname, v] of Object.entries(volumes)) {
    for (const s of v.structure) {
      if (s.role === undefined && s.label !== undefined && reserved.includes(s.label)) {
        fail(`invalid volume ${JSON.stringify(vname)}: invalid structure ${s.name ? `#${s.index} (${JSON.stringify(s.name)})` : `#${s.index}`}: label ${JSON.stringify(s.label)} is reserved`);
      }
    }
  }
  const implicit = (role: string, label: string): void => {
    const s = roles.get(role)?.s;
    if (s && s.label !== undefined && s.label !== label) fail(`${role} structure must have an implicit label or ${JSON.stringify(label)}, not ${JSON.stringify(s.label)}`);
  };
  const seed = roles.get('system-seed');
  const data = roles.get('system-data');
  if (!seed && !data) {
    if (expectedSeed) fail('model requires system-seed partition, but no system-seed or system-data partition found');
  } else if (seed && !data) {
    fail('the system-seed role requires system-data to be defined');
  } else if (!seed && data) {
    if (expectedSeed) fail('model requires system-seed structure, but none was found');
    implicit('system-data', 'writable');
  } else {
    if (!expectedSeed) fail('model does not support the system-seed role');
    implicit('system-data', 'ubuntu-data');
    implicit('system-seed', 'ubuntu-seed');
  }
  if (roles.has('system-save')) {
    if (!expectedSeed) fail('model does not support the system-save role');
    implicit('system-save', 'ubuntu-save');
  }
  if (expectedSeed && seed) {
    for (const r of ['system-boot', 'system-data', 'system-save']) {
      const inst = roles.get(r);
      if (inst && inst.vol !== seed.vol) fail('system-boot, system-data, and system-save are expected to share the same volume as system-seed');
    }
  }
}

/** Parses and validates meta/gadget.yaml. Throws GadgetYamlError naming the first problem found. */
export function parseGadgetYaml(text: string | Uint8Array, opts: GadgetYamlOptions = {}): GadgetYaml {
  const src = typeof text === 'string' ? text : Buffer.from(text).toString('utf8');
  if (src.length > MAX_GADGET_YAML_SIZE) fail(`gadget.yaml is larger than ${MAX_GADGET_YAML_SIZE} bytes`);
  let doc: unknown;
  let typed: unknown;
  try {
    doc = parseYaml(src, { schema: 'failsafe', maxAliasCount: 100 });
    // Defaults keep YAML 1.1 types (true/false/yes/no, numbers) as snapd's yaml.v2 does.
    typed = parseYaml(src, { version: '1.1', maxAliasCount: 100 });
  } catch (err) {
    return fail(`cannot parse gadget metadata: ${String((err as Error).message).split('\n')[0]!.toLowerCase()}`);
  }
  if (isNull(doc)) doc = {};
  if (!isObj(doc) || !isObj(typed ?? {})) return fail('cannot parse gadget metadata: not a map');

  const defaults: Record<string, Record<string, unknown>> = {};
  const rawDefaults = isObj(typed) ? typed.defaults : undefined;
  if (rawDefaults !== undefined && rawDefaults !== null) {
    if (!isObj(rawDefaults)) fail('cannot parse gadget metadata: "defaults" must be a map');
    for (const [k, v] of Object.entries(rawDefaults)) {
      if (k !== 'system' && !SNAP_ID.test(k)) fail(`default stanza not keyed by "system" or snap-id: ${k}`);
      if (v !== null && !isObj(v)) fail(`default value of ${JSON.stringify(k)} must be a map`);
      defaults[k] = (v ?? {}) as Record<string, unknown>;
    }
  }

  const connections: GadgetConnection[] = [];
  if (!isNull(doc.connections)) {
    if (!Array.isArray(doc.connections)) fail('cannot parse gadget metadata: "connections" must be a list');
    for (const c of doc.connections as unknown[]) {
      if (!isObj(c)) fail('cannot parse gadget metadata: a connection must be a map');
      if (isNull(c.plug)) fail('gadget connection plug cannot be empty');
      const plug = parseSnapRef(c.plug, 'plug');
      const slot = isNull(c.slot) ? { snapId: 'system', name: plug.name } : parseSnapRef(c.slot, 'slot');
      connections.push({ plug: { snapId: plug.snapId, plug: plug.name }, slot: { snapId: slot.snapId, slot: slot.name } });
    }
  }

  const rawVolumes = doc.volumes;
  if (isNull(rawVolumes) || (isObj(rawVolumes) && Object.keys(rawVolumes).length === 0)) {
    if (opts.classic) return { volumes: {}, defaults, connections };
  }
  if (!isNull(rawVolumes) && !isObj(rawVolumes)) fail('cannot parse gadget metadata: "volumes" must be a map');
  const volumes: Record<string, GadgetVolume> = {};
  const labelsByVolume = new Map<string, Set<string>>();
  let bootloaders = 0;
  for (const [name, v] of Object.entries((rawVolumes ?? {}) as Obj)) {
    const vol = parseVolume(name, v, opts, labelsByVolume);
    if (vol.bootloader !== undefined) {
      if (!BOOTLOADERS.includes(vol.bootloader)) fail('bootloader must be one of grub, u-boot, android-boot, piboot or lk');
      if (vol.bootloader === 'piboot' && opts.model === 'uc16') fail('piboot bootloader valid only for UC20 onwards');
      bootloaders++;
    }
    volumes[name] = vol;
  }
  if (bootloaders === 0) fail('bootloader not declared in any volume');
  if (bootloaders > 1) fail(`too many (${bootloaders}) bootloaders declared`);
  checkRoles(volumes, opts);
  return { volumes, defaults, connections };
}
