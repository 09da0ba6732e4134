// The store as snapd's store client talks to it (store/store.go, auth.go,
// store_action.go, store_download.go; protocol doc 6): the header sets,
// retries of transport errors and 5xx (6 attempts within 38 s, from 0.5 s by
// a factor of 2.5), the device session (nonce, device-session-request,
// macaroon) opened on first need and renewed when the store says the device
// authorization needs refreshing, assertions, snap action and downloads.
// Pure: HTTP and the clock are passed in.
import {
  AssertionError,
  DeviceSessionRequestType,
  MEDIA_TYPE,
  assertionType,
  decodeStream,
  formatTimestamp,
  shortPrimaryKey,
  signAsync,
  type Assertion,
  type ModelData,
  type PrivateKey,
} from '../assertions/index.ts';
import { DeviceError } from './errors.ts';
import { TransportError, type Clock, type Downloaded, type HttpRequest, type HttpResponse, type Transport } from './io.ts';

const RETRY_ATTEMPTS = 6;
const RETRY_WINDOW_MS = 38_000;
const RETRY_INITIAL_MS = 500;
const RETRY_FACTOR = 2.5;
/** snapd refreshes credentials at most this many times per snap action. */
const MAX_SESSION_REFRESHES = 2;

export interface StoreClientOptions {
  storeUrl: string;
  model: Assertion<ModelData>;
  transport: Transport;
  clock: Clock;
  userAgent: string;
  /** The device's identity, once registered: sessions need it. */
  serial?: Assertion;
  key?: PrivateKey;
  /** A session kept from before. */
  session?: string;
  /** Told of every new session, to keep it. */
  onSession?: (macaroon: string) => void;
}

export interface ActionResponse {
  results: Record<string, unknown>[];
  errorList: { code: string; message: string }[];
}

/** The fields snapd asks for in a snap action (store/store_action.go). */
export const SNAP_ACTION_FIELDS = [
  'architectures', 'base', 'confinement', 'contact', 'created-at', 'description', 'download', 'epoch', 'license', 'name', 'prices', 'private', 'publisher',
  'revision', 'snap-id', 'snap-yaml', 'summary', 'title', 'type', 'version', 'website', 'store-url', 'media', 'common-ids',
];

function errorList(body: Buffer): { code: string; message: string }[] {
  try {
    const v = JSON.parse(body.toString('utf8')) as { 'error-list'?: { code?: unknown; message?: unknown }[] };
    return (v['error-list'] ?? []).map((e) => ({ code: String(e.code ?? ''), message: String(e.message ?? '') }));
  } catch {
    return [];
  }
}

function describe(res: HttpResponse): string {
  const list = errorList(res.body);
  if (list.length > 0) return `${res.status} ${list.map((e) => `${e.code}: ${e.message}`).join('; ')}`;
  const text = res.body.toString('utf8', 0, Math.min(res.body.length, 200)).replace(/\s+/g, ' ').trim();
  return `unexpected status ${res.status}${text ? ` (${text})` : ''}`;
}

export class StoreClient {
  private session: string | undefined;
  private readonly base: string;

  constructor(private readonly o: StoreClientOptions) {
    this.session = o.session;
    this.base = o.storeUrl.replace(/\/+$/, '');
  }

  get currentSession(): string | undefined {
    return this.session;
  }

  private common(v2: boolean): Record<string, string> {
    const m = this.o.model.data;
    const h: Record<string, string> = { 'user-agent': this.o.userAgent, 'snap-device-capabilities': 'default-tracks' };
    if (v2) {
      h['snap-device-architecture'] = m.architecture;
      h['snap-device-series'] = '16';
      h['snap-classic'] = String(m.classic);
      if (m.store) h['snap-device-store'] = m.store;
      if (this.session) h['snap-device-authorization'] = `Macaroon root="${this.session}"`;
    } else {
      h['x-ubuntu-architecture'] = m.architecture;
      h['x-ubuntu-series'] = '16';
      h['x-ubuntu-classic'] = String(m.classic);
      h['x-ubuntu-wire-protocol'] = '1';
      if (m.store) h['x-ubuntu-store'] = m.store;
      if (this.session) h['x-device-authorization'] = `Macaroon root="${this.session}"`;
    }
    return h;
  }

  /** snapd's RetryRequest: transport errors and 5xx are tried again, 6 attempts within 38 s; the last answer (or error) stands. */
  private async retrying<T>(what: string, attempt: () => Promise<T>, status: (r: T) => number): Promise<T> {
    const start = this.o.clock.now().getTime();
    let delay = RETRY_INITIAL_MS;
    for (let n = 1; ; n++) {
      // Decided after each attempt, as snapd's retry strategy does: no time left for another is the last.
      const last = () => n >= RETRY_ATTEMPTS || this.o.clock.now().getTime() - start + delay > RETRY_WINDOW_MS;
      try {
        const r = await attempt();
        if (status(r) < 500 || last()) return r;
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        if (err.kind === 'fatal' || last()) throw new DeviceError('device-store-error', `${what}: ${err.message} (after ${n} attempts)`);
      }
      await this.o.clock.sleep(delay);
      delay *= RETRY_FACTOR;
    }
  }

