// The registration state machine against a scripted vault, with a clock that
// advances instead of sleeping: snapd's request-id / serial exchange, 202
// polling with the same serial-request, retries with a fresh request-id and
// their limit, immediate failures, and the checks of the returned serial.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeStream, TrustDatabase, verifySerialRequest, type Assertion, type SerialRequestData } from '../../src/assertions/index.ts';
import { register, deviceServiceUrls, MAX_TENTATIVES, RETRY_INTERVAL_MS, type RegisterOptions } from '../../src/device/registration.ts';
import { TransportError } from '../../src/device/io.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { brandChain, FakeClock, json, ScriptedTransport, stream, testModel, testSerial, text, trustedRoot, T0, type Handler } from './helpers.ts';

const device = vectorKey('device');
const model = testModel();
const URL_BASE = 'http://vault.test/v1/';

function setup(handler: Handler, extra: Partial<RegisterOptions> = {}) {
  const clock = new FakeClock();
  const transport = new ScriptedTransport(handler);
  const db = new TrustDatabase({ trusted: trustedRoot(), now: () => clock.now() });
  const run = () =>
    register({ model, key: device, config: { url: URL_BASE, headers: { 'api-key': 'S3CR3T' }, proposedSerial: 'box-42', body: 'mac: 00:11' }, db, transport, clock, userAgent: 'snapd/test', ...extra });
  return { clock, transport, db, run };
}

/** A vault: request-ids r1, r2...; `serial` decides the answer to each serial POST. */
function vault(serial: (req: Assertion, n: number) => ReturnType<Handler>): Handler {
  let ids = 0;
  let posts = 0;
  return (req) => {
    if (req.url.endsWith('/request-id')) return json(200, { 'request-id': `r${++ids}` });
    const [sr, m] = decodeStream(req.body!);
    assert.equal(m!.type, 'model');
    return serial(sr!, ++posts);
  };
}

const good = () => stream(200, [testSerial(device), ...brandChain()]);

test('a registration as snapd makes it: request-id, a signed serial-request with the model, a verified serial', async () => {
  const { transport, clock, db, run } = setup(vault(() => good()));
  const res = await run();
  assert.ok(res.ok, JSON.stringify(res));
  assert.equal(res.serial.headerString('serial'), 'box-0001');
  assert.deepEqual(transport.paths(), ['POST /v1/request-id', 'POST /v1/serial']);
  const [rid, post] = transport.requests;
  assert.equal(rid!.headers['api-key'], 'S3CR3T');
  assert.equal(post!.headers['content-type'], 'application/x.ubuntu.assertion');
  assert.equal(post!.headers['snap-device-capabilities'], 'serial-stream');
  assert.equal(post!.headers['api-key'], 'S3CR3T');
  const [sr, m] = decodeStream(post!.body!);
  verifySerialRequest(sr!);
  const d = sr!.data as SerialRequestData;
  assert.equal(sr!.headerString('request-id'), 'r1');
  assert.equal(sr!.headerString('serial'), 'box-42');
  assert.equal(sr!.headerString('brand-id'), 'vectors-brand');
  assert.equal(sr!.body?.toString(), 'mac: 00:11');
  assert.equal(d.deviceKey.id, device.id);
  assert.ok(m!.encode().equals(model.encode()));
  assert.deepEqual(clock.sleeps, []);
  assert.ok(db.find('serial', ['vectors-brand', 'box', 'box-0001']));
  assert.deepEqual(res.requests, { requestIds: 1, serialPosts: 1, polls: 0 });
});

test('202 polls the same serial-request every 60 s; no new request-id', async () => {
  const { transport, clock, run } = setup(vault((_sr, n) => (n <= 3 ? text(202, '') : good())));
  const res = await run();
  assert.ok(res.ok);
  assert.deepEqual(clock.sleeps, [RETRY_INTERVAL_MS, RETRY_INTERVAL_MS, RETRY_INTERVAL_MS]);
  const posts = transport.requests.filter((r) => r.url.endsWith('/serial'));
  assert.equal(posts.length, 4);
  assert.ok(posts.every((p) => p.body!.equals(posts[0]!.body!)), 'the same serial-request is re-posted');
  assert.equal(transport.requests.filter((r) => r.url.endsWith('/request-id')).length, 1);
  assert.deepEqual(res.requests, { requestIds: 1, serialPosts: 4, polls: 3 });
});

test('polling stops at the limit, into a clear failure', async () => {
  const { run } = setup(vault(() => text(202, '')), { maxPolls: 5 });
  const res = await run();
  assert.ok(!res.ok);
  assert.equal(res.code, 'device-registration-failed');
  assert.match(res.reason, /202/);
  assert.equal(res.requests.polls, 6);
});

test('503 and transport errors retry after 60 s with a fresh request-id', async () => {
  let posts = 0;
  const { transport, clock, run } = setup(
    vault((_sr, n) => {
      posts = n;
      if (n === 1) return text(503, '<html>down</html>');
      if (n === 2) throw new TransportError('retryable', 'connection reset');
      return good();
    }),
  );
  const res = await run();
  assert.ok(res.ok);
  assert.equal(posts, 3);
  assert.deepEqual(clock.sleeps, [RETRY_INTERVAL_MS, RETRY_INTERVAL_MS]);
  const ids = transport.requests.filter((r) => r.url.endsWith('/serial')).map((r) => decodeStream(r.body!)[0]!.headerString('request-id'));
  assert.deepEqual(ids, ['r1', 'r2', 'r3']);
});

