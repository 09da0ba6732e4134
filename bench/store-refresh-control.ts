// Issue 15's speed target: the refresh of bench/store-refresh.ts (a device
// with 20 installed snaps, a catalog of 1,000, a device session,
// PostgreSQL, one `snapline serve` process, 100 wrk connections) with update
// control on every snap it refreshes (an active rollout plan at its first
// step, so a progressive release at 50% with health rules, and an enforced
// validation set named in every action, as snapd sends it) must stay within
// 15% of the same refresh of snaps without it, measured in the same run
// against the same server, alternating, and printed as a ratio.
// SNAPLINE_BENCH_SECONDS (default 10) sets each measurement's duration,
// SNAPLINE_BENCH_CONNECTIONS (default 100) the wrk connections,
// SNAPLINE_BENCH_ROUNDS (default 2) the alternating runs; to find what costs,
// SNAPLINE_BENCH_NO_SETS=1, _NO_PLAN=1, _NO_HEALTH=1 leave that part out, and
// SNAPLINE_BENCH_ONLY=plain|controlled loads the server with one of them only
// (with SNAPLINE_BENCH_PROF=DIR, a CPU profile of that load; no ratio).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase, toDbTime } from '../src/platform/db/index.ts';
import { bucketOf, inPercentage, parsePlan } from '../src/rollout/index.ts';
import type { StoreOwnTables } from '../src/store/store.tables.ts';
import { api, build, startSnapline, stop } from './fixtures/store-common.ts';
import { wrk, type WrkResult } from './fixtures/wrk.ts';

