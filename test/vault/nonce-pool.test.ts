import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NoncePool } from '../../src/vault/nonce-pool.ts';
import type { IssuedNonce } from '../../src/vault/vault.repo.ts';

/** A fake store of nonces: counts the batches and hands out numbered nonces. */
function fakeIssuer() {
  let next = 0;
  const batches: number[] = [];
  const issue = async (count: number, at: Date): Promise<IssuedNonce[]> => {
    batches.push(count);
    await new Promise((r) => setImmediate(r));
    return Array.from({ length: count }, () => ({ nonce: `n${next++}`, createdAt: at, expiresAt: new Date(at.getTime() + 600_000) }));
  };
  return { issue, batches };
}

test('a caller asking now and then gets one stored nonce per request', async () => {
  let t = 0;
  const now = () => new Date(t);
  const pool = new NoncePool(60_000);
  const { issue, batches } = fakeIssuer();
  for (let i = 0; i < 3; i++) {
    await pool.take('key:1', now, issue);
    t += 120_000;
  }
  assert.deepEqual(batches, [1, 1, 1]);
});

test('a busy factory line gets batches, each nonce handed out once and only while fresh', async () => {
  let t = 1_000_000;
  const now = () => new Date(t);
  const pool = new NoncePool(60_000, 32);
  const { issue, batches } = fakeIssuer();
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const n = await pool.take('key:1', now, issue);
    assert.ok(!seen.has(n.nonce), `${n.nonce} handed out twice`);
    assert.ok(t - n.createdAt.getTime() < 60_000, 'a stale nonce was handed out');
    seen.add(n.nonce);
    t += 10;
  }
  assert.ok(batches.length < 20, `${batches.length} batches for 200 request-ids`);
  assert.ok(batches.every((b) => b <= 32));
  // Later than the freshness period: the rest of the batch is dropped, a new one stored.
  const before = batches.length;
  t += 61_000;
  const late = await pool.take('key:1', now, issue);
  assert.equal(late.createdAt.getTime(), t);
  assert.equal(batches.length, before + 1);
});

test('concurrent requests share one refill, and callers never share nonces', async () => {
  const now = () => new Date(5_000);
  const pool = new NoncePool(60_000, 8);
  const { issue, batches } = fakeIssuer();
  const a = await Promise.all(Array.from({ length: 20 }, () => pool.take('key:1', now, issue)));
  const b = await Promise.all(Array.from({ length: 5 }, () => pool.take('key:2', now, issue)));
  assert.equal(new Set([...a, ...b].map((n) => n.nonce)).size, 25);
  assert.ok(batches.length <= 6, `batches: ${batches.join(',')}`);
});

test('a failing store rejects the waiting requests and the next request tries again', async () => {
  const now = () => new Date(0);
  const pool = new NoncePool(60_000);
  let fail = true;
  const issue = async (count: number, at: Date): Promise<IssuedNonce[]> => {
    if (fail) throw new Error('database down');
    return Array.from({ length: count }, (_, i) => ({ nonce: `n${i}`, createdAt: at, expiresAt: at }));
  };
  await assert.rejects(Promise.all([pool.take('k', now, issue), pool.take('k', now, issue)]), /database down/);
  fail = false;
  assert.equal((await pool.take('k', now, issue)).nonce.startsWith('n'), true);
});

test('a handed-out nonce is known once to the process that handed it out', async () => {
  const now = () => new Date(0);
  const pool = new NoncePool(60_000);
  const { issue } = fakeIssuer();
  const n = await pool.take('key:1', now, issue);
  assert.deepEqual(pool.claim(n.nonce), { owner: 'key:1', expiresAt: n.expiresAt });
  assert.equal(pool.claim(n.nonce), undefined, 'a second look must go to the database');
  assert.equal(pool.claim('never-issued'), undefined);
});
