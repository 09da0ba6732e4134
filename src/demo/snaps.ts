// The snaps of the demo, as source folders to pack: the seed's example
// (docs/architecture.md): a gadget whose prepare-device hook names the serial
// vault and sends a factory API key, a kernel, the operator's base snaps, and
// the brand's two apps. Canonical's snapd, core22 and pc-kernel cannot be
// fetched here, so the base and kernel snaps are small stand-ins built locally
// and say so in their summary; they seed and refresh like the real ones, they
// do not boot.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface DemoSnap {
  readonly name: string;
  /** Which store publishes it: the operator's (base snaps) or the brand's (private). */
  readonly store: 'operator' | 'brand';
  readonly modelType: 'gadget' | 'kernel' | 'base' | 'snapd' | 'app';
  readonly files: Readonly<Record<string, string>>;
}

const STAND_IN = 'Snapline demo stand-in, built locally: seeds and refreshes like the real snap, does not boot';

/** gadget.yaml of a UC20+ pc-like gadget: the four roles, small sizes. */
const GADGET_YAML = `volumes:
  pc:
    bootloader: grub
    schema: gpt
    structure:
      - name: ubuntu-seed
        role: system-seed
        filesystem: vfat
        type: EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B
        offset: 2M
        size: 24M
        content:
          - source: grubx64.efi
            target: EFI/boot/grubx64.efi
      - name: ubuntu-boot
        role: system-boot
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 4M
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

/** The gadget's prepare-device hook, as a brand writes it: where the vault is and the factory's API key. */
export function prepareDeviceHook(vaultUrl: string, apiKey: string): string {
  return `#!/bin/sh -e
# The factory's first boot: tell snapd where the serial vault is and how to authenticate.
snapctl set device-service.url="${vaultUrl}"
snapctl set device-service.headers='{"api-key": "${apiKey}"}'
snapctl set registration.proposed-serial="acme-device-1"
echo "prepare-device: serial vault ${vaultUrl}"
`;
}

function app(name: string, version: string, summary: string): DemoSnap {
  return {
    name,
    store: 'brand',
    modelType: 'app',
    files: {
      'meta/snap.yaml': `name: ${name}\nversion: "${version}"\nsummary: ${JSON.stringify(summary)}\nbase: core22\napps:\n  ${name}:\n    command: bin/${name}\n    daemon: simple\n`,
      [`bin/${name}`]: `#!/bin/sh\necho "${name} ${version}"\n`,
    },
  };
}

/** acme-dashboard at `version` (the demo releases 1.0, then 1.1 to the fleet). */
export function dashboard(version: string): DemoSnap {
  return app('acme-dashboard', version, 'the device dashboard of the seed example');
}

export function demoSnaps(vaultUrl: string, apiKey: string): DemoSnap[] {
  return [
    { name: 'snapd', store: 'operator', modelType: 'snapd', files: { 'meta/snap.yaml': `name: snapd\nversion: "2.57.6"\ntype: snapd\nsummary: ${JSON.stringify(STAND_IN)}\n` } },
    { name: 'core22', store: 'operator', modelType: 'base', files: { 'meta/snap.yaml': `name: core22\nversion: "22"\ntype: base\nsummary: ${JSON.stringify(STAND_IN)}\n` } },
    {
      name: 'acme-pc',
      store: 'brand',
      modelType: 'gadget',
      files: {
        'meta/snap.yaml': `name: acme-pc\nversion: "1.0"\ntype: gadget\nbase: core22\narchitectures: [amd64]\nsummary: the gadget of acme-device-1\n`,
        'meta/gadget.yaml': GADGET_YAML,
        'grubx64.efi': `${STAND_IN}\n`,
        'meta/hooks/prepare-device': prepareDeviceHook(vaultUrl, apiKey),
      },
    },
    { name: 'acme-kernel', store: 'brand', modelType: 'kernel', files: { 'meta/snap.yaml': `name: acme-kernel\nversion: "6.1"\ntype: kernel\narchitectures: [amd64]\nsummary: ${JSON.stringify(STAND_IN)}\n` } },
    dashboard('1.0'),
    app('acme-control-plane', '1.0', 'the control plane of the seed example'),
  ];
}

/** Writes a snap's source folder under `dir`; hooks and bin/ files are executable. */
export async function writeSnapSource(dir: string, snap: DemoSnap): Promise<void> {
  for (const [path, content] of Object.entries(snap.files)) {
    const file = join(dir, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
    if (path.startsWith('bin/') || path.startsWith('meta/hooks/')) await chmod(file, 0o755);
  }
}
