// The gadget configuration keys registration reads (protocol doc 5.2), from
// what the prepare-device hook set with snapctl or from a --no-hooks file.
// Pure: a parsed document in, the registration settings or a DeviceError out.
import { DeviceError } from './errors.ts';
import type { RegistrationConfig } from './state.ts';

export type ConfigDoc = Record<string, unknown>;

/** Turns `{"device-service.url": …}` into `{"device-service": {"url": …}}`; nested input is kept. */
export function nestConfig(doc: Record<string, unknown>): ConfigDoc {
  const out: ConfigDoc = {};
  for (const [k, v] of Object.entries(doc)) setPath(out, k.split('.'), v);
  return out;
}

function setPath(obj: ConfigDoc, path: readonly string[], v: unknown): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (rest.length === 0) {
    const cur = obj[head];
    obj[head] = isObject(cur) && isObject(v) ? { ...cur, ...v } : v;
    return;
  }
  const child = isObject(obj[head]) ? (obj[head] as ConfigDoc) : {};
  obj[head] = child;
  setPath(child, rest, v);
}

function isObject(v: unknown): v is ConfigDoc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function get(doc: ConfigDoc, path: string): unknown {
  let cur: unknown = doc;
  for (const p of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

function bad(msg: string): never {
  throw new DeviceError('device-hook-failed', `unusable registration settings: ${msg}`);
}

/** The registration settings in a gadget configuration, checked as snapd reads them. */
export function registrationConfig(doc: ConfigDoc): RegistrationConfig {
  const out: { url?: string; headers?: Record<string, string>; proposedSerial?: string; body?: string } = {};
  const url = get(doc, 'device-service.url');
  if (url !== undefined) {
    if (typeof url !== 'string') bad(`device-service.url must be a string, not ${JSON.stringify(url)}`);
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return bad(`device-service.url ${JSON.stringify(url)} is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') bad(`device-service.url ${JSON.stringify(url)} is not an http(s) URL`);
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    out.url = u.toString();
  }
  const headers = get(doc, 'device-service.headers');
  if (headers !== undefined) {
    if (!isObject(headers)) bad(`device-service.headers must be a JSON object of strings, not ${JSON.stringify(headers)}`);
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) {
      if (typeof v !== 'string') bad(`device-service.headers.${k} must be a string`);
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) || /[\r\n\0]/.test(v)) bad(`device-service.headers has an unusable header ${JSON.stringify(k)}`);
      h[k] = v;
    }
    out.headers = h;
  }
  const serial = get(doc, 'registration.proposed-serial');
  if (serial !== undefined) {
    if (typeof serial !== 'string') bad('registration.proposed-serial must be a string');
    if (serial !== '') out.proposedSerial = serial;
  }
  const body = get(doc, 'registration.body');
  if (body !== undefined) {
    if (typeof body !== 'string') bad('registration.body must be a string');
    if (body !== '') out.body = body;
  }
  return out;
}
