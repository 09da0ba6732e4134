// Registration as snapd's device manager does it (overlord/devicestate,
// handlers_serial.go; protocol doc 5): POST request-id, a serial-request
// signed by the device key (request-id, proposed serial, body), POST serial
// with the model appended; 202 polls with the same serial-request; transport
// errors, undecodable answers and statuses above 500 retry with a new
// request-id after 60 s, up to 15 attempts; any other status (4xx and 500)
// fails at once with the vault's message. The serial is checked (brand,
// model, device key, serial-authority, signature chain) before it is
// returned. Pure: HTTP and the clock are passed in.
import {
  AssertionError,
  MEDIA_TYPE,
  SerialRequestType,
  decodeStream,
  signAsync,
  type Assertion,
  type ModelData,
  type PrivateKey,
  type SerialData,
  type TrustDatabase,
} from '../assertions/index.ts';
import { addWithPrerequisites, type AssertionFetcher } from './chain.ts';
import { DeviceError, type DeviceErrorCode } from './errors.ts';
import { TransportError, errorMessage, type Clock, type HttpResponse, type Transport } from './io.ts';
import type { RegistrationConfig } from './state.ts';

/** snapd's retryInterval and maxTentatives (handlers_serial.go). */
export const RETRY_INTERVAL_MS = 60_000;
export const MAX_TENTATIVES = 15;
/** snapd polls a 202 without end; the agent stops after this many polls (24 hours at 60 s). */
export const DEFAULT_MAX_POLLS = 1440;

export type RegistrationEvent =
  | { kind: 'request-id'; url: string }
  | { kind: 'serial'; url: string }
  | { kind: 'poll'; afterMs: number }
  | { kind: 'retry'; afterMs: number; reason: string };

export interface RegisterOptions {
  model: Assertion<ModelData>;
  key: PrivateKey;
  config: RegistrationConfig;
  /** The store API base: the device service when the gadget names none (api/v1/snaps/auth/...). */
  storeUrl?: string;
  /** The device's assertions; the serial and its chain are added to it. */
  db: TrustDatabase;
  transport: Transport;
  clock: Clock;
  userAgent: string;
  /** Fetches the serial's signing chain when the vault sends the serial alone (snapd asks the store). */
  fetchAssertion?: AssertionFetcher;
  maxPolls?: number;
  onEvent?: (e: RegistrationEvent) => void;
}

export interface RequestCounts {
  requestIds: number;
  serialPosts: number;
  polls: number;
}

export type RegisterResult =
  | { ok: true; serial: Assertion<SerialData>; added: Assertion[]; requests: RequestCounts }
  | { ok: false; code: DeviceErrorCode; reason: string; requests: RequestCounts };

/** The two URLs of the device service (protocol doc 5.3). */
export function deviceServiceUrls(config: RegistrationConfig, storeUrl: string | undefined): { requestId: string; serial: string } | undefined {
  if (config.url) {
    const base = config.url.endsWith('/') ? config.url : `${config.url}/`;
    return { requestId: new URL('request-id', base).toString(), serial: new URL('serial', base).toString() };
  }
  if (!storeUrl) return undefined;
  const base = storeUrl.replace(/\/+$/, '');
  return { requestId: `${base}/api/v1/snaps/auth/request-id`, serial: `${base}/api/v1/snaps/auth/devices` };
}

/** The message of a vault's error answer, as snapd extracts it (Content-Type exactly application/json). */
export function vaultMessage(res: HttpResponse): string | undefined {
  if (res.headers['content-type'] !== 'application/json') return undefined;
  try {
    const v = JSON.parse(res.body.toString('utf8')) as { message?: unknown; error_list?: { message?: unknown }[] };
    const msg = typeof v.message === 'string' && v.message !== '' ? v.message : v.error_list?.[0]?.message;
    return typeof msg === 'string' && msg !== '' ? msg : undefined;
  } catch {
    return undefined;
  }
}

/** A retry (after `afterMs`) or the end of the attempt. */
type Step = { retry: true; afterMs: number; reason: string; resetTentatives?: boolean } | { retry: false; code: DeviceErrorCode; reason: string };