  private request(what: string, req: () => HttpRequest): Promise<HttpResponse> {
    return this.retrying(what, () => this.o.transport.request(req()), (r) => r.status);
  }

  /** Opens a new device session (renewing `this.session` when there is one). */
  async refreshSession(): Promise<string> {
    const { serial, key } = this.o;
    if (!serial || !key) throw new DeviceError('device-not-registered', 'the device has no serial: it cannot open a store session');
    const ua = { 'user-agent': this.o.userAgent, accept: 'application/json' };
    const nonceRes = await this.request('cannot get nonce from store', () => ({ method: 'POST', url: `${this.base}/api/v1/snaps/auth/nonces`, headers: ua }));
    if (nonceRes.status !== 200) throw new DeviceError('device-session-failed', `cannot get nonce from store: ${describe(nonceRes)}`);
    let nonce: unknown;
    try {
      nonce = (JSON.parse(nonceRes.body.toString('utf8')) as { nonce?: unknown }).nonce;
    } catch {
      nonce = undefined;
    }
    if (typeof nonce !== 'string' || nonce === '') throw new DeviceError('device-session-failed', 'cannot get nonce from store: the answer has no nonce');
    const now = this.o.clock.now();
    const m = this.o.model.data;
    const dsr = await signAsync(DeviceSessionRequestType, { headers: { 'brand-id': m.brandId, model: m.model, serial: serial.headerString('serial'), nonce, timestamp: formatTimestamp(now) } }, key, now);
    const body = Buffer.from(JSON.stringify({ 'device-session-request': dsr.toString(), 'serial-assertion': serial.toString(), 'model-assertion': this.o.model.toString() }));
    const old = this.session;
    const sessRes = await this.request('cannot get device session from store', () => ({
      method: 'POST',
      url: `${this.base}/api/v1/snaps/auth/sessions`,
      headers: { ...ua, 'content-type': 'application/json', ...(old ? { 'x-device-authorization': `Macaroon root="${old}"` } : {}) },
      body,
    }));
    if (sessRes.status !== 200 && sessRes.status !== 202) throw new DeviceError('device-session-failed', `cannot get device session from store: ${describe(sessRes)}`);
    let macaroon: unknown;
    try {
      macaroon = (JSON.parse(sessRes.body.toString('utf8')) as { macaroon?: unknown }).macaroon;
    } catch {
      macaroon = undefined;
    }
    if (typeof macaroon !== 'string' || macaroon === '' || macaroon.includes('"')) throw new DeviceError('device-session-failed', 'cannot get device session from store: the answer has no usable macaroon');
    this.session = macaroon;
    this.o.onSession?.(macaroon);
    return macaroon;
  }

  /** A session exists (opened now if needed, as snapd does before a store request that wants one). */
  async ensureSession(): Promise<void> {
    if (!this.session && this.o.serial) await this.refreshSession();
  }

  private needsRefresh(res: HttpResponse): boolean {
    if (res.status !== 401) return false;
    return (res.headers['www-authenticate'] ?? '').includes('refresh_device_session=1') || errorList(res.body).some((e) => e.code === 'device-authorization-needs-refresh');
  }

  /** An authorized request; a 401 asking for a new session gets one and is sent again. */
  private async authorized(what: string, build: () => HttpRequest): Promise<HttpResponse> {
    await this.ensureSession();
    for (let refreshes = 0; ; refreshes++) {
      const res = await this.request(what, build);
      if (!this.needsRefresh(res) || refreshes >= MAX_SESSION_REFRESHES || !this.o.serial) return res;
      await this.refreshSession();
    }
  }

  /** GET v2/assertions/<type>/<key>; undefined when the store has none. */
  async assertion(type: string, primaryKey: readonly string[]): Promise<Assertion | undefined> {
    const t = assertionType(type);
    if (!t) throw new DeviceError('device-store-error', `unknown assertion type ${type}`);
    return this.getAssertion(type, primaryKey, shortPrimaryKey(t, primaryKey), `max-format=${t.maxFormat}`);
  }

  /** The newest point of a sequence (a validation set not pinned by the model), as snapd's SeqFormingAssertion asks: `?sequence=latest`. */
  async latestInSequence(type: string, sequenceKey: readonly string[]): Promise<Assertion | undefined> {
    const t = assertionType(type);
    if (!t?.sequenceForming) throw new DeviceError('device-store-error', `${type} is not a sequence-forming assertion type`);
    return this.getAssertion(type, sequenceKey, sequenceKey, `max-format=${t.maxFormat}&sequence=latest`);
  }

