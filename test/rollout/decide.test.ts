// The decision core of update control: buckets, percentages, pause, and the
// explanation, as pure functions (properties with fast-check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BUCKETS, bucketOf, decide, explain, inPercentage, isControlled, type ChannelRelease, type DeviceIdentity } from '../../src/rollout/index.ts';

const SNAP = 'DLqre5XGLbDqg9jPtiAhRRjDuPVa5X1q';
const release = (over: Partial<ChannelRelease> = {}): ChannelRelease => ({ snapId: SNAP, releaseId: 'rel-1', revision: 4, previousRevision: 3, percentage: 10, paused: false, ...over });
const device = (serial: string, model = 'box', brand = 'acme'): DeviceIdentity => ({ brand, model, serial });
const serials = (n: number, prefix = 'box-') => Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(4, '0')}`);

const arbDevice = fc.record({ brand: fc.string({ minLength: 1, maxLength: 20 }), model: fc.string({ minLength: 1, maxLength: 20 }), serial: fc.string({ minLength: 1, maxLength: 40 }) });
const arbId = fc.string({ minLength: 1, maxLength: 32 });
const arbPct = fc.integer({ min: 1, max: 100 });

test('a bucket is in [0, 10000), and the same inputs always give the same bucket', () => {
  fc.assert(
    fc.property(arbDevice, arbId, arbId, (d, snapId, releaseId) => {
      const b = bucketOf(d, snapId, releaseId);
      assert.ok(Number.isInteger(b) && b >= 0 && b < BUCKETS);
      assert.equal(bucketOf({ ...d }, snapId, releaseId), b);
    }),
  );
});

test('the fields are length-prefixed: moving characters between fields changes the bucket input', () => {
  // "ab"+"c" and "a"+"bc" would hash the same if the fields were only concatenated.
  const a = bucketOf({ brand: 'ab', model: 'c', serial: 's' }, SNAP, 'r');
  const b = bucketOf({ brand: 'a', model: 'bc', serial: 's' }, SNAP, 'r');
  const c = bucketOf({ brand: 'a', model: 'b', serial: 'cs' }, SNAP, 'r');
  assert.ok(a !== b || b !== c, 'three different inputs all landed in one bucket');
});

test('deciding is deterministic: the same device, release and context give the same answer', () => {
  fc.assert(
    fc.property(arbDevice, arbId, arbPct, fc.boolean(), fc.boolean(), (d, releaseId, percentage, paused, offered) => {
      const r = release({ releaseId, percentage, paused });
      assert.deepEqual(decide(r, d, { offered }), decide(r, { ...d }, { offered }));
    }),
  );
});

test('raising the percentage only adds devices (monotonic), and 100% is every device', () => {
  fc.assert(
    fc.property(arbDevice, arbId, arbPct, arbPct, (d, releaseId, p1, p2) => {
      const [lo, hi] = p1 <= p2 ? [p1, p2] : [p2, p1];
      const atLo = decide(release({ releaseId, percentage: lo }), d, undefined);
      const atHi = decide(release({ releaseId, percentage: hi }), d, undefined);
      if (atLo.offeredRelease) assert.ok(atHi.offeredRelease, `in at ${lo}% but not at ${hi}%`);
      assert.equal(decide(release({ releaseId, percentage: 100 }), d, undefined).revision, 4);
    }),
    { numRuns: 500 },
  );
});

test('a device is in exactly when its bucket is under P% (basis points)', () => {
  assert.equal(inPercentage(0, 1), true);
  assert.equal(inPercentage(99, 1), true);
  assert.equal(inPercentage(100, 1), false);
  assert.equal(inPercentage(9999, 100), true);
  assert.equal(inPercentage(999, 10), true);
  assert.equal(inPercentage(1000, 10), false);
  fc.assert(
    fc.property(arbDevice, fc.integer({ min: 1, max: 99 }), (d, p) => {
      const got = decide(release({ percentage: p }), d, undefined);
      const b = bucketOf(d, SNAP, 'rel-1');
      assert.equal(got.offeredRelease, b < p * 100);
      assert.deepEqual(got.reason, got.offeredRelease ? { rule: 'in-percentage', releaseId: 'rel-1', bucket: b, percentage: p } : { rule: 'outside-percentage', releaseId: 'rel-1', bucket: b, percentage: p });
      assert.equal(got.revision, got.offeredRelease ? 4 : 3);
    }),
  );
});

test('200 simulated serials at 10%: 10% ± 4% of them get the release', () => {
  const devices = serials(200).map((s) => device(s));
  const taken = devices.filter((d) => decide(release(), d, undefined).offeredRelease).length;
  assert.ok(taken >= 12 && taken <= 28, `${taken} of 200 devices at 10%`);
  // And at 50% the first ones are kept and about 40% more are added.
  const at50 = devices.filter((d) => decide(release({ percentage: 50 }), d, undefined).offeredRelease);
  assert.ok(devices.filter((d) => decide(release(), d, undefined).offeredRelease).every((d) => at50.includes(d)));
  assert.ok(at50.length - taken >= 62 && at50.length - taken <= 98, `${at50.length - taken} added from 10% to 50%`);
});

test('buckets are spread evenly: over many releases and 20,000 devices the shares match the percentages', () => {
  // 20,000 devices: each percentage's share within 0.7 points (about 3 standard deviations).
  const many = serials(20_000, 'fleet-').map((s) => device(s));
  for (const p of [1, 10, 25, 50, 90]) {
    const share = (many.filter((d) => inPercentage(bucketOf(d, SNAP, 'rel-x'), p)).length / many.length) * 100;
    assert.ok(Math.abs(share - p) < 0.7, `${share.toFixed(2)}% at ${p}%`);
  }
  // 200 devices, 200 releases: the 10% share is within ±4 points for most releases (binomial: about 96%).
  const devices = serials(200).map((s) => device(s));
  const within = Array.from({ length: 200 }, (_, i) => devices.filter((d) => inPercentage(bucketOf(d, SNAP, `rel-${i}`), 10)).length).filter((n) => n >= 12 && n <= 28).length;
  assert.ok(within >= 180, `${within} of 200 releases within 10% ± 4%`);
});

test('another release of the same snap reshuffles the devices', () => {
  const devices = serials(200).map((s) => device(s));
  const first = devices.filter((d) => inPercentage(bucketOf(d, SNAP, 'rel-a'), 10));
  const second = devices.filter((d) => inPercentage(bucketOf(d, SNAP, 'rel-b'), 10));
  assert.notDeepEqual(first, second);
});

test('releases pick their devices independently: two 10% sets of 20,000 devices share about 1% of them', () => {
  // Independent picks share 10% × 10% = 200 devices (standard deviation about 13); a hash that only shifted
  // the device's position by a per-release constant would share far more for some pairs of releases.
  const many = serials(20_000, 'fleet-').map((s) => device(s));
  const tenth = (snapId: string, releaseId: string) => new Set(many.filter((d) => inPercentage(bucketOf(d, snapId, releaseId), 10)).map((d) => d.serial));
  const pairs: [string, string, string, string][] = [
    [SNAP, 'rel-a', SNAP, 'rel-b'],
    [SNAP, 'rel-1', SNAP, 'rel-2'],
    [SNAP, 'rel-a', 'another-snap-id-0000000000000000', 'rel-a'],
    ...Array.from({ length: 8 }, (_, i) => [SNAP, `${SNAP}:amd64:latest/stable:${i + 1}`, SNAP, `${SNAP}:amd64:latest/stable:${i + 2}`] as [string, string, string, string]),
  ];
  for (const [s1, r1, s2, r2] of pairs) {
    const a = tenth(s1, r1);
    const shared = [...tenth(s2, r2)].filter((serial) => a.has(serial)).length;
    assert.ok(shared > 140 && shared < 260, `${r1} and ${r2} share ${shared} of 20,000 devices`);
  }
});

test('a device without a session is outside a progressive release, and gets a full one', () => {
  assert.deepEqual(decide(release(), undefined, undefined), { revision: 3, offeredRelease: false, reason: { rule: 'no-device-session', releaseId: 'rel-1', percentage: 10 } });
  assert.deepEqual(decide(release({ percentage: null }), undefined, undefined), { revision: 4, offeredRelease: true, reason: { rule: 'full-release', releaseId: 'rel-1' } });
  // Nothing before the release: outside devices are offered nothing from the channel.
  assert.equal(decide(release({ previousRevision: null }), undefined, undefined).revision, null);
});

test('a paused rollout keeps offering the revision to the devices offered it before, and to nobody else', () => {
  fc.assert(
    fc.property(arbDevice, arbPct, fc.boolean(), (d, percentage, offered) => {
      const got = decide(release({ percentage, paused: true }), d, { offered });
      assert.equal(got.revision, offered ? 4 : 3);
      assert.equal(got.reason.rule, offered ? 'paused-kept' : 'paused-withheld');
    }),
  );
  // Paused at 100% too: a full release that is paused freezes its set as well.
  assert.equal(decide(release({ percentage: null, paused: true }), device('x'), { offered: false }).revision, 3);
  assert.equal(isControlled({ percentage: null, paused: true }), true);
  assert.equal(isControlled({ percentage: 100, paused: false }), false);
  assert.equal(isControlled({ percentage: 99, paused: false }), true);
});

test('a device running the release revision keeps it, whatever its bucket', () => {
  fc.assert(
    fc.property(arbDevice, arbPct, fc.boolean(), (d, percentage, paused) => {
      const got = decide(release({ percentage, paused }), d, { offered: false }, { installedRevision: 4 });
      assert.equal(got.revision, 4);
    }),
  );
  // ... and a device on the previous revision outside the percentage stays there.
  const outside = serials(200).map((s) => device(s)).find((d) => !decide(release(), d, undefined).offeredRelease)!;
  assert.equal(decide(release(), outside, undefined, { installedRevision: 3 }).revision, 3);
});

test('every decision has an explanation naming its numbers', () => {
  const r = release();
  const d = serials(200).map((s) => device(s));
  const inside = d.find((x) => decide(r, x, undefined).offeredRelease)!;
  const outside = d.find((x) => !decide(r, x, undefined).offeredRelease)!;
  assert.match(explain(r, decide(r, inside, undefined)), /^revision 4: the device's bucket \d+\.\d\d is under the release's 10%$/);
  assert.match(explain(r, decide(r, outside, undefined)), /^revision 3: .* not under the release's 10% \(revision 4 withheld/);
  assert.match(explain(r, decide(r, undefined, undefined)), /without a device session/);
  assert.match(explain(r, decide({ ...r, paused: true }, inside, { offered: true })), /paused and the device was offered/);
  assert.match(explain(r, decide({ ...r, paused: true }, inside, { offered: false })), /paused and the device was not offered revision 4/);
  const back = release({ revision: 3, percentage: null, rollbackOf: 'rel-1' });
  assert.match(explain(back, decide(back, inside, undefined)), /^revision 3: released to every device \(rolling back release rel-1\)$/);
  assert.match(explain(release({ previousRevision: null }), decide(release({ previousRevision: null }), undefined, undefined)), /^nothing: /);
});

test('a device in a held group keeps its installed revision, whatever the release; an install is decided as usual', () => {
  fc.assert(
    fc.property(arbDevice, fc.option(arbPct, { nil: null }), fc.boolean(), fc.integer({ min: 1, max: 10 }), (d, percentage, paused, installed) => {
      const got = decide(release({ percentage, paused }), d, { offered: true }, { installedRevision: installed, heldBy: 'lab' });
      assert.deepEqual(got, { revision: installed, offeredRelease: installed === 4, reason: { rule: 'held', releaseId: 'rel-1', group: 'lab' } });
      assert.deepEqual(decide(release({ percentage, paused }), d, { offered: true }, { heldBy: 'lab' }), decide(release({ percentage, paused }), d, { offered: true }));
    }),
  );
  assert.equal(explain(release(), decide(release(), device('x'), undefined, { installedRevision: 3, heldBy: 'lab' })), 'revision 3: the device is in the held group lab: it keeps its installed revision');
});
