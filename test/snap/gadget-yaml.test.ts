// gadget.yaml: the pc gadget shape (UC20), defaults, connections, and a table
// of mutations with snapd's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGadgetYaml, parseGadgetQuantity } from '../../src/snap/gadget-yaml.ts';
import { GadgetYamlError } from '../../src/snap/errors.ts';

const PC = `volumes:
  pc:
    schema: gpt
    bootloader: grub
    structure:
      - name: mbr
        type: mbr
        size: 440
        update:
          edition: 1
        content:
          - image: pc-boot.img
      - name: BIOS Boot
        type: DA,21686148-6449-6E6F-744E-656564454649
        size: 1M
        offset: 1M
        offset-write: mbr+92
        content:
          - image: pc-core.img
      - name: ubuntu-seed
        role: system-seed
        filesystem: vfat
        type: EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B
        size: 1200M
        update:
          edition: 2
        content:
          - source: grubx64.efi
            target: EFI/boot/grubx64.efi
          - source: $kernel:dtbs/dtbs/broadcom/
            target: dtbs/
      - name: ubuntu-boot
        role: system-boot
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 750M
      - name: ubuntu-save
        role: system-save
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 16M
      - name: ubuntu-data
        role: system-data
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 1G
defaults:
  system:
    service:
      rsyslog:
        disable: yes
  99T7MUlRhtI3U0QFgl5mXXESAiSwt776:
    refresh.hold: 5
connections:
  - plug: 99T7MUlRhtI3U0QFgl5mXXESAiSwt776:network-control
  - plug: 99T7MUlRhtI3U0QFgl5mXXESAiSwt776:foo
    slot: PMrrV4ml8uWuEUDBT8dSGnKUYbevVhc4:bar
`;

test('the pc gadget (UC20) parses and lays out as snapd does', () => {
  const g = parseGadgetYaml(PC, { model: 'uc20' });
  const pc = g.volumes['pc']!;
  assert.equal(pc.schema, 'gpt');
  assert.equal(pc.bootloader, 'grub');
  assert.deepEqual(
    pc.structure.map((s) => [s.name, s.role, s.label, s.startOffset, s.size]),
    [
      ['mbr', 'mbr', undefined, 0, 440],
      ['BIOS Boot', undefined, undefined, 1 << 20, 1 << 20],
      ['ubuntu-seed', 'system-seed', 'ubuntu-seed', 2 << 20, 1200 << 20],
      ['ubuntu-boot', 'system-boot', 'ubuntu-boot', 1202 << 20, 750 << 20],
      ['ubuntu-save', 'system-save', 'ubuntu-save', 1952 << 20, 16 << 20],
      ['ubuntu-data', 'system-data', 'ubuntu-data', 1968 << 20, 1 << 30],
    ],
  );
  assert.deepEqual(pc.structure[1]!.offsetWrite, { relativeTo: 'mbr', offset: 92 });
  assert.equal(pc.structure[2]!.update.edition, 2);
  assert.equal(pc.structure[2]!.content[1]!.source, '$kernel:dtbs/dtbs/broadcom/');
  assert.deepEqual(g.defaults['system'], { service: { rsyslog: { disable: true } } });
  assert.deepEqual(g.defaults['99T7MUlRhtI3U0QFgl5mXXESAiSwt776'], { 'refresh.hold': 5 });
  assert.deepEqual(g.connections, [
    { plug: { snapId: '99T7MUlRhtI3U0QFgl5mXXESAiSwt776', plug: 'network-control' }, slot: { snapId: 'system', slot: 'network-control' } },
    { plug: { snapId: '99T7MUlRhtI3U0QFgl5mXXESAiSwt776', plug: 'foo' }, slot: { snapId: 'PMrrV4ml8uWuEUDBT8dSGnKUYbevVhc4', slot: 'bar' } },
  ]);
  // Without a model only self-consistency is checked; UC16 refuses the seed.
  assert.ok(parseGadgetYaml(PC));
  assert.throws(() => parseGadgetYaml(PC, { model: 'uc16' }), /model does not support the system-seed role/);
});

test('sizes and offsets: bytes, M, G', () => {
  assert.equal(parseGadgetQuantity('440'), 440);
  assert.equal(parseGadgetQuantity('2M'), 2 << 20);
  assert.equal(parseGadgetQuantity('1G'), 1 << 30);
  assert.throws(() => parseGadgetQuantity('1K'), /invalid suffix "K"/);
  assert.throws(() => parseGadgetQuantity('-1'), /cannot be negative/);
});