const PG = process.env['SNAPLINE_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const CATALOG = 1000;
const INSTALLED = 20;
const CONNECTIONS = Number(process.env['SNAPLINE_BENCH_CONNECTIONS'] ?? 100);
const SECONDS = Number(process.env['SNAPLINE_BENCH_SECONDS'] ?? 10);
const ROUNDS = Number(process.env['SNAPLINE_BENCH_ROUNDS'] ?? 2);
const PLAN = parsePlan({ 'fail-after-checkins': 3, steps: [{ percentage: 50, soak: '1d', 'error-threshold': 10, 'min-devices': 5 }, { percentage: 100 }] });

const dbName = `snapline_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: PG });
await admin.connect();
await admin.query(`create database ${dbName}`);
const dbUrl = PG.replace(/\/[^/]*$/, `/${dbName}`);
const dir = mkdtempSync(join(tmpdir(), 'snapline-bench-'));
await build();
const snapline = await startSnapline(dir, ['--db', dbUrl], { NODE_OPTIONS: '--max-semi-space-size=64' });
try {
  await api(snapline.url, 'POST', '/api/accounts', { accountId: 'acme' });
  await api(snapline.url, 'POST', '/api/store/stores', { storeId: 'acme-store', brand: 'acme' });
  // The catalog, seeded straight into the tables: snaps 0-499 plain, 500-999 under update control.
  const db = openDatabase(dbUrl);
  const k = db.kysely.withTables<StoreOwnTables>();
  const now = new Date();
  const at = toDbTime(now);
  const ids: string[] = [];
  for (let i = 0; i < CATALOG; i += 100) {
    const snaps = [];
    const revs = [];
    const rels = [];
    for (let j = i; j < i + 100; j++) {
      const id = createHash('sha256').update(`snap-${j}`).digest('base64url').replace(/[-_]/g, 'x').slice(0, 32);
      ids.push(id);
      snaps.push({ snap_id: id, store_id: 'acme-store', name: `snap-${j}`, publisher_id: 'acme', private: 1, default_track: 'latest', created_at: at });
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
          created_at: at,
        });
      }
      const controlled = j >= CATALOG / 2;
      rels.push({
        snap_id: id,
        architecture: 'amd64',
        track: 'latest',
        risk: 'stable',
        branch: '',
        revision: 2,
        progressive_percentage: controlled ? 50 : null,
        released_at: at,
        expires_at: null,
        release_id: `${id}:amd64:latest/stable:2`,
        previous_revision: 1,
        ...(controlled && process.env['SNAPLINE_BENCH_NO_PLAN'] !== '1' ? { plan: JSON.stringify(PLAN), plan_step: 0, step_started_at: at } : {}),
        ...(controlled && process.env['SNAPLINE_BENCH_NO_HEALTH'] !== '1' ? { fail_after_checkins: PLAN.failAfterCheckins, error_threshold: 10, min_devices: 5 } : {}),
      });
    }
    await k.insertInto('store_snaps').values(snaps).execute();
    await k.insertInto('store_revisions').values(revs).execute();
    await k.insertInto('store_releases').values(rels).execute();
  }
  const session = `snls_${randomBytes(32).toString('base64url')}`;
  await k
    .insertInto('store_sessions')
    .values({ token_hash: createHash('sha256').update(session).digest('hex'), store_id: 'acme-store', brand_id: 'acme', model: 'box', serial: 'bench-1', created_at: at, expires_at: toDbTime(new Date(Date.now() + 86400_000)) })
    .execute();
  await db.close();

  // The same device refreshes 20 plain snaps, or 20 controlled ones naming the enforced set (snapd 2.59+ sends it).
  const bodyOf = (installed: string[], enforced: boolean) =>
    JSON.stringify({
      context: installed.map((id) => ({ 'snap-id': id, 'instance-key': id, revision: 1, 'tracking-channel': 'latest/stable', epoch: { read: [0], write: [0] }, 'refreshed-date': '2026-01-01T00:00:00Z', ...(enforced ? { 'validation-sets': [['acme', 'fleet']] } : {}) })),
      actions: installed.map((id) => ({ action: 'refresh', 'instance-key': id, 'snap-id': id, ...(enforced ? { 'validation-sets': [['acme', 'fleet']] } : {}) })),
      fields: ['architectures', 'base', 'confinement', 'download', 'epoch', 'name', 'publisher', 'revision', 'snap-id', 'summary', 'type', 'version'],
    });
  const plain = bodyOf(ids.filter((_, i) => i < CATALOG / 2 && i % 25 === 0).slice(0, INSTALLED), false);
  // The device's 20 controlled snaps are ones whose 50% it is in: both answers carry 20 updates (the same bytes to write).
  const device = { brand: 'acme', model: 'box', serial: 'bench-1' };
  const controlled = bodyOf(ids.filter((id, i) => i >= CATALOG / 2 && inPercentage(bucketOf(device, id, `${id}:amd64:latest/stable:2`), 50)).slice(0, INSTALLED), process.env['SNAPLINE_BENCH_NO_SETS'] !== '1');
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
  const url = `${snapline.url}/v2/snaps/refresh`;
  const results = async (body: string) => ((await (await fetch(url, { method: 'POST', headers, body })).json()) as { results: unknown[] }).results.length;
  const [p, c] = [await results(plain), await results(controlled)];
  if (p !== INSTALLED) throw new Error(`plain: expected ${INSTALLED} updates, got ${p}`);
  if (c !== INSTALLED) throw new Error(`controlled: expected ${INSTALLED} updates (the device is in each 50%), got ${c}`);
  // One client, one request at a time: the time per answer without queueing.
  const serial = async (body: string, n = 200) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await results(body);
    return (performance.now() - t0) / n;
  };
  for (let r = 0; r < 2; r++) console.log(`one client, one request at a time: plain ${(await serial(plain)).toFixed(2)} ms, controlled ${(await serial(controlled)).toFixed(2)} ms per answer`);
  // The server's CPU time (user + system, from /proc) per answer: steadier than req/s on a busy machine.
  const cpuSeconds = () => {
    const f = readFileSync(`/proc/${snapline.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  const measured = async (body: string) => {
    const before = cpuSeconds();
    const r = await wrk({ url, method: 'POST', body, headers, connections: CONNECTIONS, seconds: SECONDS });
    return { ...r, cpuUs: ((cpuSeconds() - before) * 1e6) / (r.rps * SECONDS) };
  };
  const runs: Record<'plain' | 'controlled', (WrkResult & { cpuUs: number })[]> = { plain: [], controlled: [] };
  // Warm-up of both (JIT, caches, the controlled snaps' facts written once); timeouts while cold do not count.
  const only = process.env['SNAPLINE_BENCH_ONLY'];
  const warmUp = only === 'plain' ? [plain] : only === 'controlled' ? [controlled] : [plain, controlled];
  let warmUpAnswers = 0;
  for (const body of warmUp) {
    const seconds = Math.max(2, Math.round(SECONDS / 2));
    warmUpAnswers += await wrk({ url, method: 'POST', body, headers, connections: CONNECTIONS, seconds }).then((r) => r.rps * seconds, () => 0);
  }
  if (only === 'plain' || only === 'controlled') {
    const r = await measured(only === 'plain' ? plain : controlled);
    console.log(`${only} only: ${r.rps.toFixed(0)} req/s, p99 ${r.p99.toFixed(1)} ms, server CPU ${r.cpuUs.toFixed(0)} µs per answer (no ratio); about ${Math.round(warmUpAnswers + r.rps * SECONDS)} answers in all`);
  } else {
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, body] of (r % 2 === 0 ? [['plain', plain], ['controlled', controlled]] : [['controlled', controlled], ['plain', plain]]) as [keyof typeof runs, string][]) {
        runs[name].push(await measured(body));
      }
    }
    const rps = (rs: WrkResult[]) => rs.reduce((s, r) => s + r.rps, 0) / rs.length;
    const cpu = (rs: { cpuUs: number }[]) => rs.reduce((s, r) => s + r.cpuUs, 0) / rs.length;
    const p99 = (rs: WrkResult[]) => Math.max(...rs.map((r) => r.p99));
    console.log(`POST /v2/snaps/refresh, ${INSTALLED} installed snaps, ${CATALOG} in catalog, device session, PostgreSQL, 1 process, ${CONNECTIONS} connections, ${ROUNDS} alternating runs of ${SECONDS} s each:`);
    console.log(`  plain releases:                                   ${rps(runs.plain).toFixed(0)} req/s (runs ${runs.plain.map((r) => r.rps.toFixed(0)).join(', ')}), p99 ${p99(runs.plain).toFixed(1)} ms, server CPU ${cpu(runs.plain).toFixed(0)} µs per answer, ${p} updates per answer`);
    const parts = ['50% progressive', ...(process.env['SNAPLINE_BENCH_NO_PLAN'] === '1' ? [] : ['plan']), ...(process.env['SNAPLINE_BENCH_NO_HEALTH'] === '1' ? [] : ['health']), ...(process.env['SNAPLINE_BENCH_NO_SETS'] === '1' ? [] : ['enforced set'])];
    console.log(`  ${parts.join(' + ')}:`.padEnd(53) + `${rps(runs.controlled).toFixed(0)} req/s (runs ${runs.controlled.map((r) => r.rps.toFixed(0)).join(', ')}), p99 ${p99(runs.controlled).toFixed(1)} ms, server CPU ${cpu(runs.controlled).toFixed(0)} µs per answer, ${c} updates per answer`);
    const ratio = rps(runs.controlled) / rps(runs.plain);
    console.log(`ratio controlled/plain = ${ratio.toFixed(2)} (target >= 0.85) ${ratio >= 0.85 ? 'PASS' : 'FAIL'}; server CPU per answer plain/controlled = ${(cpu(runs.plain) / cpu(runs.controlled)).toFixed(2)}`);
  }
} finally {
  await stop(snapline.child);
  rmSync(dir, { recursive: true, force: true });
  await admin.query(`drop database if exists ${dbName}`);
  await admin.end();
}
