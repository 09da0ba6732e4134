// The lk (Android "little kernel") boot environment as snapd keeps it
// (bootloader/lkenv): a fixed C structure, little-endian, shared with the
// bootloader. A signature and a version (u32 each), fixed 256-byte
// NUL-terminated string fields and boot image matrices (rows of [partition
// label, value]), and a CRC-32 (IEEE) of everything before it, last.
//   v1           (core 16/18, snapbootsel.bin): snap_mode, snap_core, ..., the
//                kernel matrix (2 rows: partition label, kernel snap file);
//   v2 recovery  (core 20+, snaprecoverysel.bin): snapd_recovery_mode,
//                snapd_recovery_system, the recovery system matrix (10 rows:
//                partition label, recovery system label).
// The gadget ships the environment (lk.conf) with the partition labels set;
// the image writer fills in values. Strings are written as snapd's copyString
// writes them: the bytes and one NUL, the rest of the field left as it was,
// so an environment read and written again is the same bytes. Pure; written
// by hand: no npm package knows this structure.
import { crc32 } from 'node:zlib';
import { ImageError } from './errors.ts';

const FIELD = 256;
const SIGNATURE = 0x53 | (0x42 << 8) | (0x73 << 16) | (0x65 << 24);
const RECOVERY_SIGNATURE = 0x53 | (0x52 << 8) | (0x73 << 16) | (0x65 << 24);
const VERSION_V1 = 0x00010001;
const VERSION_V2 = 0x00010010;
export const DEFAULT_BOOT_IMAGE = 'boot.img';

export type LkVersion = 'v1' | 'v2-recovery';

interface Layout {
  readonly signature: number;
  readonly version: number;
  /** Named string fields, by field index (after the two u32). */
  readonly strings: Readonly<Record<string, number>>;
  /** The boot image matrix: first field index, rows. */
  readonly matrix: { readonly at: number; readonly rows: number };
  /** Fields in all (strings, matrices, unused keys, key-value pairs). */
  readonly fields: number;
}

const LAYOUTS: Record<LkVersion, Layout> = {
  // snap_mode .. reboot_reason (9), bootimg matrix 2×2, bootimg_file_name, gadget asset matrix 2×2, 20 unused, 10×2 pairs.
  v1: {
    signature: SIGNATURE,
    version: VERSION_V1,
    strings: { snap_mode: 0, snap_core: 1, snap_try_core: 2, snap_kernel: 3, snap_try_kernel: 4, gadget_mode: 5, snap_gadget: 6, snap_try_gadget: 7, reboot_reason: 8, bootimg_file_name: 13 },
    matrix: { at: 9, rows: 2 },
    fields: 9 + 4 + 1 + 4 + 20 + 20,
  },
  // snapd_recovery_mode, snapd_recovery_system, bootimg matrix 10×2, bootimg_file_name, try_recovery_system, recovery_system_status, 18 unused, 10×2 pairs.
  'v2-recovery': {
    signature: RECOVERY_SIGNATURE,
    version: VERSION_V2,
    strings: { snapd_recovery_mode: 0, snapd_recovery_system: 1, bootimg_file_name: 22, try_recovery_system: 23, recovery_system_status: 24 },
    matrix: { at: 2, rows: 10 },
    fields: 2 + 20 + 3 + 18 + 20,
  },
};

/** The structure's size in bytes. */
export function lkEnvSize(version: LkVersion): number {
  return 8 + LAYOUTS[version].fields * FIELD + 4;
}

export class LkEnv {
  private constructor(
    readonly version: LkVersion,
    /** The file's bytes: the structure, then whatever followed it in the file (kept). */
    private readonly bytes: Buffer,
  ) {}

  /** A new environment with these boot image partitions (as a gadget's lk.conf is made). */
  static create(version: LkVersion, partitions: readonly string[]): LkEnv {
    const layout = LAYOUTS[version];
    if (partitions.length < 1 || partitions.length > layout.matrix.rows) throw new ImageError('image-gadget-invalid', `an lk ${version} environment has 1 to ${layout.matrix.rows} boot image partitions, not ${partitions.length}`);
    const env = new LkEnv(version, Buffer.alloc(lkEnvSize(version)));
    env.bytes.writeUInt32LE(layout.signature >>> 0, 0);
    env.bytes.writeUInt32LE(layout.version, 4);
    partitions.forEach((p, row) => env.write(env.matrixField(row, 0), p));
    return env;
  }

