// Property-based fuzzing of every route of a server with the store and the
// vault (platform, store and vault routes; public and authenticated ones,
// called with and without an administrator's token): bodies generated from
// the route's own JSON schema, valid and with one place of the wrong type,
// random JSON, raw bytes, random query strings and header values. Every
// answer must come within a bound, be no 5xx (a 503 only for a route that
// says it is unavailable, never an internal error dressed as one), and, from
// 400 on, be JSON in the route's error shape; the server's heap must stay
// bounded over the run.
//
// Fast in CI: SNAPLINE_FUZZ_RUNS requests per route (default 6, a few hundred
// in all); the bench suite raises it. SNAPLINE_FUZZ_SEED replays a run,
// SNAPLINE_FUZZ_ENGINE=postgres runs it on PostgreSQL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc, { type Arbitrary } from 'fast-check';
import type { RouteInfo } from '../../src/platform/http/app.ts';
import type { DatabaseEngine } from '../../src/platform/db/index.ts';
import { postgresUnavailable } from '../helpers/databases.ts';
import { TEST_ADMIN_TOKEN } from '../helpers/server.ts';
import { schemaArbitrary, validAndMutated, type JsonSchema } from './schema-arbitrary.ts';
import { fuzzWorld, type FuzzWorld } from './world.ts';

const RUNS = Math.max(1, Number(process.env.SNAPLINE_FUZZ_RUNS ?? 6));
const SEED = process.env.SNAPLINE_FUZZ_SEED ? Number(process.env.SNAPLINE_FUZZ_SEED) : Date.now() ^ (Math.random() * 2 ** 31);
const ENGINE = (process.env.SNAPLINE_FUZZ_ENGINE ?? 'sqlite') as DatabaseEngine;
/** No answer may take longer (no hang). */
const ANSWER_BOUND_MS = Number(process.env.SNAPLINE_FUZZ_ANSWER_MS ?? 5000);
/** Heap growth allowed from after the first round to the end, after a full GC. */
const HEAP_GROWTH_MIB = 48;

type ErrorShape = 'platform' | 'snapd' | 'vault';
/** A route as the server lists it (RouteInfo), read loosely. */
interface FuzzRoute {
  method: string;
  url: string;
  access: RouteInfo['access'];
  schema?: { body?: unknown; querystring?: unknown; params?: unknown; headers?: unknown };
  errorShape?: ErrorShape;
}

interface FuzzRequest {
  kind: string;
  params: string[];
  query: [string, string][];
  headers: Record<string, string>;
  auth: 'none' | 'admin' | 'bogus' | 'publisher';
  body?: { json: unknown } | { raw: Buffer; contentType: string | undefined };
}

// ---- pieces of requests

/** Header values as a client can send them: visible ASCII, space and tab. */
const headerText = (s: string) => s.replace(/[^\t\x20-\x7e]/g, '?');
const anyText: Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 200, maxLength: 9000 }) },
  { weight: 2, arbitrary: fc.constantFrom('', '0', '-1', 'true', 'false', 'null', '[]', '{}', '%', '%zz', '../..', 'latest/stable', 'Macaroon root="x"', 'Bearer x', 'bytes=0-', 'bytes=5-1', 'bytes=-0', 'bytes=99999999999999999999-') },
);
const headerName = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);

/** A JSON value of a schema part, as query-string text. */
function asText(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v);
}

function queryArb(schema: JsonSchema | undefined): Arbitrary<[string, string][]> {
  const known = Object.keys((schema?.properties ?? {}) as object);
  const key = known.length ? fc.oneof(fc.constantFrom(...known), fc.string({ minLength: 1, maxLength: 10 })) : fc.string({ minLength: 1, maxLength: 10 });
  const random = fc.array(fc.tuple(key, anyText), { maxLength: 4 });
  if (!schema) return random;
  const fromSchema = schemaArbitrary(schema).map((o) =>
    o !== null && typeof o === 'object' && !Array.isArray(o) ? Object.entries(o).flatMap(([k, v]): [string, string][] => (Array.isArray(v) ? v.map((x) => [k, asText(x)] as [string, string]) : [[k, asText(v)]])) : [],
  );
  return fc.oneof(fromSchema, random, fc.tuple(fromSchema, random).map(([a, b]) => [...a, ...b]));
}

