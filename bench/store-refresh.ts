// Issue 5 target: snap action refresh for a device with 20 installed snaps,
// against a catalog of 1,000 snaps, with a device session, on PostgreSQL:
// >= 3,000 requests/s and p99 < 20 ms at 100 concurrent clients, both at
// saturation (100 clients in a closed loop) and with the 100 clients offering
// the target 3,000 requests/s; printed as a ratio against a bare node:http
// JSON reply measured in the same run, and against bare node:http answering
// the same request with the same bytes (what the shared cores allow).
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { openDatabase, toDbTime } from '../src/platform/db/index.ts';
import type { StoreOwnTables } from '../src/store/tables.ts';
import { api, build, startFixture, startSnapline, stop } from './fixtures/store-common.ts';

const PG = process.env['SNAPLINE_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const CATALOG = 1000;
const INSTALLED = 20;
const CONNECTIONS = 100;
const DURATION = 10;

const dbName = `snapline_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: PG });
await admin.connect();
await admin.query(`create database ${dbName}`);
const dbUrl = PG.replace(/\/[^/]*$/, `/${dbName}`);
const dir = mkdtempSync(join(tmpdir(), 'snapline-bench-'));
await build();
// A larger young generation: refresh answers allocate a lot of short-lived
// objects, and the default 16 MiB semi-space promotes them into costly
// old-space collections (docs/store.md, "Running a busy store").
const snapline = await startSnapline(dir, ['--db', dbUrl], { NODE_OPTIONS: '--max-semi-space-size=64' });
let bare = await startFixture('bare-server.ts');
try {
  await api(snapline.url, 'POST', '/api/accounts', { accountId: 'acme' });
  await api(snapline.url, 'POST', '/api/store/stores', { storeId: 'acme-store', brand: 'acme' });
  // The catalog, seeded straight into the tables (signing 2,000 assertions would only slow the setup).
  const db = openDatabase(dbUrl);
  const k = db.kysely.withTables<StoreOwnTables>();
  const now = toDbTime(new Date());
  const ids: string[] = [];
  for (let i = 0; i < CATALOG; i += 100) {
    const snaps = [];
    const revs = [];
    const rels = [];
    for (let j = i; j < i + 100; j++) {
      const id = createHash('sha256').update(`snap-${j}`).digest('base64url').replace(/[-_]/g, 'x').slice(0, 32);
      ids.push(id);
      snaps.push({ snap_id: id, store_id: 'acme-store', name: `snap-${j}`, publisher_id: 'acme', private: 1, default_track: 'latest', created_at: now });
      for (const revision of [1, 2]) {
        revs.push({
          snap_id: id,
          revision,
          version: `1.${revision}`,
          type: 'app',
          confinement: 'strict',
          grade: 'stable',
          base: 'core22',
          architectures: '["amd64"]',
          epoch: '{"read":[0],"write":[0]}',
          summary: `snap ${j}`,
          title: '',
          description: `the snap number ${j}`,
          license: 'MIT',
          snap_yaml: `name: snap-${j}\nversion: 1.${revision}\n`,
          sha3_384: createHash('sha3-384').update(`${id}/${revision}`).digest('hex'),
          size: 4096 * (j + 1),
          developer_id: 'acme',
          created_at: now,
        });
      }
      // Half the snaps have revision 2 in stable (an update for a device on 1), the others 1.
      rels.push({ snap_id: id, architecture: 'amd64', track: 'latest', risk: 'stable', branch: '', revision: j % 2 === 0 ? 2 : 1, progressive_percentage: null, released_at: now, expires_at: null });
      rels.push({ snap_id: id, architecture: 'amd64', track: 'latest', risk: 'edge', branch: '', revision: 2, progressive_percentage: null, released_at: now, expires_at: null });
    }
    await k.insertInto('store_snaps').values(snaps).execute();
    await k.insertInto('store_revisions').values(revs).execute();
    await k.insertInto('store_releases').values(rels).execute();
  }
  const session = `snls_${randomBytes(32).toString('base64url')}`;
  await k
    .insertInto('store_sessions')
    .values({ token_hash: createHash('sha256').update(session).digest('hex'), store_id: 'acme-store', brand_id: 'acme', model: 'box', serial: 'bench-1', created_at: now, expires_at: toDbTime(new Date(Date.now() + 86400_000)) })
    .execute();
  await db.close();

  const installed = ids.filter((_, i) => i % 25 === 0).slice(0, INSTALLED);
  const body = JSON.stringify({
    context: installed.map((id) => ({ 'snap-id': id, 'instance-key': id, revision: 1, 'tracking-channel': 'latest/stable', epoch: { read: [0], write: [0] }, 'refreshed-date': '2026-01-01T00:00:00Z' })),
    actions: installed.map((id) => ({ action: 'refresh', 'instance-key': id, 'snap-id': id })),
    fields: ['architectures', 'base', 'confinement', 'download', 'epoch', 'name', 'publisher', 'revision', 'snap-id', 'summary', 'type', 'version'],
  });
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json',
    'snap-device-architecture': 'amd64',
    'snap-device-series': '16',
    'snap-classic': 'false',
    'snap-device-store': 'acme-store',
    'snap-device-authorization': `Macaroon root="${session}"`,
    'user-agent': 'snapd/2.57.6 (series 16; with-testkeys) ubuntu-core/22 (amd64) linux/5.15',
  };
  const answer = await (await fetch(`${snapline.url}/v2/snaps/refresh`, { method: 'POST', headers, body })).text();
  const check = JSON.parse(answer) as { results: unknown[] };
  if (check.results.length !== INSTALLED / 2) throw new Error(`expected ${INSTALLED / 2} refresh results, got ${answer.slice(0, 300)}`);

  const load = async (url: string, opts: { method?: 'POST'; body?: string; headers?: Record<string, string> } = {}) => {
    const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, ...opts });
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    return { rps: r.requests.average, p99: r.latency.p99, p50: r.latency.p50, p90: r.latency.p90 };
  };
  // Warm-up, then the measured runs.
  await load(`http://127.0.0.1:${bare.port}/`);
  await load(`${snapline.url}/v2/snaps/refresh`, { method: 'POST', body, headers });
  const b = await load(`http://127.0.0.1:${bare.port}/`);
  const o = await load(`${snapline.url}/v2/snaps/refresh`, { method: 'POST', body, headers });
  // Latency at the target throughput: 100 clients together offering 3,000 requests/s,
  // paced evenly (autocannon's rate limit sends each second's budget in one burst).
  const atTarget = await paced(`${snapline.url}/v2/snaps/refresh`, { rate: 3000, seconds: DURATION, connections: CONNECTIONS, body, headers });
  // A second reference: bare node:http reading and parsing the same request and sending a reply of the same bytes.
  await stop(bare.child);
  const replyFile = join(dir, 'reply.json');
  writeFileSync(replyFile, answer);
  bare = await startFixture('bare-json-echo.ts', [replyFile]);
  await load(`http://127.0.0.1:${bare.port}/`, { method: 'POST', body, headers });
  const e = await load(`http://127.0.0.1:${bare.port}/`, { method: 'POST', body, headers });
  console.log(`bare node:http JSON: ${b.rps.toFixed(0)} req/s (p99 ${b.p99} ms)`);
  console.log(`bare node:http, same request parsed and same ${answer.length}-byte reply: ${e.rps.toFixed(0)} req/s (p50 ${e.p50} ms, p90 ${e.p90} ms, p99 ${e.p99} ms)`);
  console.log(`snapline POST /v2/snaps/refresh (${INSTALLED} installed, ${CATALOG} in catalog, ${INSTALLED / 2} updates, device session, PostgreSQL): ${o.rps.toFixed(0)} req/s, p50 ${o.p50} ms, p90 ${o.p90} ms, p99 ${o.p99} ms at ${CONNECTIONS} connections`);
  console.log(`ratio snapline/bare = ${(o.rps / b.rps).toFixed(2)}; snapline/bare with the same request and reply = ${(o.rps / e.rps).toFixed(2)}`);
  console.log(`throughput ${o.rps.toFixed(0)} req/s (target >= 3000) ${o.rps >= 3000 ? 'PASS' : 'FAIL'}`);
  console.log(`at saturation (${o.rps.toFixed(0)} req/s, ${CONNECTIONS} clients): p99 ${o.p99} ms (target < 20 ms) ${o.p99 < 20 ? 'PASS' : 'FAIL'}; bare node:http with the same request and reply: p99 ${e.p99} ms`);
  console.log(
    `at 3000 req/s offered by ${CONNECTIONS} clients: ${atTarget.rps.toFixed(0)} req/s, p50 ${atTarget.p50} ms, p99 ${atTarget.p99} ms (target < 20 ms) ${atTarget.p99 < 20 && atTarget.rps >= 2900 ? 'PASS' : 'FAIL'}`,
  );
} finally {
  await stop(snapline.child);
  await stop(bare.child);
  rmSync(dir, { recursive: true, force: true });
  await admin.query(`drop database if exists ${dbName}`);
  await admin.end();
}

/**
 * An open-loop load at a steady rate: request k is sent at start + k/rate over
 * at most `connections` keep-alive sockets; latency from send to full reply.
 */
async function paced(url: string, o: { rate: number; seconds: number; connections: number; body: string; headers: Record<string, string> }): Promise<{ rps: number; p50: number; p99: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
  const total = o.rate * o.seconds;
  const latencies: number[] = [];
  let failures = 0;
  const once = () =>
    new Promise<void>((resolve) => {
      const t = performance.now();
      const req = http.request(url, { method: 'POST', agent, headers: { ...o.headers, 'content-length': Buffer.byteLength(o.body) } }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(performance.now() - t);
          else failures++;
          resolve();
        });
      });
      req.on('error', () => {
        failures++;
        resolve();
      });
      req.end(o.body);
    });
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let k = 0; k < total; k++) {
    const due = start + (k * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(once());
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  if (failures > 0) throw new Error(`paced load: ${failures} failed requests`);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 10) / 10;
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99) };
}