  private async getAssertion(type: string, primaryKey: readonly string[], urlKey: readonly string[], query: string): Promise<Assertion | undefined> {
    const path = urlKey.map(encodeURIComponent).join('/');
    const res = await this.authorized(`cannot fetch ${type} assertion`, () => ({
      method: 'GET',
      url: `${this.base}/v2/assertions/${type}/${path}?${query}`,
      headers: { ...this.common(false), accept: MEDIA_TYPE },
    }));
    if (res.status === 404 || (res.status !== 200 && errorList(res.body).some((e) => e.code === 'not-found'))) return undefined;
    if (res.status !== 200) throw new DeviceError('device-store-error', `cannot fetch ${type} ${primaryKey.join('/')}: ${describe(res)}`);
    try {
      const [first] = decodeStream(res.body);
      if (!first || first.type !== type) throw new DeviceError('device-store-error', `the store answered ${type} ${primaryKey.join('/')} with something else`);
      return first;
    } catch (err) {
      if (err instanceof AssertionError) throw new DeviceError('device-store-error', `cannot decode ${type} ${primaryKey.join('/')}: ${err.message}`);
      throw err;
    }
  }

  /** POST v2/snaps/refresh; renews the session when the store asks (top-level or in a result), at most twice. */
  async snapAction(body: Record<string, unknown>, reason: 'scheduled' | undefined): Promise<ActionResponse> {
    const payload = Buffer.from(JSON.stringify(body));
    for (let refreshes = 0; ; refreshes++) {
      const res = await this.authorized('cannot refresh', () => ({
        method: 'POST',
        url: `${this.base}/v2/snaps/refresh`,
        headers: { ...this.common(true), accept: 'application/json', 'content-type': 'application/json', ...(reason ? { 'snap-refresh-reason': reason } : {}) },
        body: payload,
      }));
      if (res.status !== 200) throw new DeviceError('device-store-error', `cannot refresh: ${describe(res)}`);
      let v: { results?: unknown; 'error-list'?: unknown };
      try {
        v = JSON.parse(res.body.toString('utf8')) as typeof v;
      } catch {
        throw new DeviceError('device-store-error', 'cannot refresh: the store answered something that is not JSON');
      }
      if (typeof v !== 'object' || v === null || (v.results !== undefined && v.results !== null && !Array.isArray(v.results))) {
        throw new DeviceError('device-store-error', 'cannot refresh: the answer has no results list');
      }
      const results = (Array.isArray(v.results) ? v.results : []).filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null);
      const list = errorList(res.body);
      const asksRefresh = [...list, ...results.map((r) => (r['error'] as { code?: string } | undefined) ?? {})].some((e) => e.code === 'device-authorization-needs-refresh');
      if (asksRefresh && refreshes < MAX_SESSION_REFRESHES && this.o.serial) {
        await this.refreshSession();
        continue;
      }
      return { results, errorList: list };
    }
  }

  /**
   * Snapline's explicit health reports (POST api/store/device/health, with
   * the device session; docs/update-control.md): the revisions this refresh
   * installed (okay) or had to undo (error). An extension snapd does not
   * have, so a store that does not know it (404) is no error: returns false.
   */
  async reportHealth(reports: readonly { snapId: string; revision: number; status: 'okay' | 'error'; message?: string }[]): Promise<boolean> {
    if (reports.length === 0 || !this.o.serial) return false;
    const body = Buffer.from(JSON.stringify({ reports: reports.map((r) => ({ 'snap-id': r.snapId, revision: r.revision, status: r.status, ...(r.message ? { message: r.message.slice(0, 1000) } : {}) })) }));
    const res = await this.authorized('cannot report health', () => ({
      method: 'POST',
      url: `${this.base}/api/store/device/health`,
      headers: { ...this.common(true), accept: 'application/json', 'content-type': 'application/json' },
      body,
    }));
    if (res.status === 404 || res.status === 405) return false;
    if (res.status !== 200) throw new DeviceError('device-store-error', `cannot report health: ${describe(res)}`);
    return true;
  }

  /** Downloads a snap (v1 headers, as snapd); transport errors and 5xx are retried. */
  async download(url: string, reason: 'scheduled' | undefined): Promise<Downloaded> {
    await this.ensureSession();
    const req = (): HttpRequest => ({ method: 'GET', url, headers: { ...this.common(false), accept: '', ...(reason ? { 'snap-refresh-reason': reason } : {}) } });
    return this.retrying(`cannot download ${url}`, () => this.o.transport.download(req()), (r) => r.status);
  }
}
