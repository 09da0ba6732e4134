// Shared fixtures of the store tests: small snaps packed once per process,
// a brand with a registered key, stores, and a device identity.
import { mkdtemp, mkdir, writeFile, chmod, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccountKeyRequest, formatTimestamp, sign, type Assertion } from '../../src/assertions/index.ts';
import { ModelType, SerialType, DeviceSessionRequestType } from '../../src/assertions/index.ts';
import { packSnap } from '../../src/snap/index.ts';
import { storePlugin } from '../../src/store/index.ts';
import { startTestServer, TEST_ADMIN_TOKEN, TEST_ROOT_ID, type TestServer } from '../helpers/server.ts';
import { vectorKey } from '../helpers/vectors.ts';
import type { DatabaseEngine } from '../../src/platform/db/index.ts';
import type { Service } from '../../src/platform/services.ts';

export { TEST_ADMIN_TOKEN, TEST_ROOT_ID };

const GADGET_YAML = `volumes:
  pc:
    bootloader: grub
    schema: gpt
    structure:
      - name: ubuntu-data
        role: system-data
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 100M
`;

export interface PackedSnap {
  name: string;
  file: string;
  bytes: Buffer;
}

let packed: Promise<Map<string, PackedSnap>> | undefined;
let packDir: string | undefined;

/** Packs a snap from snap.yaml text (plus optional files) into a temp dir. */
export async function packYaml(dir: string, id: string, yaml: string, extra: Record<string, string> = {}): Promise<PackedSnap> {
  const src = join(dir, `src-${id}`);
  await mkdir(join(src, 'meta'), { recursive: true });
  await writeFile(join(src, 'meta/snap.yaml'), yaml);
  for (const [path, content] of Object.entries(extra)) {
    await mkdir(join(src, path, '..'), { recursive: true });
    await writeFile(join(src, path), content);
    if (path.startsWith('bin/') || path.startsWith('meta/hooks/')) await chmod(join(src, path), 0o755);
  }
  const res = await packSnap(src, { output: join(dir, `${id}.snap`), mtime: 1_700_000_000, xzPreset: 0 });
  return { name: res.snapYaml.name, file: res.path, bytes: await readFile(res.path) };
}

/** The snaps of the must-work scenario, packed once per test process. */
export function testSnaps(): Promise<Map<string, PackedSnap>> {
  packed ??= (async () => {
    packDir = await mkdtemp(join(tmpdir(), 'snapline-store-snaps-'));
    process.once('exit', () => void rm(packDir!, { recursive: true, force: true }));
    const list = await Promise.all([
      packYaml(packDir, 'core20', 'name: core20\nversion: "20"\ntype: base\n'),
      packYaml(packDir, 'acme-gadget', 'name: acme-gadget\nversion: "1.0"\ntype: gadget\nbase: core20\narchitectures: [amd64]\n', { 'meta/gadget.yaml': GADGET_YAML }),
      packYaml(packDir, 'acme-kernel', 'name: acme-kernel\nversion: "5.15"\ntype: kernel\narchitectures: [amd64]\n'),
      packYaml(packDir, 'acme-app', 'name: acme-app\nversion: "1.0"\nbase: core20\nsummary: an app\napps:\n  hello:\n    command: bin/hello\n', { 'bin/hello': '#!/bin/sh\necho hi\n' }),
      packYaml(packDir, 'acme-app-2', 'name: acme-app\nversion: "2.0"\nbase: core20\nsummary: an app\napps:\n  hello:\n    command: bin/hello\n', { 'bin/hello': '#!/bin/sh\necho hi 2\n' }),
      packYaml(packDir, 'other-app', 'name: other-app\nversion: "1.0"\nbase: core20\n'),
    ]);
    return new Map(list.map((p, i) => [['core20', 'acme-gadget', 'acme-kernel', 'acme-app', 'acme-app-2', 'other-app'][i]!, p]));
  })();
  return packed;
}

export const KEY_SINCE = new Date('2020-01-01T00:00:00Z');

/** A server with the store, account "acme" (brand key = the vectors' brand key), and a store per brand. */
export async function storeWorld(engine: DatabaseEngine, opts: { listen?: boolean; now?: () => Date; services?: readonly Service[] } = {}): Promise<TestServer> {
  const s = await startTestServer(engine, { services: opts.services ?? [storePlugin], ...(opts.listen ? { listen: true } : {}), ...(opts.now ? { now: opts.now } : {}) });
  try {
    const admin = TEST_ADMIN_TOKEN;
    for (const id of ['acme', 'other']) await expectStatus(s.request('POST', '/api/accounts', { token: admin, body: { accountId: id } }), 201);
    const akr = createAccountKeyRequest({ key: vectorKey('brand'), accountId: 'acme', name: 'models', since: KEY_SINCE });
    await expectStatus(s.request('POST', '/api/accounts/acme/account-keys', { token: admin, body: { accountKeyRequest: akr.toString() } }), 201);
    await expectStatus(s.request('POST', '/api/store/stores', { token: admin, body: { storeId: 'operator-store', brand: TEST_ROOT_ID } }), 201);
    // These tests name the brand stores by header alone, without a device session ('store-id');
    // private-access.test.ts covers the default ('verified') and the store-download credential.
    await expectStatus(s.request('POST', '/api/store/stores', { token: admin, body: { storeId: 'acme-store', brand: 'acme', includes: ['operator-store'], privateAccess: 'store-id' } }), 201);
    await expectStatus(s.request('POST', '/api/store/stores', { token: admin, body: { storeId: 'other-store', brand: 'other', privateAccess: 'store-id' } }), 201);
  } catch (err) {
    await s.close();
    throw err;
  }
  return s;
}

