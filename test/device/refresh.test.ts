// The refresh core against a scripted store (no server): snapd's retry
// schedule for 5xx, a session renewed on `refresh_device_session=1`, which
// results count as updates, and refreshes refused before anything is
// recorded (a snap-revision not signed by the store, one for another snap,
// a store that keeps failing) — the old revision kept, no file left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, formatTimestamp, sign, TrustDatabase, ValidationSetType, type Assertion, type ModelData } from '../../src/assertions/index.ts';
import type { Downloaded, HttpRequest, HttpResponse, Transport } from '../../src/device/io.ts';
import { refresh, refreshBody } from '../../src/device/refresh.ts';
import { stateSnapFiles } from '../../src/device/state-store.ts';
import type { InstalledSnap } from '../../src/device/state.ts';
import { StoreClient } from '../../src/device/store-client.ts';
import { vectorBytes, vectorKey } from '../helpers/vectors.ts';
import { declaration, packedSnaps, revision, snapIdFor, trustedRoot } from '../image/world.ts';
import { FakeClock, json, testModel, testSerial } from './helpers.ts';

let dir: string;
let hello: Buffer;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snapline-refresh-test-'));
  hello = (await packedSnaps()).get('hello')!;
});
after(() => rm(dir, { recursive: true, force: true }));

const ID = snapIdFor('hello');
const installed: InstalledSnap = {
  name: 'hello',
  snapId: ID,
  revision: 1,
  channel: 'latest/stable',
  refreshedDate: '2026-01-01T00:00:00Z',
  cohort: 'MSBcohort',
  type: 'app',
  version: '1',
  epoch: { read: [0], write: [0] },
  file: '/seed/snaps/hello_1.snap',
};
const model = testModel({ store: 'vectors-store' });

interface Store {
  transport: Transport;
  requests: HttpRequest[];
  assertions: Map<string, Assertion>;
  action: (req: HttpRequest, n: number) => HttpResponse;
}

/** A store: sessions, assertions from a map, downloads of `hello` bytes, and a chosen snap action answer. */
function store(action: Store['action'], bytes = () => hello): Store {
  const requests: HttpRequest[] = [];
  const assertions = new Map<string, Assertion>();
  for (const a of [decode(vectorBytes('store-key.account-key')), decode(vectorBytes('brand.account')), decode(vectorBytes('brand.account-key')), declaration('hello')]) {
    assertions.set(`${a.type}/${a.primaryKey.join('/')}`, a);
  }
  let actions = 0;
  let sessions = 0;
  const s: Store = {
    requests,
    assertions,
    action,
    transport: {
      async request(req) {
        requests.push(req);
        const path = new URL(req.url).pathname;
        if (path.endsWith('/nonces')) return json(200, { nonce: 'n1' });
        if (path.endsWith('/sessions')) return json(200, { macaroon: `session-${++sessions}` });
        if (path === '/v2/snaps/refresh') return s.action(req, ++actions);
        const m = /^\/v2\/assertions\/([^/]+)\/(.+)$/.exec(path);
        if (m) {
          const [type, key] = [m[1]!, m[2]!.split('/').map(decodeURIComponent)];
          const a = [...assertions.values()].find((x) => x.type === type && key.every((k, i) => x.primaryKey[i] === k));
          return a ? { status: 200, headers: {}, body: a.encode() } : json(404, { 'error-list': [{ code: 'not-found', message: 'not found' }] });
        }
        return json(404, {});
      },
      async download(req): Promise<Downloaded> {
        requests.push(req);
        const b = bytes();
        const file = join(dir, `dl-${requests.length}`);
        await writeFile(file, b);
        return { status: 200, headers: {}, file, size: b.length, sha3384Hex: createHash('sha3-384').update(b).digest('hex') };
      },
    },
  };
  return s;
}

function updateTo(rev: number, b = hello) {
  return json(200, {
    results: [
      {
        result: 'refresh',
        'instance-key': ID,
        'snap-id': ID,
        name: 'hello',
        snap: { name: 'hello', 'snap-id': ID, revision: rev, download: { url: 'http://store.test/download/hello.snap', 'sha3-384': createHash('sha3-384').update(b).digest('hex'), size: b.length } },
      },
    ],
  });
}

