// The world of the device end-to-end tests: one Snapline server (store and
// vault, SQLite or PostgreSQL) on a real port; brand acme with its key, the
// operator's store (core20, snapd) and acme-store (a gadget whose
// prepare-device hook names the vault and sends a factory API key, a kernel,
// an app), all published; the vault holding acme's key, model "box" and an
// API key; a signed core20 model and a seed built from it by the image
// builder. Devices boot from that seed with keys of the vectors.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTimestamp, ModelType, sign, type Assertion, type ModelData } from '../../src/assertions/index.ts';
import { buildImage } from '../../src/image/build.ts';
import type { DatabaseEngine } from '../../src/platform/db/index.ts';
import { storePlugin } from '../../src/store/index.ts';
import { createVaultService } from '../../src/vault/index.ts';
import { TEST_ADMIN_TOKEN, type TestServer } from '../helpers/server.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { expectStatus, packYaml, push, storeWorld, type PackedSnap } from '../store/fixtures.ts';

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
        size: 12M
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

export interface DeviceWorld {
  s: TestServer;
  url: string;
  dir: string;
  /** The image builder's output folder. */
  seed: string;
  trusted: Assertion[];
  model: Assertion<ModelData>;
  ids: Record<string, string>;
  apiKey: string;
  publisher: string;
  /** Packs `name` at `version` (an app of acme) and pushes it to stable; returns the revision. */
  release(name: string, version: string): Promise<number>;
  close(): Promise<void>;
}

/** The gadget's hook, as a brand writes it: the vault URL, the API key header, a proposed serial and a body. */
function hook(url: string, apiKey: string): string {
  return `#!/bin/sh -e
snapctl set device-service.url="${url}/v1/"
snapctl set device-service.headers='{"api-key": "${apiKey}"}'
snapctl set registration.proposed-serial="box-from-hook"
snapctl set registration.body="mac: 00:11:22:33:44:55"
# snapctl get answers what was set
test "$(snapctl get device-service.url)" = "${url}/v1/"
echo "prepare-device done for $SNAP_NAME"
`;
}

export async function deviceWorld(engine: DatabaseEngine): Promise<DeviceWorld> {
  const s = await storeWorld(engine, { services: [storePlugin, createVaultService({})], listen: true });
  const dir = await mkdtemp(join(tmpdir(), 'snapline-device-world-'));
  try {
    const url = s.server.url!.replace(/\/$/, '');
    const admin = TEST_ADMIN_TOKEN;
    const publisher = await s.tokenFor(['publisher'], 'acme');
    // The vault: acme's key (its account-key is already registered), model box, a factory API key.
    await expectStatus(s.request('POST', '/api/vault/brands/acme/keys', { token: admin, body: { name: 'serials', pem: vectorKey('brand').toPem(), register: false } }), 201);
    await expectStatus(s.request('POST', '/api/vault/brands/acme/models', { token: admin, body: { model: 'box', key: 'serials' } }), 201);
    const apiKey = (await expectStatus(s.request('POST', '/api/vault/brands/acme/api-keys', { token: admin, body: { name: 'line-1' } }), 201)).json().secret as string;

    const snaps: Record<string, PackedSnap> = {
      snapd: await packYaml(dir, 'snapd', 'name: snapd\nversion: "2.57"\ntype: snapd\n'),
      core20: await packYaml(dir, 'core20', 'name: core20\nversion: "20"\ntype: base\n'),
      'acme-gadget': await packYaml(dir, 'acme-gadget', 'name: acme-gadget\nversion: "1.0"\ntype: gadget\nbase: core20\narchitectures: [amd64]\n', {
        'meta/gadget.yaml': GADGET_YAML,
        'grubx64.efi': 'GRUB-EFI-20\n',
        'grub.conf': '',
        'meta/hooks/prepare-device': hook(url, apiKey),
      }),
      'acme-kernel': await packYaml(dir, 'acme-kernel', 'name: acme-kernel\nversion: "5.15"\ntype: kernel\narchitectures: [amd64]\n'),
      'acme-app': await packYaml(dir, 'acme-app-1', 'name: acme-app\nversion: "1.0"\nbase: core20\n'),
    };
    const ids: Record<string, string> = {};
    for (const name of ['snapd', 'core20']) {
      ids[name] = (await expectStatus(s.request('POST', '/api/store/stores/operator-store/snaps', { token: admin, body: { name, private: false } }), 201)).json().snap.snapId;
      await expectStatus(push(s, admin, name, snaps[name]!.bytes, 'stable'), 201);
    }
    for (const name of ['acme-gadget', 'acme-kernel', 'acme-app']) {
      ids[name] = (await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: publisher, body: { name } }), 201)).json().snap.snapId;
      await expectStatus(push(s, publisher, name, snaps[name]!.bytes, 'stable'), 201);
    }
    const now = new Date();
    const model = sign(
      ModelType,
      {
        headers: {
          'authority-id': 'acme',
          'brand-id': 'acme',
          series: '16',
          model: 'box',
          architecture: 'amd64',
          base: 'core20',
          grade: 'signed',
          store: 'acme-store',
          snaps: [
            { name: 'acme-gadget', id: ids['acme-gadget']!, type: 'gadget', 'default-channel': 'latest/stable' },
            { name: 'acme-kernel', id: ids['acme-kernel']!, type: 'kernel', 'default-channel': 'latest/stable' },
            { name: 'core20', id: ids['core20']!, type: 'base', 'default-channel': 'latest/stable' },
            { name: 'snapd', id: ids['snapd']!, type: 'snapd', 'default-channel': 'latest/stable' },
            { name: 'acme-app', id: ids['acme-app']!, type: 'app', 'default-channel': 'latest/stable' },
          ],
          timestamp: formatTimestamp(new Date(now.getTime() - 60_000)),
        },
      },
      vectorKey('brand'),
      now,
    ) as Assertion<ModelData>;
    const trusted = s.server.ctx.root.trusted as Assertion[];
    const seed = join(dir, 'image');
    await buildImage({ model: model.encode(), storeUrl: url, out: seed, trusted: [...trusted], label: 'e2e' });
    let versions = 1;
    return {
      s,
      url,
      dir,
      seed,
      trusted: [...trusted],
      model,
      ids,
      apiKey,
      publisher,
      async release(name, version) {
        const p = await packYaml(dir, `${name}-${++versions}`, `name: ${name}\nversion: "${version}"\nbase: core20\n`);
        return (await expectStatus(push(s, publisher, name, p.bytes, 'stable'), 201)).json().revision.revision as number;
      },
      async close() {
        await s.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await s.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
