// Gadget volume layout for a disk image (snapd gadget/layout.go, ubuntu-image):
// which structures become partitions, their sfdisk types, offsets and sizes in
// sectors, the image size, and which structure receives the seed. Pure: the
// gadget.yaml was parsed (and laid out) by src/snap/gadget-yaml.ts.
import type { GadgetStructure, GadgetVolume, GadgetYaml } from '../snap/index.ts';
import { ImageError } from './errors.ts';

export const SECTOR = 512;
const MIB = 1024 * 1024;
/** Space a GPT needs after the last partition (backup header and table: 33 sectors). */
const GPT_BACKUP = 33 * SECTOR;

export interface PlannedPartition {
  /** 1-based partition number. */
  readonly number: number;
  readonly structure: GadgetStructure;
  /** The sfdisk type: a GUID (gpt) or two hex digits (mbr). */
  readonly type: string;
  readonly start: number;
  readonly size: number;
}

export interface VolumeLayout {
  readonly volume: GadgetVolume;
  /** Image size in bytes. */
  readonly size: number;
  readonly partitions: readonly PlannedPartition[];
  /** Structures without a partition entry (bare, mbr). */
  readonly raw: readonly GadgetStructure[];
}

function partitionType(s: GadgetStructure, schema: 'gpt' | 'mbr'): string {
  const comma = s.type.indexOf(',');
  if (comma !== -1) return schema === 'gpt' ? s.type.slice(comma + 1).toUpperCase() : s.type.slice(0, comma).toUpperCase();
  return s.type.toUpperCase();
}