function run(s: Store, clock = new FakeClock(), files = join(dir, `state-${Math.random()}`), o: { model?: Assertion<ModelData>; snaps?: InstalledSnap[] } = {}) {
  const db = new TrustDatabase({ trusted: trustedRoot(), now: () => clock.now() });
  const m = o.model ?? model;
  const client = new StoreClient({ storeUrl: 'http://store.test/', model: m, transport: s.transport, clock, userAgent: 'test', serial: testSerial(vectorKey('device')), key: vectorKey('device'), session: 'old' });
  return { clock, db, files, result: refresh({ snaps: o.snaps ?? [installed], db, client, files: stateSnapFiles(files), clock, ...(o.model ? { model: o.model } : {}) }) };
}

test('the refresh body carries the full context snapd sends', () => {
  assert.deepEqual(refreshBody([installed, { ...installed, name: 'local', snapId: '', revision: 0 }]).context, [
    { 'snap-id': ID, 'instance-key': ID, revision: 1, 'tracking-channel': 'latest/stable', epoch: { read: [0], write: [0] }, 'refreshed-date': '2026-01-01T00:00:00Z', 'cohort-key': 'MSBcohort' },
  ]);
});

test('a new revision is verified against its snap-revision chain and recorded', async () => {
  const s = store(() => updateTo(2));
  s.assertions.set('snap-revision/x', revision(hello, ID, 2));
  const { result, files, db } = run(s, new FakeClock(Date.parse('2026-02-01T00:00:00Z')));
  const r = await result;
  assert.equal(r.outcome.outcome, 'updated', JSON.stringify(r.outcome));
  const h = r.snaps[0]!;
  assert.equal(h.revision, 2);
  assert.equal(h.cohort, 'MSBcohort');
  assert.equal(h.channel, 'latest/stable');
  assert.equal(h.refreshedDate, '2026-02-01T00:00:00.000Z', 'the refresh time, as RFC 3339');
  assert.equal(h.file, join(files, 'snaps', 'hello_2.snap'));
  assert.ok(db.find('snap-revision', [createHash('sha3-384').update(hello).digest('base64url')]));
  assert.deepEqual(r.added.map((a) => a.type).sort(), ['account', 'account-key', 'snap-declaration', 'snap-revision']);
  const action = s.requests.find((q) => q.url.endsWith('/v2/snaps/refresh'))!;
  assert.equal(action.headers['snap-refresh-reason'], 'scheduled');
  assert.equal(action.headers['snap-device-authorization'], 'Macaroon root="old"');
});

test("5xx are retried on snapd's schedule, then the refresh fails with nothing changed", async () => {
  const s = store(() => ({ status: 503, headers: { 'content-type': 'text/html' }, body: Buffer.from('<html>busy</html>') }));
  const { result, clock } = run(s);
  const r = await result;
  assert.equal(r.outcome.outcome, 'failed');
  assert.equal(r.outcome.code, 'device-store-error');
  assert.match(r.outcome.reason ?? '', /unexpected status 503/);
  assert.deepEqual(clock.sleeps, [500, 1250, 3125, 7812.5, 19531.25]);
  assert.deepEqual(r.snaps, [installed]);
});

test('a 401 asking for a new device session renews it and sends the action again', async () => {
  const s = store((req, n) =>
    n === 1 ? { status: 401, headers: { 'www-authenticate': 'Macaroon refresh_device_session=1', 'content-type': 'application/json' }, body: Buffer.from('{"error-list":[]}') } : json(200, { results: [] }),
  );
  const r = await run(s).result;
  assert.equal(r.outcome.outcome, 'no-updates');
  const paths = s.requests.map((q) => new URL(q.url).pathname);
  assert.deepEqual(paths, ['/v2/snaps/refresh', '/api/v1/snaps/auth/nonces', '/api/v1/snaps/auth/sessions', '/v2/snaps/refresh']);
  assert.equal(s.requests[2]!.headers['x-device-authorization'], 'Macaroon root="old"');
  assert.equal(s.requests[3]!.headers['snap-device-authorization'], 'Macaroon root="session-1"');
  const body = JSON.parse(s.requests[2]!.body!.toString());
  assert.equal(decode(body['device-session-request']).headerString('nonce'), 'n1');
});

