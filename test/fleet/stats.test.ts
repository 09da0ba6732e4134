// The fleet's figures and scheduling: histogram percentiles against exact
// ones, counters and the summary, bounded concurrency, the refresh schedule,
// the seeded --fail draws, and per-device proposed serials.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, FleetStats, progressLine, summaryText } from '../../src/fleet/stats.ts';
import { Limiter, nextRefreshAt, seededRandom } from '../../src/fleet/scheduler.ts';
import { proposedSerialOf, revisionsOf, type SimDevice } from '../../src/fleet/run.ts';

function exactQuantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(1, Math.ceil(q * s.length)) - 1]!;
}

test('histogram quantiles are within 2% of the exact nearest-rank ones', () => {
  const rnd = seededRandom(7);
  for (const gen of [() => rnd() * 100, () => Math.exp(rnd() * 10), () => 5 + rnd() * 0.5]) {
    const values = Array.from({ length: 5000 }, gen);
    const h = new Histogram();
    values.forEach((v) => h.add(v));
    assert.equal(h.count, 5000);
    for (const q of [0.01, 0.5, 0.9, 0.99, 1]) {
      const exact = exactQuantile(values, q);
      const got = h.quantile(q);
      assert.ok(Math.abs(got - exact) / exact <= 0.0201, `q=${q}: ${got} vs exact ${exact}`);
    }
    assert.ok(Math.abs(h.mean - values.reduce((a, b) => a + b, 0) / values.length) < 1e-6);
  }
});

test('histogram edge cases: empty, one value, zero, nonsense ignored', () => {
  const h = new Histogram();
  assert.ok(Number.isNaN(h.quantile(0.5)));
  assert.ok(Number.isNaN(h.mean));
  h.add(42);
  assert.equal(h.quantile(0.5), 42);
  assert.equal(h.quantile(0.99), 42);
  h.add(0);
  h.add(-1);
  h.add(NaN);
  assert.equal(h.count, 2);
  assert.ok(h.quantile(0.5) <= 0.01, 'the first bucket holds everything up to 0.01 ms');
  assert.equal(h.quantile(1), 42);
});

test('fleet stats: registration rate over the span of registrations, errors by code, summary text', () => {
  const s = new FleetStats(4, 1000);
  s.registration(1000, 1500, true);
  s.registration(1200, 2000, true);
  s.registration(1300, 3000, false);
  s.error('device-registration-failed');
  s.error('device-install-failed');
  s.error('device-install-failed');
  s.sessions = 2;
  s.refreshes = 2;
  s.updates = 1;
  s.failures = 2;
  // 2 registered over 1000..3000 ms: 1 per second.
  assert.equal(s.registrationsPerSecond(), 1);
  const sum = s.summary(4000, { 'acme-app': { '1': 1, '2': 1 } });
  assert.equal(sum.registered, 2);
  assert.equal(sum.registrationFailed, 1);
  assert.equal(sum.elapsedMs, 3000);
  assert.deepEqual(sum.errors, { 'device-install-failed': 2, 'device-registration-failed': 1 });
  assert.equal(sum.steps.register.count, 3);
  assert.ok(sum.steps.register.p50Ms >= 800 && sum.steps.register.p50Ms <= 816, String(sum.steps.register.p50Ms));
  assert.equal(sum.steps.register.maxMs, 1700);
  assert.equal(sum.steps.session.count, 0);
  assert.ok(Number.isNaN(sum.steps.session.p50Ms));
  assert.match(progressLine(sum), /^3s registered 2\/4 \(1 failed\) sessions 2 refreshes 2 updates 1 failures 2 errors: device-install-failed 2, device-registration-failed 1$/);
  const text = summaryText(sum);
  assert.match(text, /registrations\/s: 1\.0/);
  assert.match(text, /register +3 +8\d\d ms +1\.70 s/);
  assert.match(text, /acme-app: r1 ×1, r2 ×1/);
  assert.equal(new FleetStats(1, 0).registrationsPerSecond(), 0);
});

test('the limiter never runs more than its limit, and runs everything', async () => {
  const l = new Limiter(3);
  let running = 0;
  let maxSeen = 0;
  const done: number[] = [];
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      l.run(async () => {
        running++;
        maxSeen = Math.max(maxSeen, running);
        await new Promise((r) => setTimeout(r, (i % 4) + 1));
        running--;
        done.push(i);
      }),
    ),
  );
  assert.equal(maxSeen, 3);
  assert.equal(l.peak, 3);
  assert.equal(l.running, 0);
  assert.equal(done.length, 20);
  await assert.rejects(l.run(async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(l.running, 0, 'a failed task frees its slot');
  assert.throws(() => new Limiter(0), RangeError);
});

test('refresh schedule: every period from the last start, nothing at or past the end', () => {
  assert.equal(nextRefreshAt(1000, 500, 5000), 1500);
  assert.equal(nextRefreshAt(4600, 500, 5000), undefined);
  assert.equal(nextRefreshAt(4499, 500, 5000), 4999);
  assert.equal(nextRefreshAt(1000, 0, 5000), undefined);
});

test('seeded draws replay, and their frequency matches the probability', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const xs = Array.from({ length: 10000 }, () => a());
  assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const hits = xs.filter((x) => x < 0.3).length;
  assert.ok(hits > 2800 && hits < 3200, String(hits));
});

test('each device proposes its own serial when the gadget proposes one; revisions are counted per snap', () => {
  assert.deepEqual(proposedSerialOf({ url: 'http://v/', proposedSerial: 'box' }, 7), { url: 'http://v/', proposedSerial: 'box-7' });
  assert.deepEqual(proposedSerialOf({ url: 'http://v/' }, 7), { url: 'http://v/' });
  const snap = (name: string, revision: number) => ({ name, revision }) as SimDevice['snaps'][number];
  const dev = (snaps: SimDevice['snaps']) => ({ snaps }) as SimDevice;
  assert.deepEqual(revisionsOf([dev([snap('a', 1), snap('b', 3)]), dev([snap('a', 2), snap('b', 3)]), dev([snap('a', 2)])]), { a: { '1': 1, '2': 2 }, b: { '3': 2 } });
});