function headersArb(schema: JsonSchema | undefined): Arbitrary<Record<string, string>> {
  const known = Object.keys((schema?.properties ?? {}) as object);
  const name = known.length ? fc.oneof(fc.constantFrom(...known), headerName) : headerName;
  const random = fc.dictionary(name, anyText, { maxKeys: 4 });
  const fromSchema = schema ? schemaArbitrary(schema).map((o) => (o !== null && typeof o === 'object' && !Array.isArray(o) ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k.toLowerCase(), asText(v)])) : {})) : fc.constant({});
  return fc.oneof(fromSchema, random).map((h) => {
    const out: Record<string, string> = {};
    // Headers the HTTP layer itself owns would make a request that never reaches the route.
    for (const [k, v] of Object.entries(h)) if (/^[\w!#$%&'*+.^`|~-]+$/.test(k) && !['content-length', 'transfer-encoding', 'host', 'connection', 'expect', 'content-type'].includes(k)) out[k] = headerText(v);
    return out;
  });
}

const CONTENT_TYPES = ['application/json', 'application/octet-stream', 'application/x.ubuntu.assertion', 'text/plain', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'x/y', undefined];

/** Text that looks like an assertion stream: header lines, blank lines, signature-ish blocks. */
const assertionish: Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.constantFrom('type: serial-request', 'type: model', 'type: serial', 'brand-id: acme', 'model: box', 'authority-id: acme', 'series: 16', 'request-id: x', 'device-key:', '    AcZrbm93bg==', 'body-length: 3', 'body-length: -1', 'body-length: 99999999', 'sign-key-sha3-384: x', '', 'AcLBUgQAAQoABgUC'),
      fc.string({ maxLength: 40 }),
    ),
    { maxLength: 20 },
  )
  .map((lines) => lines.join('\n'));

function bodyArb(route: FuzzRoute): Arbitrary<{ kind: string; body: FuzzRequest['body'] }> {
  const raw = fc.tuple(fc.oneof(fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)), assertionish.map((s) => Buffer.from(s))), fc.constantFrom(...CONTENT_TYPES)).map(([raw, contentType]) => ({ kind: 'raw', body: { raw, contentType } }));
  const json = fc.jsonValue({ maxDepth: 4 }).map((json) => ({ kind: 'random-json', body: { json } }));
  const schema = route.schema?.body;
  if (!schema) return fc.oneof(raw, json);
  const fromSchema = validAndMutated(schema).map(({ value, mutated }) => ({ kind: mutated ? 'schema-mutated' : 'schema', body: { json: value } }));
  return fc.oneof({ weight: 4, arbitrary: fromSchema }, { weight: 1, arbitrary: json }, { weight: 1, arbitrary: raw });
}

const SEGMENT_RE = /:([A-Za-z_][\w-]*)|\*/g;

function paramsArb(route: FuzzRoute, world: FuzzWorld): Arbitrary<string[]> {
  const names = [...route.url.matchAll(SEGMENT_RE)].map((m) => m[1] ?? '*');
  const props = ((route.schema?.params as JsonSchema | undefined)?.properties ?? {}) as Record<string, JsonSchema>;
  const known = fc.constantFrom(...world.knownValues);
  return fc.tuple(
    ...names.map((n) => {
      const random = fc.oneof(props[n] ? schemaArbitrary(props[n]).map(asText) : fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }));
      const one = fc.oneof({ weight: 3, arbitrary: known }, { weight: 2, arbitrary: random }).filter((s) => s.length > 0).map(encodeURIComponent);
      // Sometimes as a client may send it: badly percent-encoded, or longer than a router takes.
      const odd = fc.oneof({ weight: 12, arbitrary: one }, { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%E0%A4%A', '%00', 'x'.repeat(101), '%2e%2e', '%2F') });
      // A wildcard takes several segments (assertion type and key).
      if (n === '*') return fc.array(odd, { minLength: 1, maxLength: 4 }).map((segs) => segs.join('/'));
      return odd;
    }),
  );
}