test('which results count: same revision and not-found are no update; other errors and unknown keys are failures', async () => {
  const s = store(() =>
    json(200, {
      results: [
        { result: 'refresh', 'instance-key': ID, snap: { revision: 1, download: { url: 'x', 'sha3-384': 'a'.repeat(96), size: 1 } } },
        { result: 'error', 'instance-key': ID, error: { code: 'revision-not-found', message: 'nothing in latest/stable' } },
        { result: 'error', 'instance-key': ID, error: { code: 'snap-blocked', message: 'blocked by the brand' } },
        { result: 'refresh', 'instance-key': 'someone-else', name: 'other' },
      ],
    }),
  );
  const r = await run(s).result;
  assert.equal(r.outcome.outcome, 'failed');
  assert.deepEqual(r.outcome.failed.map((f) => [f.name, f.code]), [['hello', 'device-store-error'], ['other', 'device-store-error']]);
  assert.match(r.outcome.failed[0]!.reason, /snap-blocked: blocked by the brand/);
  assert.deepEqual(r.snaps, [installed]);
  assert.ok(!s.requests.some((q) => q.url.includes('/download/')), 'nothing downloaded');
});

test('a snap-revision not signed by the store, or for another snap, is refused; the old revision stays, no file is left', async () => {
  // Signed by the brand's key, not the store's: the database refuses it.
  const s1 = store(() => updateTo(2));
  const forged = revision(hello, ID, 2);
  const byBrand = decode(forged.toString().replace(/sign-key-sha3-384: \S+/, `sign-key-sha3-384: ${vectorKey('brand').id}`));
  s1.assertions.set('snap-revision/forged', byBrand);
  const a = run(s1);
  const r1 = await a.result;
  assert.equal(r1.outcome.failed[0]?.code, 'device-snap-unverified', JSON.stringify(r1.outcome));
  assert.deepEqual(r1.snaps, [installed]);
  assert.deepEqual(await readdir(join(a.files, 'snaps')).catch(() => []), []);
  // A valid snap-revision, but of revision 3 while the store said 2.
  const s2 = store(() => updateTo(2));
  s2.assertions.set('snap-revision/x', revision(hello, ID, 3));
  const b = run(s2);
  const r2 = await b.result;
  assert.equal(r2.outcome.failed[0]?.code, 'device-snap-unverified');
  assert.match(r2.outcome.failed[0]?.reason ?? '', /revision 3, not .* revision 2/);
  assert.deepEqual(await readdir(join(b.files, 'snaps')).catch(() => []), []);
  // The download does not match what the store announced.
  const s3 = store(() => updateTo(2), () => Buffer.concat([hello, Buffer.from('x')]));
  const r3 = await run(s3).result;
  assert.equal(r3.outcome.failed[0]?.code, 'device-snap-digest-mismatch');
  assert.equal(s3.requests.filter((q) => q.url.includes('/download/')).length, 2, 'downloaded once more from scratch, as snapd does');
});

// Enforced validation sets (snapd's refreshCandidates, storehelpers.go): the model enforces vectors-brand/fleet.
const enforcing = testModel({ store: 'vectors-store', 'validation-sets': [{ 'account-id': 'vectors-brand', name: 'fleet', mode: 'enforce' }] });

function fleetSet(sequence: number, entry: Record<string, string>): Assertion {
  return sign(
    ValidationSetType,
    { headers: { 'authority-id': 'vectors-brand', series: '16', 'account-id': 'vectors-brand', name: 'fleet', sequence: String(sequence), snaps: [{ name: 'hello', id: ID, ...entry }], timestamp: formatTimestamp(new Date('2025-12-01T00:00:00Z')) } },
    vectorKey('brand'),
    new Date('2026-01-01T00:00:00Z'),
  );
}

function actionBody(s: Store): { context: Record<string, unknown>[]; actions: Record<string, unknown>[] } {
  const req = s.requests.find((q) => q.url.endsWith('/v2/snaps/refresh'));
  return JSON.parse(req!.body!.toString('utf8'));
}