test("a vault that never answers is given up after snapd's 15 attempts", async () => {
  const { transport, clock, run } = setup(() => {
    throw new TransportError('retryable', 'connection refused');
  });
  const res = await run();
  assert.ok(!res.ok);
  assert.equal(res.code, 'device-registration-failed');
  assert.match(res.reason, /connection refused.*gave up after 15 attempts/);
  assert.equal(transport.requests.length, MAX_TENTATIVES);
  assert.deepEqual(clock.sleeps, Array(MAX_TENTATIVES - 1).fill(RETRY_INTERVAL_MS));
  assert.equal(clock.now().getTime() - T0.getTime(), (MAX_TENTATIVES - 1) * RETRY_INTERVAL_MS);
});

test('a vault answering HTML with 200 to every serial POST is retried, then given up at the same limit', async () => {
  const { run, transport } = setup(vault(() => text(200, '<html>hello</html>')));
  const res = await run();
  assert.ok(!res.ok);
  assert.equal(res.code, 'device-registration-failed');
  assert.match(res.reason, /cannot read response to request for a serial/);
  assert.equal(transport.requests.filter((r) => r.url.endsWith('/request-id')).length, MAX_TENTATIVES);
});

test('no network: retried after 30 s without counting the attempt', async () => {
  let n = 0;
  const { clock, run } = setup((req) => {
    if (req.url.endsWith('/request-id') && ++n <= 20) throw new TransportError('no-network', 'network is unreachable');
    return req.url.endsWith('/request-id') ? json(200, { 'request-id': 'r' }) : good();
  });
  const res = await run();
  assert.ok(res.ok, 'more than 15 no-network rounds do not exhaust the attempts');
  assert.equal(clock.sleeps.length, 20);
  assert.ok(clock.sleeps.every((s) => s === RETRY_INTERVAL_MS / 2));
});

test('4xx and 500 fail at once, with the message of a JSON answer', async () => {
  for (const [answer, msg] of [
    [json(400, { code: 'serial-request-invalid', message: 'bad serial-request', error_list: [] }), /cannot deliver device serial request: bad serial-request$/],
    [json(500, { error_list: [{ code: 'x', message: 'from the list' }] }), /: from the list$/],
    [json(403, { message: 'ignored: not exactly application/json' }, 'application/json; charset=utf-8'), /unexpected status 403$/],
    [text(404, '<html>not found</html>'), /unexpected status 404$/],
  ] as const) {
    const { clock, run } = setup(vault(() => answer));
    const res = await run();
    assert.ok(!res.ok);
    assert.equal(res.code, 'device-registration-failed');
    assert.match(res.reason, msg);
    assert.deepEqual(clock.sleeps, []);
  }
  const { run } = setup(() => json(401, { message: 'no api key' }));
  const res = await run();
  assert.ok(!res.ok);
  assert.match(res.reason, /cannot retrieve request-id for making a request for a serial: no api key/);
});

test('a serial for another device, brand or model, or one that does not verify, is refused', async () => {
  const other = vectorKey('stranger');
  for (const [serial, msg] of [
    [testSerial(other), /does not match provided device identity/],
    [testSerial(device, { model: 'other' }), /does not match provided device identity/],
    [testSerial(device, { signer: other }), /the serial does not verify/],
  ] as const) {
    const { run, db } = setup(vault(() => stream(200, [serial, ...brandChain()])));
    const res = await run();
    assert.ok(!res.ok);
    assert.equal(res.code, 'device-serial-invalid');
    assert.match(res.reason, msg);
    assert.equal(db.find('serial', ['vectors-brand', 'box', 'box-0001']), undefined);
  }
  const { run } = setup(vault(() => stream(200, [...brandChain()])));
  const none = await run();
  assert.ok(!none.ok);
  assert.match(none.reason, /missing device serial assertion/);
  const { run: twice } = setup(vault(() => stream(200, [testSerial(device), testSerial(device, { serial: 'b' })])));
  assert.match(((await twice()) as { reason: string }).reason, /more than a single/);
});

test('a serial sent alone gets its chain from the store, as snapd does', async () => {
  const chain = new Map(brandChain().map((a) => [`${a.type}/${a.primaryKey.join('/')}`, a]));
  const fetched: string[] = [];
  const { run } = setup(vault(() => stream(200, [testSerial(device)])), {
    fetchAssertion: async (type, pk) => {
      fetched.push(type);
      return chain.get(`${type}/${pk.join('/')}`);
    },
  });
  const res = await run();
  assert.ok(res.ok, JSON.stringify(res));
  assert.deepEqual(fetched.sort(), ['account', 'account-key']);
  assert.deepEqual(res.added.map((a) => a.type), ['account', 'account-key', 'serial']);
  const { run: noChain } = setup(vault(() => stream(200, [testSerial(device)])));
  const failed = await noChain();
  assert.ok(!failed.ok);
  assert.equal(failed.code, 'device-serial-invalid');
});

test('device service URLs: the gadget URL, else the store, else none', () => {
  assert.deepEqual(deviceServiceUrls({ url: 'https://v.example/v1' }, undefined), { requestId: 'https://v.example/v1/request-id', serial: 'https://v.example/v1/serial' });
  assert.deepEqual(deviceServiceUrls({}, 'http://s.example/'), { requestId: 'http://s.example/api/v1/snaps/auth/request-id', serial: 'http://s.example/api/v1/snaps/auth/devices' });
  assert.equal(deviceServiceUrls({}, undefined), undefined);
});
