// Seed layout (snapd seed/seedwriter, protocol doc 7.2/7.3): where each snap
// file goes, assertion file names and grouping, seed.yaml and options.yaml.
// Pure: returns paths (relative to the output folder) and file contents.
import { stringify } from 'yaml';
import type { Assertion } from '../assertions/index.ts';
import { encodeStream } from '../assertions/index.ts';
import { SYSTEM_LABEL } from '../assertions/names.ts';
import type { PlannedSnap } from './plan.ts';
import { ImageError } from './errors.ts';
import { recoveryGrubCfg } from './grub-recovery.ts';

/** The UC16/18 seed folder inside the output (the future writable root is `image/`). */
export const UC16_SEED_DIR = 'image/var/lib/snapd/seed';
/** The UC20+ seed partition content. */
export const UC20_SEED_DIR = 'system-seed';

export interface SeedSnap {
  readonly plan: PlannedSnap;
  /** "" for unasserted snaps. */
  readonly snapId: string;
  /** 0 for unasserted snaps. */
  readonly revision: number;
  /** From snap.yaml; names unasserted UC20 files. */
  readonly version: string;
  /** Store (or snap.yaml) metadata that seeds carry: devmode/classic confinement, contact, private. */
  readonly devmode?: boolean;
  readonly classic?: boolean;
  readonly contact?: string;
  readonly private?: boolean;
}

export function isAsserted(s: SeedSnap): boolean {
  return s.revision > 0;
}

/** Checks a system label with the loader's rule. */
export function checkLabel(label: string): void {
  if (!SYSTEM_LABEL.test(label)) throw new ImageError('image-output', `invalid system label ${JSON.stringify(label)}: must match ${SYSTEM_LABEL.source}`);
}

/** prepare-image's default label: the UTC date as YYYYMMDD. */
export function defaultLabel(now: Date): string {
  return now.toISOString().slice(0, 10).replaceAll('-', '');
}

export function seedDir(uc20: boolean): string {
  return uc20 ? UC20_SEED_DIR : UC16_SEED_DIR;
}

/** Where a snap file goes, relative to the output folder. */
export function snapPath(uc20: boolean, label: string, s: SeedSnap): string {
  if (!uc20) return `${UC16_SEED_DIR}/snaps/${s.plan.name}_${isAsserted(s) ? s.revision : 'x1'}.snap`;
  if (!isAsserted(s)) return `${UC20_SEED_DIR}/systems/${label}/snaps/${s.plan.name}_${s.version}.snap`;
  if (!s.plan.inModel) return `${UC20_SEED_DIR}/systems/${label}/snaps/${s.plan.name}_${s.revision}.snap`;
  return `${UC20_SEED_DIR}/snaps/${s.plan.name}_${s.revision}.snap`;
}

