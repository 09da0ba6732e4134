// The world the browser tests drive: a real server on 127.0.0.1 (ephemeral
// port, temporary data) with the store, the vault and the console built from
// the current sources; brand acme with its store, a vault key, model and
// factory API key, two registered devices (one with a store session), and
// users with passwords: alice (admin and publisher of acme), victor (viewer
// of acme) and carol (approver of acme).
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { storePlugin } from '../../src/store/index.ts';
import { vaultService } from '../../src/vault/index.ts';
import { createConsoleService } from '../../src/console/server/console.plugin.ts';
import type { TestServer } from '../helpers/server.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { expectStatus, openSession, packYaml, storeWorld, TEST_ADMIN_TOKEN } from '../store/fixtures.ts';
import { modelAssertion, register, type TestVault } from '../vault/helpers.ts';

export const USERS = {
  alice: { password: 'alice-password-1', roles: ['admin', 'publisher'] },
  victor: { password: 'victor-password-1', roles: ['viewer'] },
  carol: { password: 'carol-password-1', roles: ['approver'] },
} as const;

/** Session ids of the well-known snaps a model names (a device session needs none of them released). */
const FAKE_IDS = { 'acme-gadget': 'g'.repeat(32), 'acme-kernel': 'k'.repeat(32), core20: 'DLqre5XGLbDqg9jPtiAhRRjDuPVa5X1q', 'acme-app': 'a'.repeat(32) };

export interface ConsoleWorld {
  s: TestServer;
  url: string;
  /** The model assertion of acme/box, signed by the brand key (to paste into the verifier). */
  model: string;
  /** Uploads a revision of snap `name` (version `version`) through the API, as `snapline push` would. */
  upload(name: string, version: string): Promise<number>;
  close(): Promise<void>;
}

/** Builds the console from the current sources into a temporary folder (Vite, a few seconds). */
export async function buildConsole(): Promise<{ dir: string; remove(): Promise<void> }> {
  const parent = await mkdtemp(join(tmpdir(), 'snapline-console-'));
  const dir = join(parent, 'console');
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('../../scripts/build-console.js', import.meta.url)), '--outdir', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`console build failed: ${r.stderr}${r.stdout}`);
  return { dir, remove: () => rm(parent, { recursive: true, force: true }) };
}

export async function consoleWorld(): Promise<ConsoleWorld> {
  const build = await buildConsole();
  const s = await storeWorld('sqlite', { services: [storePlugin, vaultService, createConsoleService({ dir: build.dir })], listen: true });
  const packDir = await mkdtemp(join(tmpdir(), 'snapline-console-snaps-'));
  const close = async () => {
    await s.close();
    await build.remove();
    await rm(packDir, { recursive: true, force: true });
  };
  try {
    const admin = TEST_ADMIN_TOKEN;
    const must = async (method: string, url: string, body?: unknown) => (await expectStatus(s.request(method, url, { token: admin, body }), method === 'POST' && !url.includes('/releases') ? 201 : 200)).json();
    for (const [username, u] of Object.entries(USERS)) {
      await must('POST', '/api/users', { username, password: u.password });
      await expectStatus(s.request('PUT', `/api/accounts/acme/members/${username}`, { token: admin, body: { roles: u.roles } }), 200);
    }
    const brandKey = vectorKey('brand');
    await must('POST', '/api/vault/brands/acme/keys', { name: 'serials', pem: brandKey.toPem(), register: false });
    await must('POST', '/api/vault/brands/acme/models', { model: 'box', key: 'serials', serialTemplate: 'box-{counter:4}' });
    const { secret } = await must('POST', '/api/vault/brands/acme/api-keys', { name: 'line-1' });
    const model = modelAssertion(brandKey, 'box');
    const vault: TestVault = { s, admin, apiKey: secret, brandKey, model, close };
    for (const [key, serial] of [
      ['device', 'box-0001'],
      ['stranger', 'box-0002'],
    ] as const) {
      const r = await register(vault, vectorKey(key), { serial });
      if (r.status !== 200) throw new Error(`registering ${serial}: ${r.status} ${r.answer.body}`);
    }
    await openSession(s, FAKE_IDS, 'box-0001');
    let uploads = 0;
    const upload = async (name: string, version: string) => {
      const snap = await packYaml(packDir, `${name}-${++uploads}`, `name: ${name}\nversion: "${version}"\nbase: core20\nsummary: a test snap\n`);
      const r = await expectStatus(
        s.request('POST', `/api/store/snaps/${name}/revisions?store=acme-store`, { token: admin, payload: snap.bytes, headers: { 'content-type': 'application/octet-stream' } }),
        201,
      );
      return r.json().revision.revision as number;
    };
    return { s, url: s.server.url!, model: model.toString(), upload, close };
  } catch (err) {
    await close();
    throw err;
  }
}
