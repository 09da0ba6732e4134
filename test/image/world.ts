// The image tests' world: small snaps (packed once per process), their
// snap-declarations and snap-revisions signed with the vectors' store key,
// core18 and core20 models signed with the vectors' brand key, and a fake
// store serving all of it.
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ModelType,
  SnapDeclarationType,
  SnapRevisionType,
  WELL_KNOWN_SNAP_IDS,
  decode,
  decodeStream,
  formatTimestamp,
  sign,
  type Assertion,
} from '../../src/assertions/index.ts';
import { packSnap } from '../../src/snap/index.ts';
import { vectorBytes, vectorKey } from '../helpers/vectors.ts';
import { FakeStore, type FakeSnap } from './fake-store.ts';

export const ROOT = 'vectors-root';
export const BRAND = 'vectors-brand';
export const STORE_ID = 'vectors-store';
export const SIGNED_AT = new Date('2025-01-01T00:00:00Z');

export const UC16_GADGET_YAML = `volumes:
  pc:
    bootloader: grub
    schema: gpt
    structure:
      - name: mbr
        type: mbr
        size: 440
        content:
          - image: pc-boot.img
      - name: BIOS Boot
        type: DA,21686148-6E6F-7449-6E6F-744E65656449
        size: 1M
        offset: 1M
        offset-write: mbr+92
        content:
          - image: pc-core.img
      - name: system-boot
        role: system-boot
        filesystem-label: system-boot
        filesystem: vfat
        type: EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B
        size: 4M
        content:
          - source: grubx64.efi
            target: EFI/boot/grubx64.efi
      - name: writable
        role: system-data
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 16M
`;

/** A core18 lk gadget: the environment partition (snapbootsel.bin), boot_a holding boot.img, boot_b, writable. */
export const LK18_GADGET_YAML = `volumes:
  board:
    bootloader: lk
    schema: gpt
    structure:
      - name: snapbootsel
        type: B214D5E4-D442-45E6-B8C6-01BDCD82D396
        size: 131072
        content:
          - image: snapbootsel.bin
      - name: boot_a
        type: 20117F86-E985-4357-B9EE-374BC1D8487D
        size: 1M
        content:
          - image: boot.img
      - name: boot_b
        type: 20117F86-E985-4357-B9EE-374BC1D8487D
        size: 1M
      - name: writable
        role: system-data
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 32M
`;

export const UC20_GADGET_YAML = `volumes:
  pc:
    bootloader: grub
    schema: gpt
    structure:
      - name: mbr
        type: mbr
        size: 440
        content:
          - image: pc-boot.img
      - name: ubuntu-seed
        role: system-seed
        filesystem: vfat
        type: EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B
        offset: 2M
        size: 12M
        content:
          - source: grubx64.efi
            target: EFI/boot/grubx64.efi
      - name: ubuntu-boot
        role: system-boot
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 4M
        content:
          - source: $kernel:dtbs/dtbs/
            target: dtbs/
      - name: ubuntu-save
        role: system-save
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 2M
      - name: ubuntu-data
        role: system-data
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 4M
`;

/** The core20 kernel's assets, which UC20_GADGET_YAML's ubuntu-boot takes with a `$kernel:` reference. */
export const PC_KERNEL20_FILES: Record<string, string> = {
  'meta/kernel.yaml': 'assets:\n  dtbs:\n    update: true\n    content:\n      - dtbs/\n',
  'dtbs/board.dtb': 'DTB-BOARD\n',
  'dtbs/overlays/extra.dtbo': 'DTBO-EXTRA\n',
};

/** A deterministic 32-character snap-id. */
export function snapIdFor(name: string): string {
  return WELL_KNOWN_SNAP_IDS[name] ?? createHash('sha256').update(`snap-id:${name}`).digest('base64').replace(/[^a-zA-Z0-9]/g, '').slice(0, 32);
}

interface SnapSpec {
  name: string;
  type: string;
  yaml: string;
  channels: string[];
  files?: Record<string, string | Buffer>;
  revision?: number;
}

