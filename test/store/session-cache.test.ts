// The per-process device-session cache: one read per token at a time, at
// most a second old, re-read ahead of expiry instead of by every request
// (the platform's TtlCache, with the clock given here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionCache, type StoredSession } from '../../src/store/sessions.service.ts';

const STORED: StoredSession = { session: { storeId: 's', brandId: 'b', model: 'm', serial: '1' }, expiresAt: new Date('2099-01-01T00:00:00.000Z') };

function fakeDb() {
  const db = { reads: 0, row: STORED as StoredSession | undefined, release: () => undefined as void, gate: Promise.resolve() };
  const load = async () => {
    db.reads++;
    await db.gate;
    return db.row;
  };
  const hold = () => {
    db.gate = new Promise<void>((r) => (db.release = r));
  };
  return { db, load, hold };
}

/** A cache on a clock the test sets: `at(ms)` reads the token "h" at that time. */
function cacheAt(load: () => Promise<StoredSession | undefined>, ttlMs: number, refreshAheadMs: number) {
  let clock = 0;
  const cache = new SessionCache(load, { ttlMs, refreshAheadMs, now: () => clock });
  return (ms: number) => {
    clock = ms;
    return cache.get('h');
  };
}

test('concurrent requests for one token share one database read', async () => {
  const { db, load, hold } = fakeDb();
  const at = cacheAt(load, 1000, 250);
  hold();
  const all = Promise.all(Array.from({ length: 100 }, () => at(0)));
  db.release();
  assert.equal((await all).every((s) => s === STORED), true);
  assert.equal(db.reads, 1);
  assert.equal(await at(500), STORED);
  assert.equal(db.reads, 1, 'served from the cache inside the second');
});

test('an entry is re-read in the background near its expiry, and dropped when the session is gone', async () => {
  const { db, load } = fakeDb();
  const at = cacheAt(load, 1000, 250);
  await at(0);
  assert.equal(at(800), STORED, 'still served while it is re-read');
  await new Promise((r) => setImmediate(r));
  assert.equal(db.reads, 2);
  assert.equal(at(1500), STORED, 'the re-read entry counts from when it was sent (800 ms)');
  assert.equal(db.reads, 2);
  // The session is deleted: the read after expiry finds nothing, and nothing is cached for it.
  db.row = undefined;
  assert.equal(await at(1800), undefined);
  assert.equal(await at(2700), undefined);
  assert.equal(await at(2710), undefined);
  assert.equal(db.reads, 5, 'unknown tokens are read every time');
});

test('an entry is never served a second after its read was sent', async () => {
  const { db, load } = fakeDb();
  const at = cacheAt(load, 1000, 0);
  await at(0);
  db.row = undefined;
  assert.equal(at(999), STORED);
  assert.equal(await at(1000), undefined);
});
