// The snap action body is typed by its schema: wrong types are refused with a
// 400 in snapd's error shape (they used to reach the handler and answer 500),
// while the fields snapd sends that the store ignores are still taken.
import assert from 'node:assert/strict';
import { eachEngine } from './engines.ts';
import { storeWorld } from './fixtures.ts';

const SNAP_ID = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const HEADERS = { 'snap-device-store': 'acme-store', 'snap-device-architecture': 'amd64', 'snap-device-series': '16' };

eachEngine('snap action bodies with wrong types are refused in snapd error shape', async (engine, t) => {
  const s = await storeWorld(engine);
  t.after(() => s.close());
  const refresh = (body: unknown) => s.request('POST', '/v2/snaps/refresh', { headers: HEADERS, body });
  const refused = async (what: string, body: unknown) => {
    const res = await refresh(body);
    assert.equal(res.status, 400, `${what}: ${res.status} ${res.body}`);
    assert.equal(res.headers['content-type'], 'application/json', what);
    const answer = res.json();
    assert.equal(answer['error-list'].length, 1, what);
    assert.equal(answer['error-list'][0].code, 'validation-failed', what);
    assert.equal(typeof answer['error-list'][0].message, 'string', what);
  };
  const refreshAction = { action: 'refresh', 'instance-key': SNAP_ID, 'snap-id': SNAP_ID };
  const context = { 'snap-id': SNAP_ID, 'instance-key': SNAP_ID, revision: 1, 'tracking-channel': 'latest/stable', epoch: { read: [0], write: [0] } };

  await refused('an action channel that is a number', { context: [context], actions: [{ ...refreshAction, channel: 5 }] });
  await refused('an action channel that is an object', { context: [context], actions: [{ ...refreshAction, channel: { risk: 'stable' } }] });
  await refused('a tracking-channel that is a list', { context: [{ ...context, 'tracking-channel': ['stable'] }], actions: [refreshAction] });
  await refused('a tracking-channel that is null', { context: [{ ...context, 'tracking-channel': null }], actions: [refreshAction] });
  await refused('fetch-assertions with "assertions": 5', { actions: [{ action: 'fetch-assertions', key: 'k', assertions: 5 }] });
  await refused('fetch-assertions with "assertions": [null]', { actions: [{ action: 'fetch-assertions', key: 'k', assertions: [null] }] });
  await refused('an assertion primary key that is not strings', { actions: [{ action: 'fetch-assertions', key: 'k', assertions: [{ type: 'account', 'primary-key': [1] }] }] });
  await refused('actions that are not a list', { actions: { action: 'refresh' } });
  await refused('no actions', { context: [] });

  // What snapd sends besides the typed fields is taken (and ignored).
  const ok = await refresh({
    context: [{ ...context, 'refreshed-date': '2026-01-01T00:00:00Z', 'ignore-validation': false }],
    actions: [{ ...refreshAction, epoch: null, 'ignore-validation': null }, { action: 'fetch-assertions', key: 'k', assertions: [] }],
    fields: ['download'],
    'assertion-max-formats': { snap: 0 },
  });
  assert.equal(ok.status, 200, ok.body);
  const answer = ok.json();
  assert.equal(answer.results.find((r: { result: string }) => r.result === 'error')?.error.code, 'id-not-found');
  assert.deepEqual(answer.results.find((r: { result: string }) => r.result === 'fetch-assertions'), { result: 'fetch-assertions', key: 'k', 'assertion-stream-urls': [] });
});