const SPECS: SnapSpec[] = [
  { name: 'snapd', type: 'snapd', yaml: 'name: snapd\nversion: "2.57"\ntype: snapd\n', channels: ['latest/stable'] },
  { name: 'core18', type: 'base', yaml: 'name: core18\nversion: "18"\ntype: base\n', channels: ['latest/stable'] },
  { name: 'core20', type: 'base', yaml: 'name: core20\nversion: "20"\ntype: base\n', channels: ['latest/stable'] },
  { name: 'pc-kernel', type: 'kernel', yaml: 'name: pc-kernel\nversion: "4.15"\ntype: kernel\n', channels: ['18/stable'] },
  {
    name: 'pc-kernel20',
    type: 'kernel',
    yaml: 'name: pc-kernel20\nversion: "5.4"\ntype: kernel\n',
    channels: ['20/stable'],
    files: PC_KERNEL20_FILES,
  },
  {
    name: 'pc',
    type: 'gadget',
    yaml: 'name: pc\nversion: "18"\ntype: gadget\nbase: core18\n',
    channels: ['18/stable'],
    files: { 'meta/gadget.yaml': UC16_GADGET_YAML, 'pc-boot.img': Buffer.alloc(440, 0xeb), 'pc-core.img': Buffer.alloc(8192, 0x5a), 'grubx64.efi': 'GRUB-EFI-18\n', 'grub.conf': '' },
  },
  {
    name: 'pc20',
    type: 'gadget',
    yaml: 'name: pc20\nversion: "20"\ntype: gadget\nbase: core20\n',
    channels: ['20/stable'],
    files: { 'meta/gadget.yaml': UC20_GADGET_YAML, 'pc-boot.img': Buffer.alloc(440, 0xeb), 'grubx64.efi': 'GRUB-EFI-20\n', 'grub.conf': '' },
  },
  { name: 'hello18', type: 'app', yaml: 'name: hello18\nversion: "1.0"\nbase: core18\n', channels: ['latest/stable'] },
  { name: 'hello', type: 'app', yaml: 'name: hello\nversion: "2.1"\nbase: core20\n', channels: ['latest/stable', 'latest/edge'] },
  // Core 16: the core snap carries snapd; gadget and apps without a base.
  { name: 'core', type: 'os', yaml: 'name: core\nversion: "16"\ntype: os\n', channels: ['latest/stable'] },
  {
    name: 'pc16',
    type: 'gadget',
    yaml: 'name: pc16\nversion: "16"\ntype: gadget\n',
    channels: ['16/stable'],
    files: { 'meta/gadget.yaml': UC16_GADGET_YAML, 'pc-boot.img': Buffer.alloc(440, 0xeb), 'pc-core.img': Buffer.alloc(8192, 0x5a), 'grubx64.efi': 'GRUB-EFI-16\n', 'grub.conf': '' },
  },
  { name: 'hello16', type: 'app', yaml: 'name: hello16\nversion: "1.6"\n', channels: ['latest/stable'] },
];

export interface BuiltSnapFile {
  spec: SnapSpec;
  bytes: Buffer;
}

let packed: Promise<Map<string, Buffer>> | undefined;

/** Packs a snap from snap.yaml and files into bytes. */
export async function packBytes(dir: string, id: string, yaml: string, files: Record<string, string | Buffer> = {}): Promise<Buffer> {
  const src = join(dir, `src-${id}`);
  await mkdir(join(src, 'meta'), { recursive: true });
  await writeFile(join(src, 'meta/snap.yaml'), yaml);
  for (const [p, c] of Object.entries(files)) {
    await mkdir(join(src, p, '..'), { recursive: true });
    await writeFile(join(src, p), c);
    if (p.startsWith('bin/')) await chmod(join(src, p), 0o755);
  }
  const res = await packSnap(src, { output: join(dir, `${id}.snap`), mtime: 1_700_000_000, compression: 'gzip' });
  return readFile(res.path);
}

export function packedSnaps(): Promise<Map<string, Buffer>> {
  packed ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'snapline-image-snaps-'));
    try {
      const out = new Map<string, Buffer>();
      for (const s of SPECS) out.set(s.name, await packBytes(dir, s.name, s.yaml, s.files));
      return out;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return packed;
}

export function trustedRoot(): Assertion[] {
  return decodeStream(vectorBytes('trusted-root.assert'));
}

