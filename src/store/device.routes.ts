// The snapd-facing API (protocol section 6), at the server root so that a
// Snapline URL works as snapd's store base URL: HTTP in and out only. Each
// route reads what snapd sends (headers into a DeviceContext, the body as
// typed by its schema), calls the store service, and writes the answer the
// way snapd reads it. Every route is public: the service checks device
// sessions and the visibility of private snaps. Errors go out in snapd's
// error-list shape (errorShape 'snapd').
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { encodeStream, MEDIA_TYPE } from '../assertions/index.ts';
import { cohortRoutes } from './cohort.routes.ts';
import type { Device, DeviceContext, DeviceSession } from './sessions.service.ts';
import type { StoreService } from './store.service.ts';
import { SessionError } from './store.errors.ts';
import { identityOf } from './rollouts.ts';
import type { DeviceIdentity } from '../rollout/index.ts';
import { SnapdHeaders, SnapdRequest } from './device.schemas.ts';
import { AssertionParams, AssertionQueryString, DownloadParams, HealthReportBody, FindQuery, InfoParams, InfoQuery, SessionRequestBody, SnapActionBody } from './store.schemas.ts';

const PUBLIC = { kind: 'public' } as const;
export const SNAPD = { access: PUBLIC, errorShape: 'snapd' as const };

declare module 'fastify' {
  interface FastifyRequest {
    /** The device a store request comes from (its session), for update control and rollout health. */
    storeDevice?: DeviceSession;
  }
}

/** JSON with Content-Type exactly application/json: a Buffer, since fastify would add "; charset=utf-8" to a string, which snapd refuses for find and assertion errors. */
export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return sendJsonBytes(reply, status, Buffer.from(JSON.stringify(body)));
}

function sendJsonBytes(reply: FastifyReply, status: number, bytes: Buffer): FastifyReply {
  return reply.status(status).header('content-type', 'application/json').send(bytes);
}

/** A header's single value. */
function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  if (Array.isArray(v)) return v[0];
  return v === undefined || v === '' ? undefined : v;
}

/** What snapd's headers say (the Snap-Device-* names, or the older X-Ubuntu-* ones). */
export function deviceContext(req: FastifyRequest): DeviceContext {
  const auth = header(req, 'snap-device-authorization') ?? header(req, 'x-device-authorization');
  const classic = header(req, 'snap-classic') ?? header(req, 'x-ubuntu-classic');
  return {
    // `Macaroon root="<session>"`; anything else is a token no session has.
    sessionToken: auth === undefined ? undefined : (/^Macaroon\s+root="([^"]+)"/.exec(auth)?.[1] ?? ''),
    store: header(req, 'snap-device-store') ?? header(req, 'x-ubuntu-store'),
    architecture: header(req, 'snap-device-architecture') ?? header(req, 'x-ubuntu-architecture'),
    series: header(req, 'snap-device-series') ?? header(req, 'x-ubuntu-series'),
    classic: classic === undefined ? undefined : classic !== 'false',
    origin: req.headers.host ? `${req.protocol}://${req.headers.host}` : undefined,
    credential: storeCredential(header(req, 'authorization')),
  };
}

/**
 * A store credential in `Authorization`: `Macaroon <token>` (what snapd's
 * prepare-image sends for UBUNTU_STORE_AUTH {"t":"macaroon","v":…}) or
 * `Bearer <token>`. snapd's own user macaroons (`Macaroon root="…",
 * discharge="…"`, a login to another store) are not ours: ignored.
 */
function storeCredential(auth: string | undefined): string | undefined {
  const m = auth === undefined ? null : /^(?:Macaroon|Bearer)\s+([^\s",=]+)\s*$/i.exec(auth);
  return m?.[1];
}

/** The device a request comes from, noted on the request for the server's log and metrics. */
export async function deviceOf(store: StoreService, req: FastifyRequest): Promise<Device> {
  const d = await store.sessions.device(deviceContext(req));
  if (d.session) {
    req.storeDevice = d.session;
    if (req.log.level === 'debug' || req.log.level === 'trace') req.log.debug({ device: `${d.session.brandId}/${d.session.model}/${d.session.serial}` }, 'device request');
  }
  return d;
}

/**
 * The device behind a download, when it sends its session (snapd does to a
 * brand store: store/store.go, newRequest): update control logs it. A
 * session that is unknown or expired does not stop a download.
 */
async function downloader(store: StoreService, req: FastifyRequest): Promise<DeviceIdentity | undefined> {
  const token = deviceContext(req).sessionToken;
  if (!token) return undefined;
  try {
    const s = await store.sessions.session(token);
    return s ? identityOf(s) : undefined;
  } catch (err) {
    if (err instanceof SessionError) return undefined;
    throw err;
  }
}

const ASSERTIONS_PREFIX = '/v2/assertions/';

/**
 * The type and key of an assertion URL: its path segments, each decoded
 * once. The router's wildcard is decoded already (an escaped "/" in a key
 * would look like a separator, and decoding it again fails on a "%"), so the
 * segments are cut from the raw path.
 */
function assertionPath(url: string, decoded: string): string[] {
  const path = url.split('?', 1)[0]!;
  if (!path.startsWith(ASSERTIONS_PREFIX)) return decoded.split('/');
  return path
    .slice(ASSERTIONS_PREFIX.length)
    .split('/')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment; // not an escape: no assertion has such a key
      }
    });
}