  /** Reads an environment file as snapd loads it: version, signature and CRC checked. */
  static parse(file: Buffer, version: LkVersion, what: string): LkEnv {
    const layout = LAYOUTS[version];
    const size = lkEnvSize(version);
    if (file.length < size) throw new ImageError('image-gadget-invalid', `${what}: ${file.length} bytes, shorter than an lk ${version} environment (${size})`);
    const got = { version: file.readUInt32LE(4), signature: file.readUInt32LE(0) };
    const hex = (n: number) => `0x${n.toString(16).toUpperCase()}`;
    if (got.version !== layout.version) throw new ImageError('image-gadget-invalid', `${what}: not an lk ${version} environment: version ${hex(got.version)}, expected ${hex(layout.version)}`);
    if (got.signature !== layout.signature >>> 0) throw new ImageError('image-gadget-invalid', `${what}: not an lk ${version} environment: signature ${hex(got.signature)}, expected ${hex(layout.signature >>> 0)}`);
    const crc = crc32(file.subarray(0, size - 4));
    if (crc !== file.readUInt32LE(size - 4)) throw new ImageError('image-gadget-invalid', `${what}: bad checksum ${hex(file.readUInt32LE(size - 4))}, expected ${hex(crc)}`);
    return new LkEnv(version, Buffer.from(file));
  }

  /** The file's bytes with the checksum made again. */
  toBuffer(): Buffer {
    const size = lkEnvSize(this.version);
    const out = Buffer.from(this.bytes);
    out.writeUInt32LE(crc32(out.subarray(0, size - 4)), size - 4);
    return out;
  }

  get(key: string): string {
    const i = LAYOUTS[this.version].strings[key];
    return i === undefined ? '' : this.read(8 + i * FIELD);
  }

  /** Sets a variable the structure has (others are ignored, as snapd ignores them), when it changes. */
  set(key: string, value: string): void {
    const i = LAYOUTS[this.version].strings[key];
    if (i !== undefined && this.get(key) !== value) this.write(8 + i * FIELD, value);
  }

  /** The boot image file to take from the kernel snap. */
  bootImageName(): string {
    return this.get('bootimg_file_name') || DEFAULT_BOOT_IMAGE;
  }

  /** [partition, value] of every matrix row with a partition label. */
  rows(): [string, string][] {
    const out: [string, string][] = [];
    for (let row = 0; row < LAYOUTS[this.version].matrix.rows; row++) {
      const label = this.read(this.matrixField(row, 0));
      if (label !== '') out.push([label, this.read(this.matrixField(row, 1))]);
    }
    return out;
  }

  /**
   * snapd's findFreeBootPartition: the first labelled row already holding
   * `value`, else the first whose value is not reserved.
   */
  freePartition(reserved: readonly string[], value: string): string {
    for (const [label, v] of this.rows()) {
      if (v === value || !reserved.includes(v)) return label;
    }
    throw new ImageError('image-gadget-invalid', 'the lk environment has no free boot image partition');
  }

  setPartitionValue(partition: string, value: string): void {
    for (let row = 0; row < LAYOUTS[this.version].matrix.rows; row++) {
      if (this.read(this.matrixField(row, 0)) === partition) return this.write(this.matrixField(row, 1), value);
    }
    throw new ImageError('image-gadget-invalid', `the lk environment has no boot image partition ${partition}`);
  }

  private matrixField(row: number, column: 0 | 1): number {
    return 8 + (LAYOUTS[this.version].matrix.at + row * 2 + column) * FIELD;
  }

  /** snapd's cToGoString: up to the first NUL; a field without one reads as empty. */
  private read(at: number): string {
    const field = this.bytes.subarray(at, at + FIELD);
    const end = field.indexOf(0);
    return end >= 0 ? field.subarray(0, end).toString('utf8') : '';
  }

  /** snapd's copyString: the bytes (at most 255) and a NUL; the rest of the field is left as it was. */
  private write(at: number, value: string): void {
    const bytes = Buffer.from(value, 'utf8').subarray(0, FIELD - 1);
    bytes.copy(this.bytes, at);
    this.bytes[at + bytes.length] = 0;
  }
}
