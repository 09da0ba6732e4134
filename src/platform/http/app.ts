// The HTTP application every service plugs into: logging with request ids,
// body limits and schema validation, JSON errors with stable codes, access
// control on every route, metrics, health and the OpenAPI document.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifySchema } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import AjvCompiler, { type ValidatorFactory } from '@fastify/ajv-compiler';
import { authorize, type Access, type Principal } from './access.ts';
import { ApiError } from './errors.ts';
import { internalProblem, problemOf, sendProblem, unavailableCause, type ErrorShape, type Problem } from './error-shapes.ts';
import { clientErrorHandler } from './client-errors.ts';
import type { HttpLimits } from '../config.ts';
import type { Metrics } from './metrics.ts';
import { TokenRateLimiter } from './rate-limit.ts';

export interface HttpAppOptions {
  logLevel: string;
  bodyLimit: number;
  metrics: Metrics;
  /** Resolves a bearer token to its principal; throws ApiError('unauthorized') when invalid. */
  authenticate(token: string, req: FastifyRequest): Promise<Principal>;
  /**
   * Whether the process can serve (database reachable and migrated, not
   * shutting down). May throw a coded error saying why not (its code and
   * Retry-After are sent).
   */
  isReady(): Promise<boolean>;
  /** Bounds on connections (config `http`); node's and fastify's defaults when absent. */
  connectionLimits?: ConnectionLimits;
  /** Requests per second allowed per API token, per process (burst twice that). */
  tokenRateLimit?: number;
  /** Log destination; pino's default (stdout) when absent. */
  logStream?: NodeJS.WritableStream;
  version: string;
}

declare module 'fastify' {
  interface FastifyReply {
    /**
     * Answers by writing to the raw response (large bodies written with
     * reused buffers): fastify's reply lifecycle ends here, and what it would
     * have done at the end is done here too (metrics, the completion log line).
     * Resolves when the body is written, or the client went away.
     */
    sendByHand(status: number, headers: OutgoingHttpHeaders, write: (res: ServerResponse) => Promise<void>): Promise<void>;
  }
  interface FastifyContextConfig {
    /** The wire shape of this route's errors (snapd's store or vault JSON); the platform shape when absent. */
    errorShape?: ErrorShape;
    /** The route reads a raw body (upload, assertion stream) and needs no JSON schema. */
    rawBody?: boolean;
  }
}

/** What `Config['http']` holds (milliseconds; 0 turns a bound off). */
export type ConnectionLimits = HttpLimits;

/**
 * Node checks the headers and request timeouts of open connections on an
 * interval (30 s by default, which would let a 5 s bound run to 35 s): a
 * quarter of the shortest bound, between 50 ms and 5 s.
 */
function checkingInterval(l: ConnectionLimits): number {
  const bounds = [l.headersTimeoutMs, l.requestTimeoutMs].filter((ms) => ms > 0);
  return bounds.length === 0 ? 5000 : Math.min(5000, Math.max(50, Math.floor(Math.min(...bounds) / 4)));
}

/**
 * Closes the connection of a request whose body goes `ms` without a byte
 * arriving: a stalled or never-ending upload holds no connection for long,
 * however large the upload limit. Watches the socket's byte count, so the
 * body is not touched (it streams to whoever reads it).
 */
function watchBodyProgress(raw: IncomingMessage, ms: number, onStall: () => void): void {
  const socket = raw.socket;
  let seen = socket.bytesRead;
  let lastProgress = Date.now();
  const timer = setInterval(
    () => {
      if (socket.bytesRead !== seen) {
        seen = socket.bytesRead;
        lastProgress = Date.now();
      } else if (Date.now() - lastProgress >= ms) {
        stop();
        onStall();
        socket.destroy();
      }
    },
    Math.max(10, Math.min(1000, Math.floor(ms / 4))),
  );
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    raw.removeListener('end', stop);
    socket.removeListener('close', stop);
  };
  raw.once('end', stop);
  socket.once('close', stop);
}