function requestArb(route: FuzzRoute, world: FuzzWorld): Arbitrary<FuzzRequest> {
  const takesBody = ['POST', 'PUT', 'PATCH'].includes(route.method);
  const auth = route.access.kind === 'public' ? fc.constantFrom<FuzzRequest['auth']>('none', 'none', 'admin', 'bogus') : fc.constantFrom<FuzzRequest['auth']>('admin', 'admin', 'publisher', 'none', 'bogus');
  const schema = route.schema ?? {};
  return fc
    .record({
      params: paramsArb(route, world),
      query: fc.oneof({ weight: 2, arbitrary: fc.constant<[string, string][]>([]) }, { weight: 1, arbitrary: queryArb(schema.querystring as JsonSchema | undefined) }),
      headers: fc.oneof({ weight: 2, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: headersArb(schema.headers as JsonSchema | undefined) }),
      device: fc.boolean(),
      auth,
      body: takesBody ? bodyArb(route) : fc.constant({ kind: 'no-body', body: undefined }),
    })
    .map(({ params, query, headers, device, auth, body }) => ({
      kind: body.kind,
      params,
      query,
      // A snapd-facing route mostly hears a device (store, architecture, series and a session), over which the generated headers go.
      headers: route.errorShape === 'snapd' && device ? { ...world.deviceHeaders, ...headers } : headers,
      auth,
      ...(body.body ? { body: route.url === '/api/vault/brands/:account/keys' ? noKeyGeneration(body.body) : body.body } : {}),
    }));
}

/** A key created by the vault admin route is imported, never generated: an RSA-4096 generation per request would take the run's time. */
function noKeyGeneration(body: NonNullable<FuzzRequest['body']>): NonNullable<FuzzRequest['body']> {
  if (!('json' in body) || body.json === null || typeof body.json !== 'object' || Array.isArray(body.json) || 'pem' in body.json) return body;
  return { json: { ...body.json, pem: 'not a key' } };
}

function urlOf(route: FuzzRoute, r: FuzzRequest): string {
  let i = 0;
  const path = route.url.replace(SEGMENT_RE, () => r.params[i++] ?? 'x');
  const qs = r.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return qs ? `${path}?${qs}` : path;
}

// ---- the checks

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

/** Why an answer breaks the rules, or undefined. */
function fault(route: FuzzRoute, a: Answer): string | undefined {
  const retry = (code: unknown) => ['unavailable', 'database-unavailable', 'vault-unavailable', 'key-unusable'].includes(String(code));
  if (a.status < 400) return undefined;
  const type = String(a.headers['content-type'] ?? '');
  if (!type.startsWith('application/json')) return `a ${a.status} that is not JSON (${type})`;
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(a.body) as Record<string, unknown>;
  } catch {
    return `a ${a.status} whose body is not JSON`;
  }
  const shape = route.errorShape ?? 'platform';
  let code: unknown;
  // The not-found handler answers a path no route matches in the platform shape.
  const unmatched = (j.error as { message?: unknown } | undefined)?.message;
  if (a.status === 404 && typeof unmatched === 'string' && unmatched.startsWith('no route ')) return undefined;
  if (shape === 'platform') {
    const e = j.error as { code?: unknown; message?: unknown } | undefined;
    if (typeof e?.code !== 'string' || typeof e.message !== 'string') return `not the platform error shape`;
    code = e.code;
  } else if (shape === 'snapd') {
    const list = j['error-list'] as { code?: unknown; message?: unknown }[] | undefined;
    if (!Array.isArray(list) || list.length === 0 || typeof list[0]?.code !== 'string' || typeof list[0].message !== 'string') return `not snapd's error shape`;
    code = list[0].code;
  } else {
    const list = j.error_list as { code?: unknown }[] | undefined;
    if (typeof j.code !== 'string' || typeof j.message !== 'string' || !Array.isArray(list) || list[0]?.code !== j.code) return `not the vault's error shape`;
    code = j.code;
  }
  if (a.status >= 500 && !(a.status === 503 && retry(code))) return `${a.status} ${String(code)}`;
  return undefined;
}