/** Lays out one volume: partitions in offset order, numbered as sfdisk will number them. */
export function layoutVolume(volume: GadgetVolume): VolumeLayout {
  const sorted = [...volume.structure].sort((a, b) => a.startOffset - b.startOffset);
  const partitions: PlannedPartition[] = [];
  const raw: GadgetStructure[] = [];
  let end = 0;
  for (const s of sorted) {
    const what = `structure ${s.name ? JSON.stringify(s.name) : `#${s.index}`} of volume ${JSON.stringify(volume.name)}`;
    end = Math.max(end, s.startOffset + s.size);
    if (s.type === 'bare' || s.role === 'mbr') {
      raw.push(s);
      continue;
    }
    if (s.startOffset % SECTOR !== 0 || s.size % SECTOR !== 0) throw new ImageError('image-gadget-invalid', `${what}: offset and size must be multiples of ${SECTOR} bytes`);
    if (volume.schema === 'gpt' && s.startOffset < 34 * SECTOR) throw new ImageError('image-gadget-invalid', `${what}: starts inside the GPT header`);
    partitions.push({ number: partitions.length + 1, structure: s, type: partitionType(s, volume.schema), start: s.startOffset, size: s.size });
  }
  if (volume.schema === 'mbr' && partitions.length > 4) throw new ImageError('image-gadget-invalid', `volume ${JSON.stringify(volume.name)}: an MBR holds at most 4 partitions, the gadget has ${partitions.length}`);
  // An MBR entry counts sectors in 32 bits: nothing of an MBR disk may end past 2 TiB.
  const mbrEnd = 2 ** 32 * SECTOR;
  const past = volume.schema === 'mbr' ? partitions.find((p) => p.start + p.size > mbrEnd) : undefined;
  if (past) throw new ImageError('image-gadget-invalid', `structure ${past.structure.name ? JSON.stringify(past.structure.name) : `#${past.structure.index}`} of volume ${JSON.stringify(volume.name)} ends past 2 TiB, beyond what an MBR disk can address`);
  const size = Math.ceil((end + (volume.schema === 'gpt' ? GPT_BACKUP : 0)) / MIB) * MIB;
  return { volume, size, partitions, raw };
}

/** The sfdisk script creating a layout's partition table. */
export function sfdiskScript(layout: VolumeLayout): string {
  const lines = [`label: ${layout.volume.schema === 'gpt' ? 'gpt' : 'dos'}`, 'unit: sectors'];
  if (layout.volume.id !== undefined) lines.push(`label-id: ${layout.volume.id}`);
  lines.push('');
  for (const p of layout.partitions) {
    const parts = [`start=${p.start / SECTOR}`, `size=${p.size / SECTOR}`, `type=${p.type}`];
    if (layout.volume.schema === 'gpt') {
      const name = p.structure.name ?? (p.structure.role === 'system-data' ? 'writable' : undefined); // ubuntu-image's partition.go names an unnamed system-data "writable"
      if (name !== undefined) parts.push(`name="${name.replace(/["\\]/g, '')}"`);
      if (p.structure.id !== undefined) parts.push(`uuid=${p.structure.id}`);
    }
    lines.push(parts.join(', '));
  }
  return lines.join('\n') + '\n';
}

/** The volume and structure that receive the seed: system-seed (UC20+) or system-data (UC16/18). */
export function seedStructure(gadget: GadgetYaml, uc20: boolean): { volume: GadgetVolume; structure: GadgetStructure } {
  const role = uc20 ? 'system-seed' : 'system-data';
  for (const volume of Object.values(gadget.volumes)) {
    for (const structure of volume.structure) if (structure.role === role) return { volume, structure };
  }
  throw new ImageError('image-gadget-invalid', `the gadget has no structure with role ${role} to hold the seed`);
}

/** A volume's `offset-write` pointers, refused when one would land outside its image of `size` bytes. */
export function offsetWritesWithin(volume: GadgetVolume, size: number): { at: number; sector: number }[] {
  const writes = offsetWrites(volume);
  const outside = writes.find((w) => w.at + 4 > size);
  if (outside) throw new ImageError('image-gadget-invalid', `volume ${JSON.stringify(volume.name)}: an offset-write at byte ${outside.at} is outside the image (${size} bytes)`);
  return writes;
}

/**
 * The `offset-write` pointers of a volume (snapd gadget/install offsets): each
 * structure (or raw content) with offset-write gets its own start, in 512-byte
 * sectors, written as a little-endian 32-bit value at the given offset,
 * relative to the named structure's start or to the start of the volume.
 */
export function offsetWrites(volume: GadgetVolume): { at: number; sector: number }[] {
  const start = (name: string): number => {
    if (name === '') return 0;
    const s = volume.structure.find((x) => x.name === name);
    if (!s) throw new ImageError('image-gadget-invalid', `offset-write refers to an unknown structure ${JSON.stringify(name)}`);
    return s.startOffset;
  };
  const out: { at: number; sector: number }[] = [];
  for (const s of volume.structure) {
    if (s.offsetWrite) out.push({ at: start(s.offsetWrite.relativeTo) + s.offsetWrite.offset, sector: Math.floor(s.startOffset / SECTOR) });
    let cursor = s.startOffset;
    for (const c of s.content) {
      if (c.image === undefined) continue;
      const cStart = s.startOffset + (c.offset ?? cursor - s.startOffset);
      if (c.offsetWrite) out.push({ at: start(c.offsetWrite.relativeTo) + c.offsetWrite.offset, sector: Math.floor(cStart / SECTOR) });
      cursor = cStart + (c.size ?? 0);
    }
  }
  return out;
}

/** ubuntu-image's rootfs sizing (internal/statemachine/common_states.go): content × 1.5 (ext4FudgeFactor) + 8 MiB (ext4Padding), in whole sectors. */
export function rootfsSize(contentBytes: number): number {
  return Math.ceil((Math.ceil(contentBytes * 1.5) + 8 * MIB) / SECTOR) * SECTOR;
}

/**
 * The system-data structure grown to hold the rootfs, as ubuntu-image grows
 * it (calculateRootfsSize, raiseStructureSizes): when its declared size is
 * smaller than `rootfsSize(rootfsBytes)` (the rootfs is the UC16/18
 * system-data tree, or on core 20+ the seed), it gets that size. Grown only
 * into free space: a structure placed after it that it would then overlap
 * is refused, both named.
 */
export function withRootfsRoom(gadget: GadgetYaml, rootfsBytes: number): GadgetYaml {
  const needed = rootfsSize(rootfsBytes);
  let changed = false;
  const volumes: Record<string, GadgetVolume> = {};
  for (const [key, volume] of Object.entries(gadget.volumes)) {
    const data = volume.structure.find((s) => s.role === 'system-data');
    if (!data || data.size >= needed) {
      volumes[key] = volume;
      continue;
    }
    const end = data.startOffset + needed;
    const after = volume.structure.find((s) => s !== data && s.startOffset >= data.startOffset + data.size && s.startOffset < end);
    const name = (s: GadgetStructure) => JSON.stringify(s.name ?? s.label ?? `#${s.index}`);
    if (after) {
      throw new ImageError('image-gadget-invalid', `structure ${name(data)} of volume ${JSON.stringify(volume.name)} (system-data) is ${data.size} bytes, but the rootfs needs ${needed}, and structure ${name(after)} after it leaves no room to grow it`);
    }
    volumes[key] = { ...volume, structure: volume.structure.map((s) => (s === data ? { ...s, size: needed } : s)) };
    changed = true;
  }
  return changed ? { ...gadget, volumes } : gadget;
}

/**
 * A UC16/18 gadget that declares no system-data structure (Canonical's pc
 * gadget for core18 declares none) gets the implicit `writable` partition as
 * ubuntu-image adds it (fixMissingSystemData, internal/statemachine/
 * state_machine.go): only for a gadget with a single volume, appended after
 * the farthest structure (no gap), ext4, label `writable`, type
 * 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4, role system-data, no name (the
 * partition table names it "writable"), sized to hold the rootfs
 * (`rootfsSize`). Anything else is returned as is.
 */
export function withImplicitSystemData(gadget: GadgetYaml, rootfsBytes: number): GadgetYaml {
  const volumes = Object.entries(gadget.volumes);
  if (volumes.length !== 1) return gadget;
  const [key, volume] = volumes[0]!;
  if (volume.structure.some((s) => s.role === 'system-data')) return gadget;
  const farthest = Math.max(0, ...volume.structure.map((s) => s.startOffset + s.size));
  const writable: GadgetStructure = {
    index: volume.structure.length,
    label: 'writable',
    type: '83,0FC63DAF-8483-4772-8E79-3D69D8477DE4',
    role: 'system-data',
    startOffset: farthest,
    size: rootfsSize(rootfsBytes),
    filesystem: 'ext4',
    content: [],
    update: { edition: 0, preserve: [] },
  };
  return { ...gadget, volumes: { [key]: { ...volume, structure: [...volume.structure, writable] } } };
}
