// Publisher API: every bad input gets a clear error and leaves nothing
// half-stored; roles are checked on the snap's account; a killed upload
// leaves no revision and no blob.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestServer } from '../helpers/server.ts';
import type { StoreOwnTables } from '../../src/store/store.tables.ts';
import { decode } from '../../src/assertions/index.ts';
import { eachEngine } from './engines.ts';
import { expectStatus, push, storeWorld, testSnaps, TEST_ADMIN_TOKEN } from './fixtures.ts';

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) out.push(...(await files(join(dir, e.name))));
    else out.push(join(dir, e.name));
  }
  return out;
}

async function counts(s: TestServer): Promise<{ revisions: number; assertions: number; blobs: number; releases: number }> {
  const db = s.server.ctx.db.kysely.withTables<StoreOwnTables>();
  const n = async (table: 'store_revisions' | 'assertions' | 'store_releases') => Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  return { revisions: await n('store_revisions'), assertions: await n('assertions'), releases: await n('store_releases'), blobs: (await files(join(s.server.ctx.config.dataDir, 'blobs'))).length };
}

eachEngine('bad publisher input gets a clear error and leaves nothing half-stored', async (engine, t) => {
  const s = await storeWorld(engine);
  t.after(() => s.close());
  const snaps = await testSnaps();
  const pub = await s.tokenFor(['publisher'], 'acme');
  const viewer = await s.tokenFor(['viewer'], 'acme');
  const otherAdmin = await s.tokenFor(['admin'], 'other');
  await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: pub, body: { name: 'acme-app' } }), 201);
  const before = await counts(s);
  const code = async (p: ReturnType<TestServer['request']>, status: number, c: string) => {
    const res = await p;
    assert.equal(res.status, status, res.body);
    assert.equal(res.json().error.code, c, res.body);
    assert.ok(res.json().error.message.length > 0);
  };
  // Unknown store; bad store id; unknown brand.
  await code(s.request('POST', '/api/store/stores/nope/snaps', { token: TEST_ADMIN_TOKEN, body: { name: 'x1' } }), 404, 'store-not-found');
  await code(s.request('POST', '/api/store/stores', { token: TEST_ADMIN_TOKEN, body: { storeId: 'bad store', brand: 'acme' } }), 400, 'validation-failed');
  await code(s.request('POST', '/api/store/stores', { token: TEST_ADMIN_TOKEN, body: { storeId: 'new-store', brand: 'ghost' } }), 404, 'account-not-found');
  await code(s.request('POST', '/api/store/stores', { token: TEST_ADMIN_TOKEN, body: { storeId: 'new-store', brand: 'acme', includes: ['ghost-store'] } }), 404, 'store-not-found');
  await code(s.request('POST', '/api/store/stores', { token: TEST_ADMIN_TOKEN, body: { storeId: 'acme-store', brand: 'acme' } }), 409, 'store-exists');
  // Names: invalid, taken, reserved base snap ids.
  await code(s.request('POST', '/api/store/stores/acme-store/snaps', { token: pub, body: { name: 'Bad_Name' } }), 400, 'validation-failed');
  await code(s.request('POST', '/api/store/stores/acme-store/snaps', { token: pub, body: { name: 'acme-app' } }), 409, 'snap-name-registered');
  await code(s.request('POST', '/api/store/stores/acme-store/snaps', { token: pub, body: { name: 'core22' } }), 403, 'snap-name-reserved');
  await code(s.request('POST', '/api/store/stores/acme-store/snaps', { token: pub, body: { name: 'x-app', publisher: 'other' } }), 403, 'forbidden');
  // Uploads: malformed, wrong name, too large, bad release channel.
  await code(push(s, pub, 'acme-app', Buffer.alloc(8192, 1)), 400, 'snap-invalid');
  await code(push(s, pub, 'acme-app', Buffer.concat([snaps.get('acme-app')!.bytes.subarray(0, 100), Buffer.alloc(3996)])), 400, 'snap-invalid');
  await code(push(s, pub, 'acme-app', snaps.get('other-app')!.bytes), 400, 'snap-name-mismatch');
  await code(push(s, pub, 'acme-app', snaps.get('acme-app')!.bytes, 'stable,nope/x/y/z'), 400, 'invalid-channel');
  await code(push(s, pub, 'acme-app', snaps.get('acme-app')!.bytes, 'latest/unstable'), 400, 'invalid-channel');
  const limits = s.server.ctx.config.limits as { uploadBytes: number };
  const saved = limits.uploadBytes;
  limits.uploadBytes = 4096;
  await code(push(s, pub, 'acme-app', Buffer.alloc(64 * 1024)), 413, 'payload-too-large');
  limits.uploadBytes = saved;
  // Roles on the snap's account.
  assert.equal((await push(s, viewer, 'acme-app', snaps.get('acme-app')!.bytes)).status, 403);
  assert.equal((await push(s, otherAdmin, 'acme-app', snaps.get('acme-app')!.bytes)).status, 403);
  assert.equal((await push(s, pub, 'no-such-snap', snaps.get('acme-app')!.bytes)).status, 403, 'unknown snaps look the same as foreign ones');
  assert.deepEqual(await counts(s), { ...before }, 'nothing stored by refused requests');

  // A good upload; then bad releases and closes.
  const up = (await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app')!.bytes), 201)).json();
  assert.deepEqual(up.revision.architectures, ['all']);
  await code(push(s, pub, 'acme-app', snaps.get('acme-app')!.bytes), 409, 'revision-exists');
  await code(s.request('POST', '/api/store/snaps/acme-app/releases', { token: pub, body: { revision: 9, channels: ['stable'] } }), 404, 'revision-not-found');
  await code(s.request('POST', '/api/store/snaps/acme-app/releases', { token: pub, body: { revision: 0, channels: ['stable'] } }), 400, 'validation-failed');
  await code(s.request('POST', '/api/store/snaps/acme-app/releases', { token: pub, body: { revision: 1, channels: ['stable', 'edge//x'] } }), 400, 'invalid-channel');
  await code(s.request('POST', '/api/store/snaps/acme-app/close', { token: pub, body: { channels: ['bogus/risk/x/y'] } }), 400, 'invalid-channel');
  assert.equal((await counts(s)).releases, 0, 'a refused release releases nothing');
  // Releases with branches, tracks and progressive percentage; revisions list.
  const rel = (await expectStatus(s.request('POST', '/api/store/snaps/acme-app/releases', { token: pub, body: { revision: 1, channels: ['2.0/beta', 'stable/hotfix'], progressivePercentage: 30 } }), 200)).json();
  assert.deepEqual(rel.released, ['2.0/beta', 'latest/stable/hotfix']);
  const branch = rel.channelMap.find((r: { channel: string }) => r.channel === 'latest/stable/hotfix');
  assert.equal(branch.revision, 1);
  assert.equal(branch.progressivePercentage, 30);
  assert.ok(new Date(branch.expiresAt).getTime() - Date.now() > 29 * 24 * 3600_000);
  const revs = (await expectStatus(s.request('GET', '/api/store/snaps/acme-app/revisions', { token: viewer }), 200)).json();
  assert.equal(revs.revisions.length, 1);
  assert.deepEqual(revs.revisions[0].channels.sort(), ['all:2.0/beta', 'all:latest/stable/hotfix']);
  assert.equal(revs.revisions[0].sha3_384.length, 96);
});

