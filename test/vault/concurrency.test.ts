// Hundreds of devices registering at once: unique serials, one log row per
// device, none lost; a device key racing itself gets one serial. (Device keys
// here are 1024-bit so that making them stays cheap; the vault's own
// signature is RSA-4096 as always.)
import assert from 'node:assert/strict';
import { generateKeyPair } from 'node:crypto';
import { PrivateKey, decodeStream, type SerialData } from '../../src/assertions/index.ts';
import { vaultTest } from './engines.ts';
import { BRAND, modelAssertion, postSerial, requestId, serialRequest } from './helpers.ts';

const DEVICES = 200;
const TWINS = 20;

const keys: Promise<PrivateKey[]> = Promise.all(
  Array.from(
    { length: DEVICES },
    () => new Promise<PrivateKey>((resolve, reject) => generateKeyPair('rsa', { modulusLength: 1024 }, (err, _pub, priv) => (err ? reject(err) : resolve(new PrivateKey(priv))))),
  ),
);

vaultTest('concurrent registrations: hundreds at once give unique serials and lose no log rows', async (v) => {
  const devices = await keys;
  assert.equal((await v.s.request('POST', `/api/vault/brands/${BRAND}/models`, { token: v.admin, body: { model: 'counted', key: 'serials', serialTemplate: 'C{counter:8}' } })).status, 201);
  const counted = modelAssertion(v.brandKey, 'counted');
  const rids = await Promise.all(devices.map(() => requestId(v)));
  const answers = await Promise.all(
    devices.map((k, i) => {
      const model = i % 2 === 0 ? v.model : counted;
      return postSerial(v, [serialRequest(k, { requestId: rids[i]!, model: model.headerString('model') }), model]);
    }),
  );
  assert.deepEqual(answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.body}`), []);
  const serials = answers.map((a) => decodeStream(a.body)[0]!.data as SerialData);
  assert.equal(new Set(serials.map((s) => `${s.model}/${s.serial}`)).size, DEVICES);
  serials.forEach((s, i) => assert.equal(s.deviceKeyId, devices[i]!.id));
  const countedSerials = serials.filter((s) => s.model === 'counted').map((s) => s.serial).sort();
  assert.deepEqual(countedSerials, Array.from({ length: DEVICES / 2 }, (_, i) => `C${String(i + 1).padStart(8, '0')}`));
  const exported = (await v.s.request('GET', `/api/vault/brands/${BRAND}/log/export?format=json`, { token: v.admin })).json() as { serial: string; pending: boolean }[];
  assert.equal(exported.length, DEVICES);
  assert.ok(exported.every((e) => !e.pending));

  // One device key racing itself: one serial, one log row; the twins that
  // find it still being signed get 202 and, re-posting the same request as
  // snapd does, the same serial.
  const twin = devices[0]!;
  const twinRids = await Promise.all(Array.from({ length: TWINS }, () => requestId(v)));
  const twinReqs = twinRids.map((rid) => serialRequest(twin, { requestId: rid, model: 'counted' }));
  const twinAnswers = await Promise.all(twinReqs.map((r) => postSerial(v, [r, counted])));
  const got = new Set<string>();
  for (let i = 0; i < TWINS; i++) {
    let a = twinAnswers[i]!;
    if (a.status === 202) a = await postSerial(v, [twinReqs[i]!, counted]);
    assert.equal(a.status, 200, a.body);
    got.add((decodeStream(a.body)[0]!.data as SerialData).serial);
  }
  assert.equal(got.size, 1);
  const log = (await v.s.request('GET', `/api/vault/brands/${BRAND}/log?model=counted&deviceKey=${encodeURIComponent(twin.id)}`, { token: v.admin })).json();
  assert.equal(log.entries.length, 1);
});