export function declaration(name: string, publisherId = BRAND, snapId = snapIdFor(name)): Assertion {
  return sign(
    SnapDeclarationType,
    { headers: { 'authority-id': ROOT, series: '16', 'snap-id': snapId, 'snap-name': name, 'publisher-id': publisherId, timestamp: formatTimestamp(SIGNED_AT) } },
    vectorKey('store'),
    SIGNED_AT,
  );
}

export function revision(bytes: Buffer, snapId: string, rev: number, developerId = BRAND): Assertion {
  return sign(
    SnapRevisionType,
    {
      headers: {
        'authority-id': ROOT,
        'snap-sha3-384': createHash('sha3-384').update(bytes).digest('base64url'),
        'snap-id': snapId,
        'snap-size': String(bytes.length),
        'snap-revision': String(rev),
        'developer-id': developerId,
        timestamp: formatTimestamp(SIGNED_AT),
      },
    },
    vectorKey('store'),
    SIGNED_AT,
  );
}

export function signModel(headers: Record<string, unknown>, key = vectorKey('brand')): Assertion {
  return sign(ModelType, { headers: { 'authority-id': BRAND, 'brand-id': BRAND, series: '16', architecture: 'amd64', timestamp: formatTimestamp(SIGNED_AT), ...headers } }, key, SIGNED_AT);
}

export function core18Model(extra: Record<string, unknown> = {}): Assertion {
  return signModel({ model: 'img-core18', base: 'core18', gadget: 'pc=18', kernel: 'pc-kernel=18', 'required-snaps': ['hello18'], store: STORE_ID, ...extra });
}

export function core16Model(extra: Record<string, unknown> = {}): Assertion {
  return signModel({ model: 'img-core16', gadget: 'pc16=16', kernel: 'pc-kernel=18', 'required-snaps': ['hello16'], store: STORE_ID, ...extra });
}

export function core20Model(extra: Record<string, unknown> = {}, snaps?: Record<string, unknown>[]): Assertion {
  return signModel({
    model: 'img-core20',
    base: 'core20',
    grade: 'signed',
    store: STORE_ID,
    snaps: snaps ?? [
      { name: 'pc20', id: snapIdFor('pc20'), type: 'gadget', 'default-channel': '20/stable' },
      { name: 'pc-kernel20', id: snapIdFor('pc-kernel20'), type: 'kernel', 'default-channel': '20/stable' },
      { name: 'core20', id: snapIdFor('core20'), type: 'base', 'default-channel': 'latest/stable' },
      { name: 'snapd', id: snapIdFor('snapd'), type: 'snapd', 'default-channel': 'latest/stable' },
      { name: 'hello', id: snapIdFor('hello'), type: 'app', 'default-channel': 'latest/stable' },
    ],
    ...extra,
  });
}

export interface World {
  store: FakeStore;
  snaps: Map<string, Buffer>;
  trusted: Assertion[];
  close(): Promise<void>;
}

/** Starts a fake store with every snap of SPECS and its assertions. */
export async function startWorld(): Promise<World> {
  const snaps = await packedSnaps();
  const fakeSnaps: FakeSnap[] = [];
  const assertions: Assertion[] = [
    decode(vectorBytes('store-key.account-key')),
    decode(vectorBytes('brand.account')),
    decode(vectorBytes('brand.account-key')),
    decode(vectorBytes('store.store')),
    ...trustedRoot(),
  ];
  SPECS.forEach((s, i) => {
    const bytes = snaps.get(s.name)!;
    const id = snapIdFor(s.name);
    const rev = s.revision ?? 10 + i;
    const base = /^base: (\S+)$/m.exec(s.yaml)?.[1];
    fakeSnaps.push({ name: s.name, snapId: id, revision: rev, type: s.type, version: /version: "([^"]+)"/.exec(s.yaml)![1]!, publisherId: BRAND, ...(base ? { base } : {}), bytes, channels: s.channels });
    assertions.push(declaration(s.name), revision(bytes, id, rev));
  });
  const store = await new FakeStore(STORE_ID, fakeSnaps, assertions).start();
  return { store, snaps, trusted: trustedRoot(), close: () => store.close() };
}
