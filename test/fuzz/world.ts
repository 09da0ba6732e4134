// The world the route fuzzer runs in: one server with the store and the
// vault; accounts acme and other, stores, snaps registered, pushed and
// released, a device with a store session; in the vault, acme's signing key,
// a model and a factory API key. Plus the values worth putting in paths.
import { Agent } from 'node:http';
import type { DatabaseEngine } from '../../src/platform/db/index.ts';
import { storePlugin } from '../../src/store/index.ts';
import { createVaultService } from '../../src/vault/index.ts';
import { TEST_ADMIN_TOKEN, TEST_ROOT_ID, type TestServer } from '../helpers/server.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { deviceIdentity, expectStatus, push, sessionRequest, storeWorld, testSnaps } from '../store/fixtures.ts';

export interface FuzzWorld {
  s: TestServer;
  /** Where the server listens (requests go over real connections: node's own parsing, body handling and timeouts). */
  url: string;
  /** One kept-alive connection at a time. */
  agent: Agent;
  publisherToken: string;
  /** What snapd sends to the store: acme-store, amd64, series 16, and a valid session. */
  deviceHeaders: Record<string, string>;
  /** Path parameters that name things that exist (ids, names, digests), besides random ones. */
  knownValues: string[];
  close(): Promise<void>;
}

export async function fuzzWorld(engine: DatabaseEngine): Promise<FuzzWorld> {
  // Accounts acme and other, acme's key, the operator's and the brands' stores.
  const s = await storeWorld(engine, { services: [storePlugin, createVaultService({})], listen: true });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const admin = TEST_ADMIN_TOKEN;
    const snaps = await testSnaps();
    const publisherToken = await s.tokenFor(['publisher'], 'acme');
    const ids: Record<string, string> = {};
    ids.core20 = (await expectStatus(s.request('POST', '/api/store/stores/operator-store/snaps', { token: admin, body: { name: 'core20', private: false } }), 201)).json().snap.snapId;
    for (const name of ['acme-gadget', 'acme-kernel', 'acme-app']) {
      ids[name] = (await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: publisherToken, body: { name } }), 201)).json().snap.snapId;
    }
    const digests: string[] = [];
    digests.push((await expectStatus(push(s, admin, 'core20', snaps.get('core20')!.bytes, 'stable'), 201)).json().revision.sha3_384);
    for (const name of ['acme-gadget', 'acme-kernel', 'acme-app']) digests.push((await expectStatus(push(s, publisherToken, name, snaps.get(name)!.bytes, 'stable,edge'), 201)).json().revision.sha3_384);

    // A device session, as snapd opens one.
    const { model, serial } = deviceIdentity(ids);
    const nonce = (await expectStatus(s.request('POST', '/api/v1/snaps/auth/nonces'), 200)).json().nonce as string;
    const session = (
      await expectStatus(
        s.request('POST', '/api/v1/snaps/auth/sessions', { body: { 'device-session-request': sessionRequest(nonce).toString(), 'serial-assertion': serial.toString(), 'model-assertion': model.toString() } }),
        200,
      )
    ).json().macaroon as string;

    // The vault: acme's key imported (its account-key is the one above), the model, a factory API key.
    await expectStatus(s.request('POST', '/api/vault/brands/acme/keys', { token: admin, body: { name: 'serials', pem: vectorKey('brand').toPem(), register: false } }), 201);
    await expectStatus(s.request('POST', '/api/vault/brands/acme/models', { token: admin, body: { model: 'box', key: 'serials' } }), 201);
    const apiKey = (await expectStatus(s.request('POST', '/api/vault/brands/acme/api-keys', { token: admin, body: { name: 'line-1' } }), 201)).json().secret as string;

    return {
      s,
      url: s.server.url!,
      agent,
      publisherToken,
      deviceHeaders: {
        'snap-device-store': 'acme-store',
        'snap-device-architecture': 'amd64',
        'snap-device-series': '16',
        'snap-classic': 'false',
        'snap-device-authorization': `Macaroon root="${session}"`,
        'api-key': apiKey,
      },
      knownValues: ['acme', 'other', TEST_ROOT_ID, 'acme-store', 'operator-store', 'acme-app', 'core20', 'box', 'serials', 'models', '1', '2', '16', 'account', 'account-key', 'snap-declaration', 'model', 'validation-set', 'latest', ...Object.values(ids), ...digests, `${digests[0]}.snap`],
      async close() {
        agent.destroy();
        await s.close();
      },
    };
  } catch (err) {
    agent.destroy();
    await s.close();
    throw err;
  }
}