test('an enforced validation set pins the revision: the action asks for it with the set, the context drops the cohort', async () => {
  const s = store(() => updateTo(3));
  s.assertions.set('validation-set/fleet', fleetSet(2, { presence: 'required', revision: '3' }));
  s.assertions.set('snap-revision/x', revision(hello, ID, 3));
  const { result, db } = run(s, new FakeClock(), undefined, { model: enforcing });
  const r = await result;
  assert.equal(r.outcome.outcome, 'updated', JSON.stringify(r.outcome));
  assert.equal(r.snaps[0]!.revision, 3);
  const latest = s.requests.find((q) => q.url.includes('/v2/assertions/validation-set/'))!;
  assert.match(latest.url, /\/v2\/assertions\/validation-set\/16\/vectors-brand\/fleet\?max-format=\d+&sequence=latest$/);
  const body = actionBody(s);
  assert.deepEqual(body.actions, [{ action: 'refresh', 'instance-key': ID, 'snap-id': ID, revision: 3, 'validation-sets': [['16', 'vectors-brand', 'fleet', '2']] }]);
  assert.equal(body.context[0]!['cohort-key'], undefined);
  assert.ok(db.findSequence('validation-set', ['16', 'vectors-brand', 'fleet']), 'the set is kept, verified');
  assert.ok(r.added.some((a) => a.type === 'validation-set'));
});

test('a snap already at the pinned revision is left out of the actions: no snap action at all', async () => {
  const s = store(() => updateTo(4));
  s.assertions.set('validation-set/fleet', fleetSet(1, { revision: '1' }));
  const r = await run(s, new FakeClock(), undefined, { model: enforcing }).result;
  assert.equal(r.outcome.outcome, 'no-updates');
  assert.equal(s.requests.filter((q) => q.url.endsWith('/v2/snaps/refresh')).length, 0);
  // Required at any revision: refreshed as usual, with the set named.
  const any = store(() => json(200, { results: [] }));
  any.assertions.set('validation-set/fleet', fleetSet(1, {}));
  await run(any, new FakeClock(), undefined, { model: enforcing }).result;
  assert.deepEqual(actionBody(any).actions, [{ action: 'refresh', 'instance-key': ID, 'snap-id': ID, 'validation-sets': [['16', 'vectors-brand', 'fleet', '1']] }]);
  assert.equal(actionBody(any).context[0]!['cohort-key'], 'MSBcohort');
});

test('a set declaring an installed snap invalid, or a set the device cannot get, stops the refresh with the reason', async () => {
  const invalid = store(() => updateTo(2));
  invalid.assertions.set('validation-set/fleet', fleetSet(1, { presence: 'invalid' }));
  const r1 = await run(invalid, new FakeClock(), undefined, { model: enforcing }).result;
  assert.equal(r1.outcome.outcome, 'failed');
  assert.equal(r1.outcome.code, 'device-validation-sets');
  assert.match(r1.outcome.reason ?? '', /vectors-brand\/fleet\/1 declares hello invalid/);
  assert.equal(invalid.requests.filter((q) => q.url.endsWith('/v2/snaps/refresh')).length, 0);
  assert.deepEqual(r1.snaps, [installed]);

  const none = store(() => updateTo(2));
  const r2 = await run(none, new FakeClock(), undefined, { model: enforcing }).result;
  assert.equal(r2.outcome.code, 'device-validation-sets');
  assert.match(r2.outcome.reason ?? '', /enforces validation set vectors-brand\/fleet, which the device does not hold/);

  // Signed by a key that is not the account's: refused, not used.
  const forged = store(() => updateTo(2));
  forged.assertions.set(
    'validation-set/fleet',
    sign(ValidationSetType, { headers: { 'authority-id': 'vectors-brand', series: '16', 'account-id': 'vectors-brand', name: 'fleet', sequence: '1', snaps: [{ name: 'hello', id: ID, revision: '9' }], timestamp: formatTimestamp(new Date('2025-12-01T00:00:00Z')) } }, vectorKey('stranger'), new Date('2026-01-01T00:00:00Z')),
  );
  const r3 = await run(forged, new FakeClock(), undefined, { model: enforcing }).result;
  assert.equal(r3.outcome.code, 'device-validation-sets');
  assert.match(r3.outcome.reason ?? '', /does not verify/);
});