/** A UC16/18 assertion file name: `model`, or the short primary key joined by "," and the type. */
export function assertionFileName(a: Assertion): string {
  if (a.type === 'model') return 'model';
  return `${a.shortPrimaryKey.join(',')}.${a.type}`;
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** seed.yaml (UC16/18): snapd/core first, then kernel, base, gadget, then the others. */
export function seedYaml(snaps: readonly SeedSnap[]): string {
  const entries = snaps.map((s) => {
    // Key order as snapd's seed.yaml writer (seed/internal Snap16).
    const e: Record<string, unknown> = { name: s.plan.name };
    if (isAsserted(s)) {
      e['snap-id'] = s.snapId;
      e['channel'] = s.plan.seedChannel;
    }
    if (s.devmode) e['devmode'] = true;
    if (s.classic) e['classic'] = true;
    if (s.contact) e['contact'] = s.contact;
    if (!isAsserted(s)) e['unasserted'] = true;
    e['file'] = basename(snapPath(false, '', s));
    return e;
  });
  return stringify({ snaps: entries }, { indentSeq: false });
}

/** options.yaml (UC20+, grade dangerous): overridden channels, unasserted and extra snaps; undefined when none. */
export function optionsYaml(label: string, snaps: readonly SeedSnap[]): string | undefined {
  const entries: Record<string, unknown>[] = [];
  for (const s of snaps) {
    const unasserted = !isAsserted(s);
    if (s.plan.inModel && !unasserted && !s.plan.channelOverridden) continue;
    const e: Record<string, unknown> = { name: s.plan.name };
    // An unasserted model snap keeps the model's snap-id (snapd's seedwriter writes it).
    if (!unasserted) e['id'] = s.snapId;
    else if (s.plan.inModel && s.plan.snapId !== '') e['id'] = s.plan.snapId;
    // Model snaps: only an overridden channel; asserted extra snaps: always their channel.
    if (!unasserted && (s.plan.channelOverridden || !s.plan.inModel)) e['channel'] = s.plan.channel;
    if (unasserted) e['unasserted'] = basename(snapPath(true, label, s));
    entries.push(e);
  }
  return entries.length > 0 ? stringify({ snaps: entries }, { indentSeq: false }) : undefined;
}

export interface SeedFile {
  readonly path: string;
  readonly data: Buffer;
  /** A folder (made, even empty; `data` is not written). */
  readonly directory?: boolean;
}

export interface SeedAssertions {
  readonly model: Assertion;
  /** The model's chain: brand account, account-keys, store assertion (trusted ones left out). */
  readonly modelEtc: readonly Assertion[];
  /** Declarations, revisions, accounts and keys of model snaps, not repeating modelEtc. */
  readonly snaps: readonly Assertion[];
  /** The same for extra snaps, not repeating the above. */
  readonly extraSnaps: readonly Assertion[];
}

/** Every non-snap file of the seed: assertions and seed.yaml / options.yaml. */
export function seedFiles(uc20: boolean, label: string, snaps: readonly SeedSnap[], as: SeedAssertions, grade: string | undefined): SeedFile[] {
  const files: SeedFile[] = [];
  if (!uc20) {
    const dir = `${UC16_SEED_DIR}/assertions`;
    const seen = new Set<string>();
    for (const a of [as.model, ...as.modelEtc, ...as.snaps, ...as.extraSnaps]) {
      const name = assertionFileName(a);
      if (seen.has(name)) continue;
      seen.add(name);
      files.push({ path: `${dir}/${name}`, data: a.encode() });
    }
    files.push({ path: `${UC16_SEED_DIR}/seed.yaml`, data: Buffer.from(seedYaml(snaps)) });
    return files;
  }
  checkLabel(label);
  const sys = `${UC20_SEED_DIR}/systems/${label}`;
  files.push({ path: `${sys}/model`, data: as.model.encode() });
  files.push({ path: `${sys}/assertions/model-etc`, data: encodeStream(as.modelEtc) });
  files.push({ path: `${sys}/assertions/snaps`, data: encodeStream(as.snaps) });
  if (as.extraSnaps.length > 0) files.push({ path: `${sys}/assertions/extra-snaps`, data: encodeStream(as.extraSnaps) });
  if (grade === 'dangerous') {
    const opts = optionsYaml(label, snaps);
    if (opts !== undefined) files.push({ path: `${sys}/options.yaml`, data: Buffer.from(opts) });
  }
  const aux = auxInfoJson(snaps);
  if (aux !== undefined) files.push({ path: `${sys}/snaps/aux-info.json`, data: Buffer.from(aux) });
  return files;
}

/** A GRUB environment block: 1024 bytes, a header line, `key=value` lines, `#` padding. */
export function grubEnv(vars: readonly (readonly [string, string])[]): Buffer {
  const text = '# GRUB Environment Block\n' + vars.map(([k, v]) => `${k}=${v}\n`).join('');
  if (text.length > 1024) throw new ImageError('image-output', 'grub environment larger than 1024 bytes');
  return Buffer.from(text.padEnd(1024, '#'), 'latin1');
}

/**
 * Boot files of a grub gadget (protocol doc 7.5; snapd's boot.MakeBootableImage):
 * on core 20+ the seed's EFI/ubuntu/grubenv selects the recovery system in
 * install mode, systems/<label>/grubenv names its kernel, and EFI/ubuntu/grub.cfg
 * is the recovery menu (Snapline's own, grub-recovery.ts); on core 16/18
 * image/boot/grub/grubenv names the kernel and the core/base snap (the gadget's
 * grub.conf becomes image/boot/grub/grub.cfg, build.ts).
 */
export function grubBootFiles(uc20: boolean, label: string, kernel: SeedSnap, base: SeedSnap, modelName: string): SeedFile[] {
  const file = (s: SeedSnap) => basename(snapPath(uc20, label, s));
  // Keys and order as snapd's prepare-image writes them.
  if (uc20) {
    return [
      { path: `${UC20_SEED_DIR}/EFI/ubuntu/grub.cfg`, data: recoveryGrubCfg() },
      { path: `${UC20_SEED_DIR}/EFI/ubuntu/grubenv`, data: grubEnv([['snapd_recovery_mode', 'install'], ['snapd_recovery_system', label]]) },
      {
        path: `${UC20_SEED_DIR}/systems/${label}/grubenv`,
        // The kernel's path from the seed's root (snapd's makeBootable20: filepath.Join("/", Rel(rootdir, KernelPath))):
        // /snaps/... for a store kernel, /systems/<label>/snaps/... for an unasserted one.
        data: grubEnv([['snapd_recovery_kernel', `/${snapPath(true, label, kernel).slice(UC20_SEED_DIR.length + 1)}`], ['snapd_extra_cmdline_args', ''], ['snapd_full_cmdline_args', '']]),
      },
    ];
  }
  return [
    {
      path: 'image/boot/grub/grubenv',
      data: grubEnv([['snap_try_kernel', ''], ['snap_menuentry', modelName], ['snap_core', file(base)], ['snap_kernel', file(kernel)], ['snap_mode', ''], ['snap_try_core', '']]),
    },
  ];
}

/** JSON as Go's encoding/json writes it: HTML-significant characters and line separators escaped. */
function goJson(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** UC20+ `snaps/aux-info.json`: private and contact of asserted snaps that have either, keyed by snap-id (sorted). */
export function auxInfoJson(snaps: readonly SeedSnap[]): string | undefined {
  const entries = snaps.filter((s) => s.snapId !== '' && (s.private || s.contact)).sort((a, b) => (a.snapId < b.snapId ? -1 : a.snapId > b.snapId ? 1 : 0));
  if (entries.length === 0) return undefined;
  const out: Record<string, Record<string, unknown>> = {};
  for (const s of entries) {
    const e: Record<string, unknown> = {};
    if (s.private) e['private'] = true;
    if (s.contact) e['contact'] = s.contact;
    out[s.snapId] = e;
  }
  return goJson(out) + '\n';
}