/** A `Range: bytes=…` header against a file of `size` bytes: the whole file, a part, or unsatisfiable. */
function byteRange(range: string | undefined, size: number): { start: number; end: number; partial: boolean } | undefined {
  const whole = { start: 0, end: size - 1, partial: false };
  if (!range) return whole;
  const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!m || (m[1] === '' && m[2] === '')) return whole;
  let start: number;
  let end = size - 1;
  if (m[1] === '') start = Math.max(0, size - Number(m[2]));
  else {
    start = Number(m[1]);
    if (m[2] !== '') end = Math.min(size - 1, Number(m[2]));
  }
  return start >= size || start > end ? undefined : { start, end, partial: true };
}

export async function deviceRoutes(fastify: FastifyInstance, store: StoreService): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  // --- device sessions (6.3) ---
  await app.register(async (scope) => {
    // The nonce request has no body; accept (and ignore) whatever content type a client sends with it.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 4096 }, (_req, _body, done) => done(null, undefined));
    scope.post('/api/v1/snaps/auth/nonces', { config: { ...SNAPD, rawBody: true }, schema: { hide: true, ...SnapdRequest } }, async (_req, reply) => {
      return sendJson(reply, 200, { nonce: await store.sessions.nonce() });
    });
  });

  app.post('/api/v1/snaps/auth/sessions', { config: SNAPD, bodyLimit: 256 * 1024, schema: { hide: true, ...SnapdRequest, body: SessionRequestBody } }, async (req, reply) => {
    return sendJson(reply, 200, { macaroon: await store.sessions.open(req.body) });
  });

  // --- snap action (6.5) ---
  app.post('/v2/snaps/refresh', { config: SNAPD, schema: { hide: true, ...SnapdRequest, body: SnapActionBody } }, async (req, reply) => {
    return sendJsonBytes(reply, 200, await store.devices.snapAction(await deviceOf(store, req), req.body));
  });

  // Update control: explicit health reports of a device with its session (the device agent posts them).
  app.post('/api/store/device/health', { config: SNAPD, schema: { tags: ['store'], summary: 'A device reports snap revisions it runs healthy or not, with its device session (update control)', ...SnapdRequest, body: HealthReportBody } }, async (req, reply) => {
    return sendJson(reply, 200, await store.devices.reportHealth(await deviceOf(store, req), req.body.reports));
  });

  await cohortRoutes(app, store);

  // --- assertions (6.9) ---
  app.get('/v2/assertions/*', { config: SNAPD, schema: { hide: true, headers: SnapdHeaders, params: AssertionParams, querystring: AssertionQueryString } }, async (req, reply) => {
    const d = await deviceOf(store, req);
    const [type = '', ...key] = assertionPath(req.url, req.params['*']);
    const q = req.query;
    const stream = await store.devices.assertion(d, type, key, { maxFormat: q['max-format'], chain: q.chain, sequence: q.sequence });
    return reply.status(200).header('content-type', MEDIA_TYPE).send(encodeStream(stream));
  });

  // --- info (6.7) ---
  app.get('/v2/snaps/info/:name', { config: SNAPD, schema: { hide: true, headers: SnapdHeaders, params: InfoParams, querystring: InfoQuery } }, async (req, reply) => {
    const d = await deviceOf(store, req);
    return sendJson(reply, 200, await store.devices.info(d, req.params.name, { architecture: req.query.architecture }));
  });

  // --- find (6.8) ---
  app.get('/v2/snaps/find', { config: SNAPD, schema: { hide: true, headers: SnapdHeaders, querystring: FindQuery } }, async (req, reply) => {
    const d = await deviceOf(store, req);
    return sendJson(reply, 200, await store.devices.find(d, req.query));
  });

  // --- downloads (6.10): the digest in the URL names the file; Range and resume ---
  app.get('/api/v1/snaps/download/:digest/:file', { config: SNAPD, schema: { hide: true, ...SnapdRequest, params: DownloadParams } }, async (req, reply) => {
    const file = await store.devices.download(req.params.digest, await downloader(store, req));
    const size = file.size;
    const headers: Record<string, string> = { 'accept-ranges': 'bytes', etag: `"${file.digest}"`, 'content-type': 'application/octet-stream' };
    const range = header(req, 'range');
    const part = byteRange(range, size);
    if (!part) {
      headers['content-range'] = `bytes */${size}`;
      return reply
        .status(416)
        .headers(headers)
        .header('content-type', 'application/json')
        .send(Buffer.from(JSON.stringify({ 'error-list': [{ code: 'range-not-satisfiable', message: `range ${range} is outside ${size} bytes` }] })));
    }
    headers['content-length'] = String(part.end - part.start + 1);
    if (part.partial) headers['content-range'] = `bytes ${part.start}-${part.end}/${size}`;
    const status = part.partial ? 206 : 200;
    // HEAD: an empty stream keeps our Content-Length (fastify's HEAD handler would set 0 for no payload).
    if (req.method === 'HEAD') return reply.status(status).headers(headers).send(Readable.from([]));
    const blob = await file.open(part.start, part.end);
    return reply.sendByHand(status, headers, (res) => blob.sendTo(res));
  });
}