async function send(world: FuzzWorld, route: FuzzRoute, r: FuzzRequest): Promise<Answer> {
  const headers: Record<string, string> = { ...r.headers };
  if (r.auth === 'admin') headers.authorization = `Bearer ${TEST_ADMIN_TOKEN}`;
  else if (r.auth === 'publisher') headers.authorization = `Bearer ${world.publisherToken}`;
  else if (r.auth === 'bogus') headers.authorization = `Bearer snl_${'x'.repeat(20)}`;
  let payload: string | Buffer | undefined;
  if (r.body && 'json' in r.body) {
    payload = JSON.stringify(r.body.json);
    headers['content-type'] = 'application/json';
  } else if (r.body) {
    payload = r.body.raw;
    if (r.body.contentType) headers['content-type'] = r.body.contentType;
  }
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      new URL(urlOf(route, r), world.url),
      { method: route.method, headers: { ...headers, ...(payload !== undefined ? { 'content-length': String(Buffer.byteLength(payload)) } : {}) }, agent: world.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${ANSWER_BOUND_MS} ms`));
    }, ANSWER_BOUND_MS);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(payload);
  });
}

/** A full collection, when the process can ask for one (v8's flag, set at run time). */
function collector(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

function heapMiB(gc: (() => void) | undefined): { heap: number; rss: number } {
  if (gc) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed / 2 ** 20, rss: m.rss / 2 ** 20 };
}

test('every route answers fuzzed requests without a 5xx, a hang or a leak', { timeout: 30 * 60_000 }, async (t) => {
  if (ENGINE === 'postgres') {
    const reason = await postgresUnavailable();
    if (reason) return t.skip(reason);
  }
  const world = await fuzzWorld(ENGINE);
  t.after(() => world.close());
  const routes: FuzzRoute[] = world.s.server.routes;
  assert.ok(routes.length > 40, 'the platform, store and vault routes are all there');
  assert.ok(
    routes.every((r) => 'schema' in r),
    'RouteInfo carries each route schema',
  );
  const gc = collector();
  const failures: string[] = [];
  const started = Date.now();
  let requests = 0;
  const statuses = new Map<string, number>();

  const round = async (runs: number, seed: number) => {
    for (const route of routes) {
      const details = await fc.check(
        fc.asyncProperty(requestArb(route, world), async (r) => {
          requests++;
          let a: Answer;
          try {
            a = await send(world, route, r);
          } catch (err) {
            throw new Error(`${route.method} ${urlOf(route, r)}: ${(err as Error).message}`, { cause: err });
          }
          const seen = `${route.method} ${route.url} ${a.status}`;
          statuses.set(seen, (statuses.get(seen) ?? 0) + 1);
          const why = fault(route, a);
          if (why) throw new Error(`${route.method} ${route.url} (${r.kind}, ${urlOf(route, r).slice(0, 200)}): ${why}: ${a.body.slice(0, 300)}`);
        }),
        { numRuns: runs, seed, endOnFailure: true },
      );
      if (details.failed) {
        const message = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        failures.push(`${message}\n    counterexample: ${JSON.stringify(details.counterexample, (_k, v: unknown) => (typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…` : v)).slice(0, 1500)}`);
      }
    }
  };

  // A first round warms caches and compiled code; the heap is measured after it and at the end.
  await round(1, SEED);
  const before = heapMiB(gc);
  await round(RUNS, SEED + 1);
  const after = heapMiB(gc);
  const seconds = (Date.now() - started) / 1000;
  t.diagnostic(`seed ${SEED}: ${requests} requests on ${routes.length} routes in ${seconds.toFixed(1)} s; heap ${before.heap.toFixed(1)} → ${after.heap.toFixed(1)} MiB, rss ${before.rss.toFixed(0)} → ${after.rss.toFixed(0)} MiB${gc ? '' : ' (no forced GC)'}`);
  if (process.env.SNAPLINE_FUZZ_VERBOSE) for (const [k, n] of [...statuses].sort()) t.diagnostic(`${k}: ${n}`);
  assert.ok(failures.length === 0, `${failures.length} route(s) failed; seed ${SEED} (SNAPLINE_FUZZ_SEED replays it):\n${failures.slice(0, 12).join('\n')}`);
  // Without a forced collection the heap is compared with more slack.
  assert.ok(after.heap - before.heap < (gc ? HEAP_GROWTH_MIB : 4 * HEAP_GROWTH_MIB), `heap grew from ${before.heap.toFixed(1)} to ${after.heap.toFixed(1)} MiB`);
  assert.ok(after.rss - before.rss < 8 * HEAP_GROWTH_MIB, `rss grew from ${before.rss.toFixed(0)} to ${after.rss.toFixed(0)} MiB`);
});