function retryErr(n: number, reason: string): Step {
  return n >= MAX_TENTATIVES ? { retry: false, code: 'device-registration-failed', reason: `${reason} (gave up after ${n} attempts)` } : { retry: true, afterMs: RETRY_INTERVAL_MS, reason };
}

function retryBadStatus(n: number, what: string, res: HttpResponse): Step {
  if (res.status > 500) return retryErr(n, `${what}: unexpected status ${res.status}`);
  const msg = vaultMessage(res);
  return { retry: false, code: 'device-registration-failed', reason: `${what}: ${msg ?? `unexpected status ${res.status}`}` };
}

function transportStep(n: number, what: string, err: TransportError): Step {
  if (err.kind === 'fatal') return { retry: false, code: 'device-registration-failed', reason: `${what}: ${err.message}` };
  if (err.kind === 'no-network') return { retry: true, afterMs: RETRY_INTERVAL_MS / 2, reason: `${what}: ${err.message}`, resetTentatives: true };
  return retryErr(n, `${what}: ${err.message}`);
}

/** Runs one become-operational attempt's request-serial task to its end: a verified serial, or a failure. */
export async function register(o: RegisterOptions): Promise<RegisterResult> {
  const requests: RequestCounts = { requestIds: 0, serialPosts: 0, polls: 0 };
  const fail = (code: DeviceErrorCode, reason: string): RegisterResult => ({ ok: false, code, reason, requests });
  const urls = deviceServiceUrls(o.config, o.storeUrl);
  if (!urls) return fail('device-registration-failed', 'no device service: the gadget set no device-service.url and no store URL is known');
  const baseHeaders = { 'user-agent': o.userAgent, ...lower(o.config.headers ?? {}) };
  const maxPolls = o.maxPolls ?? DEFAULT_MAX_POLLS;

  let tentatives = 0; // snapd's pre-poll-tentatives
  let serialRequest: Buffer | undefined; // kept across 202 polls only
  for (;;) {
    let step: Step | undefined;
    if (!serialRequest) {
      tentatives++;
      const what = 'cannot retrieve request-id for making a request for a serial';
      requests.requestIds++;
      o.onEvent?.({ kind: 'request-id', url: urls.requestId });
      try {
        const res = await o.transport.request({ method: 'POST', url: urls.requestId, headers: baseHeaders });
        if (res.status !== 200) step = retryBadStatus(tentatives, what, res);
        else {
          const requestId = parseRequestId(res.body);
          if (requestId === undefined) step = retryErr(tentatives, `cannot read response with request-id for making a request for a serial: not a JSON object with a request-id`);
          else serialRequest = await buildSerialRequest(o, requestId);
        }
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        step = transportStep(tentatives, what, err);
      }
    }
    if (!step && serialRequest) {
      const what = 'cannot deliver device serial request';
      requests.serialPosts++;
      o.onEvent?.({ kind: 'serial', url: urls.serial });
      let res: HttpResponse | undefined;
      try {
        res = await o.transport.request({
          method: 'POST',
          url: urls.serial,
          headers: { ...baseHeaders, 'snap-device-capabilities': 'serial-stream', 'content-type': MEDIA_TYPE },
          body: Buffer.concat([serialRequest, Buffer.from('\n'), o.model.encode()]),
        });
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        // snapd counts these with 0 tentatives: it retries them from scratch without a limit of its own.
        step = transportStep(0, what, err);
      }
      if (res && res.status === 202) {
        requests.polls++;
        if (requests.polls > maxPolls) return fail('device-registration-failed', `the device service kept answering 202 (accepted, poll later) ${maxPolls} times`);
        o.onEvent?.({ kind: 'poll', afterMs: RETRY_INTERVAL_MS });
        await o.clock.sleep(RETRY_INTERVAL_MS);
        continue; // the same serial-request again
      }
      if (res && res.status !== 200 && res.status !== 201) step = retryBadStatus(0, what, res);
      else if (res) {
        let stream: Assertion[];
        try {
          stream = decodeStream(res.body);
        } catch (err) {
          if (!(err instanceof AssertionError)) throw err;
          stream = [];
          step = { retry: true, afterMs: RETRY_INTERVAL_MS, reason: `cannot read response to request for a serial: ${err.message}` };
        }
        if (!step) return finish(o, stream, requests);
      }
    }
    if (!step) throw new Error('internal error: registration step without outcome');
    if (!step.retry) return fail(step.code, step.reason);
    // The serial POST failures of snapd count nothing, so a vault answering 503 for ever keeps it
    // retrying; the agent counts every round and stops at the same limit.
    if (step.resetTentatives) tentatives = 0;
    else if (tentatives >= MAX_TENTATIVES) return fail('device-registration-failed', `${step.reason} (gave up after ${tentatives} attempts)`);
    serialRequest = undefined;
    o.onEvent?.({ kind: 'retry', afterMs: step.afterMs, reason: step.reason });
    await o.clock.sleep(step.afterMs);
  }
}

