// The store client of the image builder, speaking the snapd protocol exactly
// as snapd's image tooling does (protocol doc 6.2, 6.5, 6.9, 6.10, 6.13):
// POST v2/snaps/refresh with `download` actions and the v2 `Snap-*` headers;
// GET v2/assertions/<type>/<pk...> and downloads with the v1 `X-Ubuntu-*`
// headers; no device session (tooling never has one); optional user
// authorization from UBUNTU_STORE_AUTH (bearer or macaroon forms).
import http from 'node:http';
import https from 'node:https';
import { AssertionError, decodeStream, MEDIA_TYPE, assertionType, type Assertion, type Ref } from '../assertions/index.ts';
import { trimDefaultPrimaryKey } from '../assertions/assertion.ts';
import { ImageError } from './errors.ts';
import type { DownloadPool } from './download-pool.ts';

export const USER_AGENT = 'snapline/0.1.0 (image; series 16) linux';

/** The fields snapd asks for in every snap action. */
export const SNAP_ACTION_FIELDS = [
  'architectures', 'base', 'confinement', 'contact', 'created-at', 'description', 'download', 'epoch', 'license', 'name', 'prices',
  'private', 'publisher', 'revision', 'snap-id', 'snap-yaml', 'summary', 'title', 'type', 'version', 'website', 'store-url', 'media', 'common-ids',
];

export interface StoreClientOptions {
  /** Store API base URL (`UBUNTU_STORE_URL`-style); endpoints are joined to its path. */
  readonly baseUrl: string;
  /** The model's store id: `Snap-Device-Store` / `X-Ubuntu-Store` (omitted when empty). */
  readonly storeId: string;
  readonly architecture: string;
  /** The value of an `Authorization` header, if any. */
  readonly authorization?: string;
  /** Attempts for 5xx answers and transport errors (default 3). */
  readonly attempts?: number;
}

export interface StoreSnap {
  readonly name: string;
  readonly snapId: string;
  readonly revision: number;
  readonly type: string;
  readonly version: string;
  readonly publisherId: string;
  readonly downloadUrl: string;
  /** Lowercase hex. */
  readonly sha3_384: string;
  readonly size: number;
  readonly effectiveChannel: string;
  /** strict, classic or devmode ("" when not sent). */
  readonly confinement: string;
  readonly contact: string;
  readonly private: boolean;
}

export interface DownloadAction {
  readonly name: string;
  readonly channel?: string;
  readonly revision?: number;
  /** The enforced validation sets that pin `revision` (their primary keys). */
  readonly validationSets?: readonly (readonly string[])[];
}

export type ActionOutcome = { readonly ok: true; readonly snap: StoreSnap } | { readonly ok: false; readonly code: string; readonly message: string };

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Turns UBUNTU_STORE_AUTH (base64 JSON, protocol doc 6.4) into an Authorization header value. */
export function authorizationFromEnv(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  let j: { t?: string; v?: unknown; r?: string; d?: string };
  try {
    j = JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as typeof j;
  } catch {
    throw new ImageError('image-store-error', 'UBUNTU_STORE_AUTH is not base64 of a JSON object');
  }
  if (j.t === 'bearer' && typeof j.v === 'string') return `Bearer ${j.v}`;
  if (j.t === 'macaroon' && typeof j.v === 'string') return `Macaroon ${j.v}`;
  const u1 = j.t === 'u1-macaroon' ? (j.v as { r?: string; d?: string }) : j;
  if (u1 && typeof u1.r === 'string' && typeof u1.d === 'string') return `Macaroon root="${u1.r}", discharge="${u1.d}"`;
  throw new ImageError('image-store-error', 'UBUNTU_STORE_AUTH: unsupported credentials form');
}

/**
 * The content of an auth file (UBUNTU_STORE_AUTH_DATA_FILENAME, as snapd's
 * tooling reads it): the base64 form of UBUNTU_STORE_AUTH, or JSON with a
 * macaroon and its discharges.
 */
export function authorizationFromFile(text: string, file: string): string {
  const data = text.trim();
  if (data === '') throw new ImageError('image-store-error', `auth file ${file} is empty`);
  if (data.startsWith('{')) {
    let j: { macaroon?: unknown; discharges?: unknown };
    try {
      j = JSON.parse(data) as typeof j;
    } catch (err) {
      throw new ImageError('image-store-error', `auth file ${file}: ${(err as Error).message}`);
    }
    const d = Array.isArray(j.discharges) ? (j.discharges[0] as unknown) : undefined;
    if (typeof j.macaroon !== 'string' || typeof d !== 'string') throw new ImageError('image-store-error', `auth file ${file}: expected "macaroon" and "discharges"`);
    return `Macaroon root="${j.macaroon}", discharge="${d}"`;
  }
  return authorizationFromEnv(data)!;
}