export interface RouteInfo {
  method: string;
  url: string;
  access: Access;
  /** The route's validation schemas (body, querystring, params, headers), as declared. */
  schema: FastifySchema;
  /** The wire shape of its errors. */
  errorShape: ErrorShape;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** The admin and publisher API: `/api/...`, except snapd's `/api/v1/snaps/...` and the docs. */
function isAdminApi(url: string): boolean {
  return url.startsWith('/api/') && !url.startsWith('/api/v1/snaps/') && !url.startsWith('/api/docs');
}

const AJV_OPTIONS = { removeAdditional: false, useDefaults: true, allErrors: false } as const;
const validatorPool = AjvCompiler();

/** The error shape of the routes a path falls under: the route with the longest static prefix the path starts with. */
function shapeOfPath(routes: readonly RouteInfo[], url: string): ErrorShape {
  let shape: ErrorShape = 'platform';
  let longest = -1;
  for (const r of routes) {
    const prefix = r.url.split(/[:*]/, 1)[0]!;
    if (prefix.length > longest && url.startsWith(prefix)) {
      longest = prefix.length;
      shape = r.errorShape;
    }
  }
  return shape;
}

export async function createHttpApp(opts: HttpAppOptions): Promise<{ app: FastifyInstance; routes: RouteInfo[] }> {
  const routes: RouteInfo[] = [];
  const app = Fastify({
    logger: {
      level: opts.logLevel,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["snap-device-authorization"]', 'req.headers["x-device-authorization"]', 'req.headers["api-key"]'], censor: '[redacted]' },
      ...(opts.logStream ? { stream: opts.logStream } : {}),
    },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
    bodyLimit: opts.bodyLimit,
    // JSON bodies are taken as typed (no "1" for 1, no "x" for ["x"]); the query
    // string, path and headers, which are text, are coerced to their schema types.
    schemaController: {
      compilersFactory: {
        buildValidator: ((externalSchemas) => {
          const text = validatorPool(externalSchemas, { customOptions: { ...AJV_OPTIONS, coerceTypes: 'array' } });
          const body = validatorPool(externalSchemas, { customOptions: { ...AJV_OPTIONS, coerceTypes: false } });
          return (route) => (route.httpPart === 'body' ? body : text)(route);
        }) satisfies ValidatorFactory,
      },
    },
    return503OnClosing: true,
    // A URL the router cannot take (bad percent-encoding, a path parameter
    // over its length) is a bad request like any other, in the error shape
    // of the routes under that path (snapd's on the device API), not
    // fastify's own JSON.
    frameworkErrors: (err, req, reply) => {
      const problem = classify(err);
      req.log.info({ code: problem.code, status: problem.status }, problem.message);
      return sendProblem(reply, shapeOfPath(routes, req.url), problem);
    },
    clientErrorHandler: clientErrorHandler(
      (path) => shapeOfPath(routes, path),
      (problem, err) => app.log.info({ code: problem.code, status: problem.status, err: err.message }, 'refused before routing'),
    ),
    forceCloseConnections: 'idle',
    ...(opts.connectionLimits
      ? {
          // Whole request (node answers 408 and closes); 0 = off.
          requestTimeout: opts.connectionLimits.requestTimeoutMs,
          keepAliveTimeout: opts.connectionLimits.keepAliveTimeoutMs,
          maxRequestsPerSocket: opts.connectionLimits.maxRequestsPerSocket,
          http: {
            // Headers from their first byte (a slowloris sending them byte by byte is closed).
            headersTimeout: opts.connectionLimits.headersTimeoutMs,
            requestTimeout: opts.connectionLimits.requestTimeoutMs,
            connectionsCheckingInterval: checkingInterval(opts.connectionLimits),
          },
        }
      : {}),
  });
  const limits = opts.connectionLimits;
  // Connections past the cap are closed as soon as they are accepted.
  if (limits && limits.maxConnections > 0) app.server.maxConnections = limits.maxConnections;
  if (limits && limits.headersTimeoutMs > 0) {
    // Node's headers timeout starts at a request's first byte: a connection
    // that never sends one would stay open for good. Until its first request
    // arrives, a connection may be silent for the headers timeout at most.
    const awaitingFirstRequest = new WeakSet<object>();
    app.server.on('connection', (socket: Socket) => {
      awaitingFirstRequest.add(socket);
      socket.setTimeout(limits.headersTimeoutMs, () => socket.destroy());
    });
    app.addHook('onRequest', async (req) => {
      const socket = req.raw.socket;
      // Later requests on the connection: node's keep-alive timeout takes over.
      if (awaitingFirstRequest.delete(socket)) socket.setTimeout(0);
    });
  }
  if (limits && limits.bodyIdleTimeoutMs > 0) {
    app.addHook('onRequest', async (req) => {
      const h = req.raw.headers;
      if (h['transfer-encoding'] === undefined && (h['content-length'] === undefined || h['content-length'] === '0')) return;
      // A small body that came with the headers is already whole: nothing to watch.
      if (req.raw.complete) return;
      watchBodyProgress(req.raw, limits.bodyIdleTimeoutMs, () => req.log.info({ idleMs: limits.bodyIdleTimeoutMs }, 'request body stalled: connection closed'));
    });
  }

  // JSON only, unless a route registers its own parser (uploads, assertion streams).
  app.removeContentTypeParser('text/plain');

  // PostgreSQL cannot hold a NUL character in text: a request carrying one
  // (in its path, query or a JSON string) is refused here, before a query
  // that would fail in the database (SQLite would take it: same answer on both).
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body.toString();
    json(req, text, (err, value) => {
      if (!err && /\\u0000/i.test(text) && holdsNul(value)) return done(new ApiError('bad-request', 'a string of the body holds a NUL character'), undefined);
      done(err, value);
    });
  });
  app.addHook('onRequest', async (req) => {
    if (req.url.includes('%00')) throw new ApiError('bad-request', 'the URL holds a NUL character (%00)');
  });

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.every((m) => m === 'HEAD' || m === 'OPTIONS') && route.url !== '/healthz') return;
    const config = (route.config ?? {}) as { access?: Access; rawBody?: boolean; errorShape?: ErrorShape };
    // The documentation plugin's own routes are public.
    if (!config.access && route.url.startsWith('/api/docs')) {
      route.config = { ...config, access: { kind: 'public' } };
      config.access = { kind: 'public' };
    }
    if (!config.access) throw new Error(`route ${methods.join(',')} ${route.url} declares no access: every route must say who may call it`);
    if (methods.some((m) => BODY_METHODS.has(m)) && !route.schema?.body && !config.rawBody) {
      throw new Error(`route ${methods.join(',')} ${route.url} takes a body but declares no JSON schema for it`);
    }
    // The admin API takes no query parameter it does not declare. (snapd-facing
    // routes stay lenient: snapd sends parameters a store may ignore.)
    if (isAdminApi(route.url) && !route.schema?.querystring) {
      route.schema = { ...route.schema, querystring: { type: 'object', additionalProperties: false, properties: {} } };
    }
    for (const m of methods) if (m !== 'HEAD') routes.push({ method: m, url: route.url, access: config.access, schema: route.schema ?? {}, errorShape: config.errorShape ?? 'platform' });
  });

  const limiter = new TokenRateLimiter(opts.tokenRateLimit ?? 500);
  // Before validation, so that anonymous or unauthorized callers learn nothing
  // about what a route would accept.
  app.addHook('preValidation', async (req) => {
    const access = req.routeOptions.config.access;
    if (!access) return; // not-found handler
    const auth = req.headers.authorization;
    if (auth && access.kind !== 'public') {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      if (!m) throw new ApiError('unauthorized', 'unsupported Authorization scheme: use "Bearer <token>"');
      req.principal = await opts.authenticate(m[1]!, req);
      const key = req.principal.tokenId ?? `user:${req.principal.userId}`;
      if (!limiter.take(key)) throw new ApiError('rate-limited', 'too many requests for this token; slow down');
    }
    authorize(access, req);
  });

  const countResponse = (req: FastifyRequest, status: number, seconds: number) => {
    const route = req.routeOptions.url ?? 'unmatched';
    opts.metrics.requests.inc({ route, method: req.method, status: String(status) });
    opts.metrics.latency.observe({ route, method: req.method }, seconds);
  };
  app.addHook('onResponse', async (req, reply) => countResponse(req, reply.statusCode, reply.elapsedTime / 1000));
  app.decorateReply('sendByHand', async function (this: FastifyReply, status: number, headers: OutgoingHttpHeaders, write: (res: ServerResponse) => Promise<void>) {
    this.hijack();
    const res = this.raw;
    res.writeHead(status, headers);
    let failure: unknown;
    try {
      await write(res);
      res.end();
    } catch (err) {
      failure = err;
      res.destroy();
    }
    countResponse(this.request, status, this.elapsedTime / 1000);
    if (failure) this.log.info({ res: { statusCode: status }, responseTime: this.elapsedTime, reason: String(failure) }, 'request ended early');
    else this.log.info({ res: { statusCode: status }, responseTime: this.elapsedTime }, 'request completed');
  });

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    const problem = classify(err);
    // A database outage fails every request: a warning each, not an error report each.
    if (problem.code === 'database-unavailable') req.log.warn({ err }, 'database unavailable');
    else if (problem.status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ code: problem.code, status: problem.status }, problem.message);
    return sendProblem(reply, req.routeOptions?.config?.errorShape ?? 'platform', problem);
  });

  app.setNotFoundHandler((req, reply) => {
    sendProblem(reply, 'platform', { status: 404, code: 'not-found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Snapline admin and publisher API', version: opts.version, description: 'Every route except the snapd-facing device APIs.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    hideUntagged: false,
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });

  app.get('/healthz', { config: { access: { kind: 'public' } }, schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { access: { kind: 'public' } }, schema: { hide: true } }, async (req, reply) => {
    let problem: Problem | undefined;
    try {
      if (!(await opts.isReady())) problem = { status: 503, code: 'unavailable', message: 'not ready', retryAfterSeconds: 5 };
    } catch (err) {
      problem = classify(err as Error);
      if (problem.status < 500 || problem.code === 'internal-error') problem = { status: 503, code: 'unavailable', message: 'not ready (see the server log)', retryAfterSeconds: 5 };
      req.log.warn({ err }, 'not ready');
    }
    if (!problem) return reply.status(200).send({ status: 'ready' });
    return reply
      .status(503)
      .header('retry-after', String(problem.retryAfterSeconds ?? 5))
      .send({ status: 'unavailable', code: problem.code, reason: problem.message });
  });
  app.get('/metrics', { config: { access: { kind: 'superuser' } }, schema: { hide: true } }, async (_req, reply) => {
    reply.type(opts.metrics.registry.contentType);
    return opts.metrics.render();
  });

  return { app, routes };
}

/** Whether a parsed JSON value holds a NUL character in a string (or a property name). */
function holdsNul(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\0');
  if (Array.isArray(v)) return v.some(holdsNul);
  if (v !== null && typeof v === 'object') return Object.entries(v).some(([k, x]) => k.includes('\0') || holdsNul(x));
  return false;
}

/** Maps any error to a problem safe for clients: coded errors through the catalog, fastify's own by their kind. */
function classify(err: FastifyError | Error): Problem {
  const coded = problemOf(err);
  // A fault the database caused, even when a service wrapped it: 503, retried.
  if (!coded || coded.status >= 500) {
    const unavailable = unavailableCause(err);
    if (unavailable) return unavailable;
  }
  if (coded) return coded;
  const fe = err as FastifyError;
  if (fe.validation) return { status: 400, code: 'validation-failed', message: fe.message };
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'payload-too-large', message: 'request body is too large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'unsupported-media-type', message: fe.message };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, code: 'bad-request', message: fe.message };
  }
  if (fe.statusCode === 400 && err instanceof SyntaxError) return { status: 400, code: 'bad-request', message: `body is not valid JSON: ${err.message}` };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, code: fe.statusCode === 404 ? 'not-found' : 'bad-request', message: fe.message };
  }
  return internalProblem();
}