function lower(h: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

function parseRequestId(body: Buffer): string | undefined {
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    const id = (v as Record<string, unknown>)['request-id'];
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

async function buildSerialRequest(o: RegisterOptions, requestId: string): Promise<Buffer> {
  const headers: Record<string, string> = {
    'brand-id': o.model.data.brandId,
    model: o.model.data.model,
    'request-id': requestId,
    'device-key': o.key.publicKey.encode(),
  };
  if (o.config.proposedSerial) headers['serial'] = o.config.proposedSerial;
  const req = await signAsync(SerialRequestType, { headers, ...(o.config.body ? { body: o.config.body } : {}) }, o.key, o.clock.now());
  return req.encode();
}

/** snapd's checks of the answer (protocol doc 5.6), then the serial and its chain into the database. */
async function finish(o: RegisterOptions, stream: Assertion[], requests: RequestCounts): Promise<RegisterResult> {
  const fail = (code: DeviceErrorCode, reason: string): RegisterResult => ({ ok: false, code, reason, requests });
  const serials = stream.filter((a) => a.type === 'serial') as Assertion<SerialData>[];
  if (serials.length === 0) return fail('device-serial-invalid', 'cannot proceed, received assertion stream from the device service missing device serial assertion');
  if (serials.length > 1) return fail('device-serial-invalid', 'cannot accept more than a single device serial assertion from the device service');
  const serial = serials[0]!;
  const { brandId, model } = o.model.data;
  if (serial.data.brandId !== brandId || serial.data.model !== model || serial.data.deviceKeyId !== o.key.id) {
    return fail(
      'device-serial-invalid',
      `obtained serial assertion does not match provided device identity information (brand, model, key id): ${serial.data.brandId} / ${serial.data.model} / ${serial.data.deviceKeyId} != ${brandId} / ${model} / ${o.key.id}`,
    );
  }
  if (serial.authorityId !== serial.data.brandId && !o.model.data.serialAuthority.includes(serial.authorityId)) {
    return fail('device-serial-invalid', `obtained serial assertion is signed by authority ${JSON.stringify(serial.authorityId)} different from brand ${JSON.stringify(serial.data.brandId)} without model assertion with serial-authority set to to allow for them`);
  }
  const others = stream.filter((a) => a.type !== 'serial');
  const byRef = new Map(others.map((a) => [`${a.type}/${a.primaryKey.join('/')}`, a]));
  // The vault's own chain first, then the store for whatever is still missing.
  const fetch: AssertionFetcher = async (type, pk) => byRef.get(`${type}/${pk.join('/')}`) ?? (await o.fetchAssertion?.(type, pk));
  try {
    const added = await addWithPrerequisites(o.db, serial, fetch);
    return { ok: true, serial, added, requests };
  } catch (err) {
    if (err instanceof AssertionError) return fail('device-serial-invalid', `the serial does not verify: ${err.message}`);
    if (err instanceof DeviceError) return fail(err.code, err.message);
    return fail('device-serial-invalid', `cannot fetch the serial's signing chain: ${errorMessage(err)}`);
  }
}

