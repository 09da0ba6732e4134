import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TtlCache } from '../../../src/platform/cache/ttl-cache.ts';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('entries live for their TTL, then are loaded again', async () => {
  const c = clock();
  const cache = new TtlCache<string, number>({ ttlMs: 100, now: c.now });
  let loads = 0;
  const load = async () => ++loads;
  assert.equal(await cache.through('a', load), 1);
  c.advance(99);
  assert.equal(await cache.through('a', load), 1);
  c.advance(1);
  assert.equal(cache.get('a'), undefined);
  assert.equal(await cache.through('a', load), 2);
});

test('concurrent misses share one load; a failed load is not kept', async () => {
  const cache = new TtlCache<string, string>({ ttlMs: 1000 });
  let loads = 0;
  let release!: (v: string) => void;
  const slow = () => {
    loads++;
    return new Promise<string>((r) => (release = r));
  };
  const a = cache.through('k', slow);
  const b = cache.through('k', slow);
  release('v');
  assert.deepEqual(await Promise.all([a, b]), ['v', 'v']);
  assert.equal(loads, 1);
  await assert.rejects(Promise.resolve(cache.through('x', async () => Promise.reject(new Error('db down')))), /db down/);
  assert.equal(await cache.through('x', async () => 'ok'), 'ok');
});

test('a hit near expiry is served and reloaded in the background', async () => {
  const c = clock();
  const cache = new TtlCache<string, number>({ ttlMs: 100, refreshAheadMs: 20, now: c.now });
  let n = 0;
  const load = async () => ++n;
  assert.equal(await cache.through('k', load), 1);
  c.advance(85);
  assert.equal(await cache.through('k', load), 1); // served stale-ish, reload started
  await new Promise((r) => setImmediate(r));
  assert.equal(cache.get('k'), 2);
});

test('the entry count is bounded: expired entries go first, then everything', () => {
  const c = clock();
  const cache = new TtlCache<number, number>({ ttlMs: 10, maxEntries: 3, now: c.now });
  cache.set(1, 1);
  cache.set(2, 2);
  c.advance(10);
  cache.set(3, 3);
  cache.set(4, 4); // full: 1 and 2 are expired and swept
  assert.deepEqual([cache.get(3), cache.get(4)], [3, 4]);
  cache.set(5, 5);
  cache.set(6, 6); // full of live entries: cleared
  assert.deepEqual([cache.get(3), cache.get(6)], [undefined, 6]);
});
