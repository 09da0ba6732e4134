// Orphan blobs (docs/store.md, Uploads and blobs): a stored blob that no
// revision references is removed after the grace period; a referenced one
// never; a blob stored within the grace period (an upload that has stored
// its file but not committed its revision yet) is kept.
import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { FsBlobStore } from '../../src/platform/blobs/index.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreService, storePlugin } from '../../src/store/index.ts';
import { startTestServer } from '../helpers/server.ts';
import { eachEngine } from './engines.ts';
import { expectStatus, push, storeWorld, testSnaps, TEST_ADMIN_TOKEN } from './fixtures.ts';

const HOUR = 3600_000;

eachEngine('an orphan blob is collected after the grace period, a referenced one never', async (engine, t) => {
  let offset = 0;
  const s = await storeWorld(engine, { now: () => new Date(Date.now() + offset) });
  t.after(() => s.close());
  const snaps = await testSnaps();
  const pub = await s.tokenFor(['publisher'], 'acme');
  await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: pub, body: { name: 'acme-app' } }), 201);
  const rev = (await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app')!.bytes, 'stable'), 201)).json().revision;
  const ctx = s.server.ctx;
  // What an upload killed between storing its file and committing its revision leaves.
  const orphan = await ctx.blobs.put(Readable.from([Buffer.from('stored, never committed')]), { maxSize: 1000 });
  const store = new StoreService(ctx);

  assert.deepEqual(await store.sweepOrphanBlobs(HOUR), { seen: 2, removed: 0 }, 'within the grace period both stay');
  offset = 30 * 60_000;
  assert.equal((await store.sweepOrphanBlobs(HOUR)).removed, 0);
  assert.ok(await ctx.blobs.stat(orphan.sha3_384.hex));

  offset = 2 * HOUR;
  assert.deepEqual(await store.sweepOrphanBlobs(HOUR), { seen: 2, removed: 1 });
  assert.equal(await ctx.blobs.stat(orphan.sha3_384.hex), undefined, 'the orphan is gone');
  assert.ok(await ctx.blobs.stat(rev.sha3_384), 'the revision’s blob stays');

  offset = 1000 * HOUR;
  assert.deepEqual(await store.sweepOrphanBlobs(0), { seen: 1, removed: 0 }, 'a referenced blob is never collected');
  const download = await s.request('GET', `/api/v1/snaps/download/${rev.sha3_384}/acme-app_${rev.revision}.snap`);
  assert.equal(download.status, 200);

  // Stored again after it became an orphan: its grace period starts anew.
  offset = 0;
  const bytes = Buffer.from('stored long ago, again now');
  const old = await ctx.blobs.put(Readable.from([bytes]), { maxSize: 1000 });
  const file = join((ctx.blobs as FsBlobStore).root, 'sha3-384', old.sha3_384.hex.slice(0, 2), old.sha3_384.hex);
  const twoHoursAgo = new Date(Date.now() - 2 * HOUR);
  await utimes(file, twoHoursAgo, twoHoursAgo);
  await ctx.blobs.put(Readable.from([bytes]), { maxSize: 1000 });
  assert.equal((await store.sweepOrphanBlobs(HOUR)).removed, 0);
  assert.ok(await ctx.blobs.stat(old.sha3_384.hex));
  await utimes(file, twoHoursAgo, twoHoursAgo);
  assert.equal((await store.sweepOrphanBlobs(HOUR)).removed, 1);
});

eachEngine('serve sweeps orphan blobs periodically (SNAPLINE_ORPHAN_BLOB_GRACE_MS, SNAPLINE_BLOB_SWEEP_INTERVAL_MS)', async (engine, t) => {
  const s = await startTestServer(engine, { services: [storePlugin], env: { SNAPLINE_ORPHAN_BLOB_GRACE_MS: '1500', SNAPLINE_BLOB_SWEEP_INTERVAL_MS: '100' } });
  t.after(() => s.close());
  assert.deepEqual(s.server.ctx.config.blobs, { orphanGraceMs: 1500, sweepIntervalMs: 100 });
  await expectStatus(s.request('POST', '/api/accounts', { token: TEST_ADMIN_TOKEN, body: { accountId: 'acme' } }), 201);
  await expectStatus(s.request('POST', '/api/store/stores', { token: TEST_ADMIN_TOKEN, body: { storeId: 'acme-store', brand: 'acme' } }), 201);
  await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: TEST_ADMIN_TOKEN, body: { name: 'acme-app' } }), 201);
  const snaps = await testSnaps();
  const rev = (await expectStatus(push(s, TEST_ADMIN_TOKEN, 'acme-app', snaps.get('acme-app')!.bytes), 201)).json().revision;
  const orphan = await s.server.ctx.blobs.put(Readable.from([Buffer.from('orphan')]), { maxSize: 1000 });
  await sleep(500);
  assert.ok(await s.server.ctx.blobs.stat(orphan.sha3_384.hex), 'kept within the grace period');
  const deadline = Date.now() + 10_000;
  while (await s.server.ctx.blobs.stat(orphan.sha3_384.hex)) {
    assert.ok(Date.now() < deadline, 'the periodic sweep removes the orphan');
    await sleep(100);
  }
  assert.ok(await s.server.ctx.blobs.stat(rev.sha3_384));
});
