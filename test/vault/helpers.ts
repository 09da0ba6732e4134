// A vault for tests: a server with the vault service, brand "acme" with the
// vectors' brand key imported into the vault and certified by the root, a
// model, a factory API key, and a signed model assertion; plus a device that
// registers exactly like snapd (request-id, then serial-request + model).
import type { PrivateKey} from '../../src/assertions/index.ts';
import { ModelType, SerialRequestType, decodeStream, formatTimestamp, sign, type Assertion } from '../../src/assertions/index.ts';
import type { DatabaseEngine } from '../../src/platform/db/index.ts';
import { createVaultService, type VaultOptions } from '../../src/vault/index.ts';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from '../helpers/server.ts';
import { vectorKey } from '../helpers/vectors.ts';

export const BRAND = 'acme';
export const MODEL = 'box';

export interface TestVault {
  s: TestServer;
  admin: string;
  apiKey: string;
  brandKey: PrivateKey;
  model: Assertion;
  close(): Promise<void>;
}

export function modelAssertion(brandKey: PrivateKey, model: string, extra: Record<string, unknown> = {}, brand = BRAND): Assertion {
  return sign(
    ModelType,
    {
      headers: {
        'authority-id': brand,
        'brand-id': brand,
        series: '16',
        model,
        architecture: 'amd64',
        gadget: 'box-gadget',
        kernel: 'box-kernel',
        timestamp: formatTimestamp(new Date(Date.now() - 60_000)),
        ...extra,
      },
    },
    brandKey,
    new Date(),
  );
}

export async function startVault(engine: DatabaseEngine, opts: { vault?: VaultOptions; model?: Record<string, unknown>; listen?: boolean } = {}): Promise<TestVault> {
  const s = await startTestServer(engine, { services: [createVaultService(opts.vault ?? {})], ...(opts.listen ? { listen: true } : {}) });
  try {
    const admin = TEST_ADMIN_TOKEN;
    const must = async (method: string, url: string, body?: unknown) => {
      const r = await s.request(method, url, { token: admin, ...(body !== undefined ? { body } : {}) });
      if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${r.body}`);
      return r.json();
    };
    await must('POST', '/api/accounts', { accountId: BRAND });
    const brandKey = vectorKey('brand');
    await must('POST', `/api/vault/brands/${BRAND}/keys`, { name: 'serials', pem: brandKey.toPem() });
    await must('POST', `/api/vault/brands/${BRAND}/models`, { model: MODEL, key: 'serials', ...opts.model });
    const { secret } = await must('POST', `/api/vault/brands/${BRAND}/api-keys`, { name: 'line-1' });
    return { s, admin, apiKey: secret, brandKey, model: modelAssertion(brandKey, MODEL), close: () => s.close() };
  } catch (err) {
    await s.close();
    throw err;
  }
}

/** A serial-request as snapd's device manager signs it. */
export function serialRequest(deviceKey: PrivateKey, h: { requestId: string; brand?: string; model?: string; serial?: string; body?: string; extra?: Record<string, string> }): Assertion {
  return sign(
    SerialRequestType,
    {
      headers: {
        'brand-id': h.brand ?? BRAND,
        model: h.model ?? MODEL,
        'request-id': h.requestId,
        'device-key': deviceKey.publicKey.encode(),
        ...(h.serial ? { serial: h.serial } : {}),
        ...h.extra,
      },
      ...(h.body ? { body: h.body } : {}),
    },
    deviceKey,
    new Date(),
  );
}

export interface Answer {
  status: number;
  json: () => { code?: string; message?: string; error_list?: { code: string; message: string }[]; 'request-id'?: string };
  body: string;
  headers: Record<string, unknown>;
}

export async function requestId(v: TestVault, apiKey = v.apiKey): Promise<string> {
  const r = await v.s.request('POST', '/v1/request-id', { headers: { 'api-key': apiKey } });
  if (r.status !== 200) throw new Error(`request-id: ${r.status} ${r.body}`);
  return r.json()['request-id'];
}

export async function postSerial(v: TestVault, stream: Assertion[] | Buffer, apiKey = v.apiKey): Promise<Answer> {
  const payload = Buffer.isBuffer(stream) ? stream : Buffer.concat(stream.flatMap((a, i) => (i === 0 ? [a.encode()] : [Buffer.from('\n'), a.encode()])));
  return v.s.request('POST', '/v1/serial', {
    headers: { 'api-key': apiKey, 'content-type': 'application/x.ubuntu.assertion', 'snap-device-capabilities': 'serial-stream', 'user-agent': 'snapd/2.57.6 (series 16) ubuntu/22.04 (amd64) linux/6.1' },
    payload,
  });
}

/** request-id, then serial-request + model: the assertions returned (serial first). */
export async function register(v: TestVault, deviceKey: PrivateKey, h: { serial?: string; model?: Assertion; modelName?: string; body?: string } = {}): Promise<{ status: number; assertions: Assertion[]; answer: Answer }> {
  const rid = await requestId(v);
  const req = serialRequest(deviceKey, { requestId: rid, ...(h.serial ? { serial: h.serial } : {}), ...(h.modelName ? { model: h.modelName } : {}), ...(h.body ? { body: h.body } : {}) });
  const answer = await postSerial(v, [req, h.model ?? v.model]);
  return { status: answer.status, assertions: answer.status === 200 ? decodeStream(answer.body) : [], answer };
}