eachEngine('a killed or oversized streamed upload leaves no revision and no blob', async (engine, t) => {
  const s = await storeWorld(engine, { listen: true });
  t.after(() => s.close());
  const snaps = await testSnaps();
  const pub = await s.tokenFor(['publisher'], 'acme');
  await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: pub, body: { name: 'acme-app' } }), 201);
  const before = await counts(s);
  const url = new URL(`${s.server.url}/api/store/snaps/acme-app/revisions`);
  const bytes = snaps.get('acme-app')!.bytes;

  // Killed half-way: the client dies after sending half of what it announced.
  await new Promise<void>((resolve) => {
    const req = httpRequest(url, { method: 'POST', headers: { authorization: `Bearer ${pub}`, 'content-type': 'application/octet-stream', 'content-length': String(bytes.length * 4) } });
    req.on('error', () => resolve());
    req.on('response', () => resolve());
    req.write(bytes.subarray(0, bytes.length / 2), () => setTimeout(() => req.destroy(), 50));
    setTimeout(resolve, 2000);
  });
  // Streamed without a length, past the limit.
  const limits = s.server.ctx.config.limits as { uploadBytes: number };
  limits.uploadBytes = 4096;
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { authorization: `Bearer ${pub}`, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' } });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.write(bytes);
    req.end(Buffer.alloc(8192));
  });
  assert.equal(status, 413);
  for (let i = 0; i < 50; i++) {
    const c = await counts(s);
    if (c.blobs === before.blobs) break;
    await sleep(20);
  }
  assert.deepEqual(await counts(s), before, 'no revision, assertion or blob (not even a temporary file) is left');
});

eachEngine('collaborators: another account may push and release, as developer, until removed', async (engine, t) => {
  const s = await storeWorld(engine);
  t.after(() => s.close());
  const snaps = await testSnaps();
  const acmeAdmin = await s.tokenFor(['admin'], 'acme');
  const otherPub = await s.tokenFor(['publisher'], 'other');
  const otherAdmin = await s.tokenFor(['admin'], 'other');
  await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: acmeAdmin, body: { name: 'acme-app' } }), 201);
  assert.equal((await push(s, otherPub, 'acme-app', snaps.get('acme-app')!.bytes)).status, 403);
  // Only the publisher's admins add collaborators.
  assert.equal((await s.request('POST', '/api/store/snaps/acme-app/collaborators', { token: otherAdmin, body: { account: 'other' } })).status, 403);
  assert.equal((await s.request('POST', '/api/store/snaps/acme-app/collaborators', { token: acmeAdmin, body: { account: 'ghost' } })).status, 404);
  const added = (await expectStatus(s.request('POST', '/api/store/snaps/acme-app/collaborators', { token: acmeAdmin, body: { account: 'other' } }), 200)).json();
  assert.deepEqual(added.collaborators, ['other']);
  const up = (await expectStatus(push(s, otherPub, 'acme-app', snaps.get('acme-app')!.bytes, 'edge'), 201)).json();
  const rev = decode(up.assertion);
  assert.equal(rev.headerString('developer-id'), 'other', 'the collaborator is the developer of its revision');
  await expectStatus(s.request('POST', '/api/store/snaps/acme-app/releases', { token: otherPub, body: { revision: 1, channels: ['stable'] } }), 200);
  assert.equal((await s.request('POST', '/api/store/snaps/acme-app/collaborators', { token: otherAdmin, body: { account: 'other' } })).status, 403, 'a collaborator cannot add collaborators');
  const status = (await expectStatus(s.request('GET', '/api/store/snaps/acme-app', { token: otherPub }), 200)).json();
  assert.deepEqual(status.collaborators, ['other']);
  await expectStatus(s.request('DELETE', '/api/store/snaps/acme-app/collaborators/other', { token: acmeAdmin }), 200);
  assert.equal((await s.request('POST', '/api/store/snaps/acme-app/releases', { token: otherPub, body: { revision: 1, channels: ['beta'] } })).status, 403);
  assert.equal((await s.request('DELETE', '/api/store/snaps/acme-app/collaborators/other', { token: acmeAdmin })).status, 404);
});