const INVALID: [string, string, RegExp][] = [
  ['    bootloader: grub\n', '', /bootloader not declared in any volume/],
  ['bootloader: grub', 'bootloader: syslinux', /bootloader must be one of grub, u-boot, android-boot, piboot or lk/],
  ['  pc:\n', '  -pc:\n', /invalid volume "-pc": invalid name/],
  ['schema: gpt', 'schema: apm', /invalid volume "pc": invalid schema "apm"/],
  ['        size: 440', '        size: 447', /mbr structures cannot be larger than 446 bytes/],
  ['        size: 750M', '', /invalid structure #3 \("ubuntu-boot"\): missing size/],
  ['        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        size: 750M', '        type: 0FC63DAF-8483-4772-8E79-3D69D8477DE4X\n        size: 750M', /invalid type .*: invalid format/],
  ['        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        size: 16M', '        type: 83\n        size: 16M', /MBR structure type with non-MBR schema "gpt"/],
  ['role: system-boot', 'role: system-bogus', /invalid role "system-bogus": unsupported role/],
  ['filesystem: ext4\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        size: 750M', 'filesystem: btrfs\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        size: 750M', /invalid filesystem "btrfs"/],
  ['          - image: pc-core.img', '          - source: x\n            target: y', /cannot use non-image content for bare file system/],
  ['          - source: grubx64.efi\n', '          - image: grubx64.efi\n', /cannot use image content for non-bare file system/],
  ['            target: EFI/boot/grubx64.efi\n', '', /missing target/],
  ['offset-write: mbr+92', 'offset-write: nope+92', /refers to an unknown structure "nope"/],
  ['        offset: 1M', '        offset: 100', /overlaps with the preceding structure/],
  ['      - name: ubuntu-boot', '      - name: ubuntu-seed', /structure name "ubuntu-seed" is not unique/],
  ['role: system-save', 'role: system-data', /filesystem label "ubuntu-data" is implied by system-data role but was already set elsewhere/],
  ['        role: system-seed\n', '', /model requires system-seed/],
  ['        role: system-data\n', '        role: system-data\n        filesystem-label: writable\n', /system-data structure must have an implicit label or "ubuntu-data", not "writable"/],
  ['        role: system-boot\n', '        filesystem-label: ubuntu-boot\n', /label "ubuntu-boot" is reserved/],
  ['  system:', '  not-a-snap-id:', /default stanza not keyed by "system" or snap-id: not-a-snap-id/],
  ['  - plug: 99T7MUlRhtI3U0QFgl5mXXESAiSwt776:network-control', '  - plug: network-control', /expected "\(<snap-id>\|system\):name" not "network-control"/],
  ['            target: dtbs/', '            target: dtbs/\n          - source: $kernel:/x\n            target: z', /invalid structure #2 \("ubuntu-seed"\): invalid content #2: cannot use kernel reference "\$kernel:\/x": missing asset name or content in kernel ref "\$kernel:\/x"/],
  ['            target: dtbs/', '            target: dtbs/\n          - source: $kernel:dtbs/a/./\n            target: z', /cannot use kernel reference "\$kernel:dtbs\/a\/\.\/": invalid content in kernel ref/],
  ['volumes:', 'volumes: [\n', /cannot parse gadget metadata/],
];

test('invalid gadget.yaml: snapd rules with snapd-shaped messages', () => {
  for (const [from, to, re] of INVALID) {
    assert.ok(PC.includes(from), `mutation source ${JSON.stringify(from)} is in the example`);
    assert.throws(
      () => parseGadgetYaml(PC.replace(from, to), { model: 'uc20' }),
      (e: unknown) => e instanceof GadgetYamlError && e.code === 'gadget-yaml-invalid' && re.test(e.message),
      `${JSON.stringify(to)} should fail with ${re}`,
    );
  }
});

test('system roles at most once', () => {
  assert.throws(() => parseGadgetYaml(PC.replace('role: system-save', 'role: system-data')), /cannot have more than one partition with system-data role/);
});

test('GUID types need a gpt schema', () => {
  assert.throws(
    () => parseGadgetYaml('volumes:\n  vv:\n    schema: mbr\n    bootloader: u-boot\n    structure:\n      - type: 0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        size: 1M\n'),
    /GUID structure type with non-GPT schema "mbr"/,
  );
});

test('UC16 gadget: system-boot label implies the role, system-data gets "writable"', () => {
  const g = parseGadgetYaml(
    `volumes:
  pc:
    bootloader: grub
    structure:
      - name: system-boot
        filesystem-label: system-boot
        type: C12A7328-F81F-11D2-BA4B-00A0C93EC93B
        filesystem: vfat
        size: 50M
      - name: writable
        role: system-data
        type: 0FC63DAF-8483-4772-8E79-3D69D8477DE4
        filesystem: ext4
        size: 1G
`,
    { model: 'uc16' },
  );
  assert.deepEqual(
    g.volumes['pc']!.structure.map((s) => [s.role, s.label]),
    [
      ['system-boot', 'system-boot'],
      ['system-data', 'writable'],
    ],
  );
  assert.deepEqual(parseGadgetYaml('defaults:\n  system: {a: 1}\n', { classic: true }).volumes, {});
});