const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 16 }), https: new https.Agent({ keepAlive: true, maxSockets: 16 }) };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class StoreClient {
  private readonly base: URL;
  private readonly attempts: number;

  constructor(private readonly opts: StoreClientOptions) {
    let u: URL;
    try {
      u = new URL(opts.baseUrl);
    } catch {
      throw new ImageError('image-store-error', `invalid store URL ${JSON.stringify(opts.baseUrl)}`);
    }
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.search !== '') {
      throw new ImageError('image-store-error', `invalid store URL ${JSON.stringify(opts.baseUrl)}: need http(s) and no query`);
    }
    this.base = u;
    this.attempts = opts.attempts ?? 3;
  }

  /** base path (trailing "/" trimmed) + "/" + endpoint, as snapd joins them. */
  endpoint(path: string): URL {
    const u = new URL(this.base.href);
    u.pathname = `${u.pathname.replace(/\/+$/, '')}/${path}`;
    return u;
  }

  private common(v2: boolean): Record<string, string> {
    const h: Record<string, string> = { 'User-Agent': USER_AGENT, 'Snap-Device-Capabilities': 'default-tracks' };
    const pre = v2 ? ['Snap-Device-Architecture', 'Snap-Device-Series', 'Snap-Classic', 'Snap-Device-Store'] : ['X-Ubuntu-Architecture', 'X-Ubuntu-Series', 'X-Ubuntu-Classic', 'X-Ubuntu-Store'];
    h[pre[0]!] = this.opts.architecture;
    h[pre[1]!] = '16';
    h[pre[2]!] = 'false';
    if (this.opts.storeId !== '') h[pre[3]!] = this.opts.storeId;
    if (!v2) h['X-Ubuntu-Wire-Protocol'] = '1';
    if (this.opts.authorization) h['Authorization'] = this.opts.authorization;
    return h;
  }

  private once(method: string, url: URL, headers: Record<string, string>, body?: Buffer): Promise<Response> {
    return new Promise((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(url, { method, headers, agent: url.protocol === 'https:' ? agents.https : agents.http, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** One request with snapd's retry policy (5xx and transport errors; shortened). */
  private async request(method: string, url: URL, headers: Record<string, string>, body?: Buffer): Promise<Response> {
    let lastErr: unknown;
    for (let i = 0; i < this.attempts; i++) {
      if (i > 0) await sleep(200 * 2.5 ** (i - 1));
      try {
        const res = await this.once(method, url, headers, body);
        if (res.status >= 500 && i < this.attempts - 1) {
          lastErr = new ImageError('image-store-error', `store answered ${res.status} to ${method} ${url.pathname}`);
          continue;
        }
        return res;
      } catch (err) {
        lastErr = err;
      }
    }
    if (lastErr instanceof ImageError) throw lastErr;
    throw new ImageError('image-store-error', `cannot reach the store at ${this.base.href}: ${(lastErr as Error).message}`);
  }

  /** POST v2/snaps/refresh with one `download` action per snap (no context: nothing is installed). */
  async download(actions: readonly DownloadAction[]): Promise<ActionOutcome[]> {
    const body = {
      context: [],
      actions: actions.map((a, i) => ({
        action: 'download',
        'instance-key': `download-${i + 1}`,
        name: a.name,
        ...(a.channel ? { channel: a.channel } : {}),
        ...(a.revision ? { revision: a.revision } : {}),
        ...(a.validationSets ? { 'validation-sets': a.validationSets.map((k) => [...k]) } : {}),
        'ignore-validation': true,
        epoch: null,
      })),
      fields: SNAP_ACTION_FIELDS,
    };
    const headers = { ...this.common(true), Accept: 'application/json', 'Content-Type': 'application/json' };
    const res = await this.request('POST', this.endpoint('v2/snaps/refresh'), headers, Buffer.from(JSON.stringify(body)));
    if (res.status !== 200) {
      throw new ImageError('image-store-error', `cannot ask the store for snaps: ${res.status} ${errorText(res.body)}`);
    }
    let j: { results?: unknown[]; 'error-list'?: { code?: string; message?: string }[] };
    try {
      j = JSON.parse(res.body.toString('utf8')) as typeof j;
    } catch {
      throw new ImageError('image-store-error', 'cannot decode the store\'s snap action answer: not JSON');
    }
    const byKey = new Map<string, Record<string, unknown>>();
    for (const r of j.results ?? []) {
      const o = r as Record<string, unknown>;
      if (typeof o['instance-key'] === 'string') byKey.set(o['instance-key'], o);
    }
    const topErr = (j['error-list'] ?? []).map((e) => e.message ?? e.code).filter(Boolean).join('; ');
    return actions.map((a, i) => {
      const r = byKey.get(`download-${i + 1}`);
      if (!r) return { ok: false, code: 'no-result', message: topErr || `no result from the store for ${JSON.stringify(a.name)}` };
      if (r['result'] === 'error') {
        const e = (r['error'] ?? {}) as { code?: string; message?: string };
        return { ok: false, code: e.code ?? 'error', message: e.message ?? 'store error' };
      }
      return { ok: true, snap: parseSnapObject(r) };
    });
  }

  /** GET v2/assertions/<type>/<pk...>; undefined when the store says not-found. */
  async assertion(ref: Ref): Promise<Assertion | undefined> {
    const t = assertionType(ref.type);
    if (!t) throw new ImageError('image-assertion-invalid', `unknown assertion type ${ref.type}`);
    const pk = trimDefaultPrimaryKey(t, ref.primaryKey);
    const u = this.endpoint(`v2/assertions/${ref.type}/${pk.map(encodeURIComponent).join('/')}`);
    u.searchParams.set('max-format', String(t.maxFormat));
    return this.getAssertion(u, ref.type, pk, (a) => a.primaryKey.join('/') === ref.primaryKey.join('/'));
  }

  /** The newest point of a sequence (a validation set the model does not pin), as snapd's SeqFormingAssertion asks: `?sequence=latest`. */
  async latestInSequence(type: string, sequenceKey: readonly string[]): Promise<Assertion | undefined> {
    const t = assertionType(type);
    if (!t?.sequenceForming) throw new ImageError('image-assertion-invalid', `${type} is not a sequence-forming assertion type`);
    const u = this.endpoint(`v2/assertions/${type}/${sequenceKey.map(encodeURIComponent).join('/')}`);
    u.searchParams.set('max-format', String(t.maxFormat));
    u.searchParams.set('sequence', 'latest');
    return this.getAssertion(u, type, sequenceKey, (a) => a.primaryKey.slice(0, -1).join('/') === sequenceKey.join('/'));
  }

  private async getAssertion(u: URL, type: string, pk: readonly string[], isIt: (a: Assertion) => boolean): Promise<Assertion | undefined> {
    const res = await this.request('GET', u, { ...this.common(false), Accept: MEDIA_TYPE });
    if (res.status !== 200) {
      const ct = String(res.headers['content-type'] ?? '');
      if (ct === 'application/json' || ct === 'application/problem+json') {
        const text = res.body.toString('utf8');
        if (/"not-found"/.test(text) || /"status":\s*404/.test(text)) return undefined;
        throw new ImageError('image-store-error', `assertion service error: ${errorText(res.body)}`);
      }
      throw new ImageError('image-store-error', `cannot fetch ${type} ${pk.join('/')}: HTTP ${res.status}`);
    }
    let list: Assertion[];
    try {
      list = decodeStream(res.body, { maxAssertions: 64 });
    } catch (err) {
      if (err instanceof AssertionError) throw new ImageError('image-assertion-invalid', `the store sent a bad ${type} assertion: ${err.message}`);
      throw err;
    }
    const first = list[0];
    if (!first || first.type !== type || !isIt(first)) {
      throw new ImageError('image-assertion-invalid', `the store sent something else for ${type} ${pk.join('/')}`);
    }
    return first;
  }

  /**
   * GETs a snap's download URL into `dest` through `pool` (which hashes the
   * file as it grows) and checks its size and hex SHA3-384
   * against the store's metadata. `onBytes` gets the bytes so far, now and
   * then, and the size at the end. Returns the base64url digest.
   */
  async fetchSnap(snap: StoreSnap, dest: string, pool: DownloadPool, onBytes?: (bytes: number) => void): Promise<string> {
    let url: URL;
    try {
      url = new URL(snap.downloadUrl, this.base);
    } catch {
      throw new ImageError('image-store-error', `bad download URL for ${snap.name}: ${JSON.stringify(snap.downloadUrl)}`);
    }
    const headers = { ...this.common(false), Accept: '' };
    let lastErr: unknown;
    let mismatches = 0;
    for (let i = 0; i < this.attempts; i++) {
      if (i > 0) await sleep(200 * 2.5 ** (i - 1));
      try {
        const { hex, size } = await this.downloadOnce(url, headers, snap, dest, pool, onBytes);
        if (size !== snap.size || hex !== snap.sha3_384) {
          // Like snapd: a mismatch gets one more download from scratch.
          if (mismatches++ === 0 && i < this.attempts - 1) {
            lastErr = new Error('digest mismatch');
            continue;
          }
          throw new ImageError(
            'image-digest-mismatch',
            `download of ${snap.name} revision ${snap.revision} does not match the store's metadata: got ${size} bytes with sha3-384 ${hex}, expected ${snap.size} bytes with ${snap.sha3_384}`,
          );
        }
        onBytes?.(size);
        return Buffer.from(hex, 'hex').toString('base64url');
      } catch (err) {
        if (err instanceof ImageError) throw err;
        lastErr = err;
      }
    }
    throw new ImageError('image-store-error', `cannot download ${snap.name}: ${(lastErr as Error).message}`);
  }

  /** One download, following up to 5 redirects. */
  private async downloadOnce(
    url: URL,
    headers: Record<string, string>,
    snap: StoreSnap,
    dest: string,
    pool: DownloadPool,
    onBytes: ((bytes: number) => void) | undefined,
  ): Promise<{ size: number; hex: string }> {
    for (let redirects = 0; ; redirects++) {
      const r = await pool.fetch({ url, headers, dest, limit: snap.size, timeoutMs: 60_000 }, onBytes);
      if (r.kind === 'body') return r;
      if (r.status >= 300 && r.status < 400 && r.location && redirects < 5) {
        url = new URL(r.location, url);
        continue;
      }
      if (r.status >= 500) throw new Error(`HTTP ${r.status}`);
      throw new ImageError('image-store-error', `cannot download ${snap.name}: HTTP ${r.status}`);
    }
  }
}

function errorText(body: Buffer): string {
  const t = body.toString('utf8');
  try {
    const j = JSON.parse(t) as { 'error-list'?: { message?: string; code?: string }[] };
    const l = j['error-list'];
    if (Array.isArray(l) && l.length > 0) return l.map((e) => e.message ?? e.code).join('; ');
  } catch {
    // not JSON
  }
  return t.slice(0, 200);
}

function parseSnapObject(r: Record<string, unknown>): StoreSnap {
  const s = (r['snap'] ?? {}) as Record<string, unknown>;
  const d = (s['download'] ?? {}) as Record<string, unknown>;
  const name = typeof s['name'] === 'string' ? s['name'] : String(r['name'] ?? '');
  const bad = (what: string) => new ImageError('image-store-error', `the store's answer for ${JSON.stringify(name)} has no valid ${what}`);
  if (typeof s['revision'] !== 'number' || !Number.isInteger(s['revision']) || s['revision'] < 1) throw bad('revision');
  if (typeof d['url'] !== 'string') throw bad('download.url');
  if (typeof d['sha3-384'] !== 'string' || !/^[0-9a-f]{96}$/.test(d['sha3-384'])) throw bad('download.sha3-384');
  if (typeof d['size'] !== 'number' || !Number.isSafeInteger(d['size']) || d['size'] < 0) throw bad('download.size');
  const snapId = typeof s['snap-id'] === 'string' ? s['snap-id'] : String(r['snap-id'] ?? '');
  if (snapId === '') throw bad('snap-id');
  const publisher = (s['publisher'] ?? {}) as Record<string, unknown>;
  return {
    name,
    snapId,
    revision: s['revision'],
    type: typeof s['type'] === 'string' ? s['type'] : 'app',
    version: typeof s['version'] === 'string' ? s['version'] : '',
    publisherId: typeof publisher['id'] === 'string' ? publisher['id'] : '',
    downloadUrl: d['url'],
    sha3_384: d['sha3-384'],
    size: d['size'],
    effectiveChannel: typeof r['effective-channel'] === 'string' ? r['effective-channel'] : '',
    confinement: typeof s['confinement'] === 'string' ? s['confinement'] : '',
    contact: typeof s['contact'] === 'string' ? s['contact'] : '',
    private: s['private'] === true,
  };
}