export async function expectStatus<T extends { status: number; body: string }>(p: Promise<T>, status: number): Promise<T> {
  const res = await p;
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${res.body.slice(0, 300)}`);
  return res;
}

export function push(s: TestServer, token: string, name: string, bytes: Buffer, release?: string) {
  return s.request('POST', `/api/store/snaps/${name}/revisions${release ? `?release=${encodeURIComponent(release)}` : ''}`, {
    token,
    payload: bytes,
    headers: { 'content-type': 'application/octet-stream' },
  });
}

/** A signed model of brand acme naming acme-store, and a serial for it signed by the brand key. */
export function deviceIdentity(snapIds: Record<string, string>, now = new Date(), store = 'acme-store'): { model: Assertion; serial: Assertion } {
  const ts = formatTimestamp(new Date(now.getTime() - 60_000));
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
        store,
        snaps: [
          { name: 'acme-gadget', id: snapIds['acme-gadget']!, type: 'gadget', 'default-channel': 'latest/stable' },
          { name: 'acme-kernel', id: snapIds['acme-kernel']!, type: 'kernel', 'default-channel': 'latest/stable' },
          { name: 'core20', id: snapIds['core20']!, type: 'base', 'default-channel': 'latest/stable' },
          { name: 'acme-app', id: snapIds['acme-app']!, type: 'app', 'default-channel': 'latest/stable' },
        ],
        timestamp: ts,
      },
    },
    vectorKey('brand'),
    now,
  );
  return { model, serial: serialFor('box-0001', now) };
}

/** A serial of model acme/box for the vectors' device key, signed by the brand key. */
export function serialFor(serial: string, now = new Date()): Assertion {
  const device = vectorKey('device').publicKey;
  const timestamp = formatTimestamp(new Date(now.getTime() - 60_000));
  return sign(SerialType, { headers: { 'authority-id': 'acme', 'brand-id': 'acme', model: 'box', serial, 'device-key': device.encode(), 'device-key-sha3-384': device.id, timestamp } }, vectorKey('brand'), now);
}

/** A device session of model acme/box (`snapIds`: its snaps' ids) for `serial`, opened as snapd opens one; returns the macaroon. */
export async function openSession(s: TestServer, snapIds: Record<string, string>, serial = 'box-0001', now = new Date()): Promise<string> {
  const { model } = deviceIdentity(snapIds, now);
  const nonce = (await expectStatus(s.request('POST', '/api/v1/snaps/auth/nonces'), 200)).json().nonce as string;
  const body = { 'device-session-request': sessionRequest(nonce, now, serial).toString(), 'serial-assertion': serialFor(serial, now).toString(), 'model-assertion': model.toString() };
  return (await expectStatus(s.request('POST', '/api/v1/snaps/auth/sessions', { body }), 200)).json().macaroon as string;
}

export function sessionRequest(nonce: string, now = new Date(), serial = 'box-0001'): Assertion {
  return sign(DeviceSessionRequestType, { headers: { 'brand-id': 'acme', model: 'box', serial, nonce, timestamp: formatTimestamp(now) } }, vectorKey('device'), now);
}

/**
 * The operator's core20 with revision 1 on stable and revision 2 uploaded but
 * not released (the rollout tests release it); a scratch folder removed, and
 * the server closed, when the test ends.
 */
export async function core20TwoRevisions(s: TestServer, t: { after(fn: () => Promise<void>): void }, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `snapline-${prefix}-`));
  t.after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  const root = TEST_ADMIN_TOKEN;
  await expectStatus(s.request('POST', '/api/store/stores/operator-store/snaps', { token: root, body: { name: 'core20', private: false } }), 201);
  await expectStatus(push(s, root, 'core20', (await packYaml(dir, 'core20-1', 'name: core20\nversion: "20.1"\ntype: base\n')).bytes, 'stable'), 201);
  await expectStatus(push(s, root, 'core20', (await packYaml(dir, 'core20-2', 'name: core20\nversion: "20.2"\ntype: base\n')).bytes), 201);
  return dir;
}
