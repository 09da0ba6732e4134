// kill -9 trials: `snapline serve` as a child process, an operation driven
// through the HTTP API, SIGKILL at a random moment within the operation's
// measured duration (seeded PRNG), a restart on the same data, and the
// guarantees checked against the database and the blob folder. Shared by
// test/reliability/kill9.test.ts (a few trials, CI) and bench/reliability.ts
// (100 per operation and database). docs/reliability.md describes it.
import { generateKeyPair, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PrivateKey, createAccountKeyRequest, decodeStream, type Assertion } from '../../src/assertions/index.ts';
import { packSnap } from '../../src/snap/index.ts';
import { modelAssertion, serialRequest } from '../vault/helpers.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { scratchPostgresDatabase } from '../helpers/databases.ts';
import { RELIABILITY_ADMIN_TOKEN as ADMIN, httpRequest, openPeek, prng, startServe, type Launcher, type Peek, type ServeChild } from '../helpers/serve-child.ts';

export type Engine = 'sqlite' | 'postgres';
export const OPERATIONS = ['upload', 'release', 'serial-counter', 'serial-proposed', 'account-key', 'migration'] as const;
export type Operation = (typeof OPERATIONS)[number];

/**
 * Expectations named so that nobody turns a check off by accident.
 * `tmpCleanAfterRestart`: after a restart, the blob folder's tmp/ holds no
 * file a killed upload left (dead uploads' temporary files are removed at
 * start). While false, leftovers would be reported as findings only.
 */
export const EXPECTATIONS = { tmpCleanAfterRestart: true };

export interface KillTrialOptions {
  engine: Engine;
  operations: readonly Operation[];
  trials: number;
  seed: number;
  launcher: Launcher;
  workDir: string;
  postgresUrl?: string;
  log?: (line: string) => void;
}

export interface OperationResult {
  operation: Operation;
  engine: Engine;
  trials: number;
  /** Broken guarantees, each with the trial number and its kill delay. */
  failures: string[];
  /** Things worth reporting that are not failures (named expectations not yet met, leftovers). */
  findings: string[];
  /** The operation's measured duration, the kill delays drawn within it. */
  operationMs: number;
  killDelaysMs: number[];
  restartMs: number[];
  acknowledged: number;
  interrupted: number;
  leftoverTmpFiles: number;
  orphanBlobs: number;
  pendingReservations: number;
}

const BRAND = 'acme';
const STORE = 'acme-store';
const UPLOAD_SNAP = 'rel-upload';
const RELEASE_SNAP = 'rel-release';
const CHANNELS = ['stable', 'candidate', 'beta', 'edge'] as const;
const PARALLEL = 3;

function deviceKey(): Promise<PrivateKey> {
  // Device keys of any size are accepted (docs/vault.md, Limits): small ones keep making them cheap.
  return new Promise((resolve, reject) => generateKeyPair('rsa', { modulusLength: 1024 }, (err, _pub, priv) => (err ? reject(err) : resolve(new PrivateKey(priv)))));
}

async function must(base: string, method: string, path: string, json?: unknown, ok = [200, 201]): Promise<unknown> {
  const r = await httpRequest(base, method, path, { token: ADMIN, ...(json !== undefined ? { json } : {}), timeoutMs: 60_000 });
  if (!ok.includes(r.status)) throw new Error(`${method} ${path}: ${r.status} ${r.text.slice(0, 300)}`);
  return r.text ? (r.headers['content-type']?.startsWith('application/json') ? r.json() : r.text) : undefined;
}

/** The data of one engine's run: a data folder and, on PostgreSQL, a database of its own. */
interface Place {
  dataDir: string;
  db?: string;
  peek(): Promise<Peek>;
  drop(): Promise<void>;
}

async function newPlace(o: KillTrialOptions, tag: string): Promise<Place> {
  const dataDir = await mkdtemp(join(o.workDir, `${o.engine}-${tag}-`));
  if (o.engine === 'sqlite') {
    return {
      dataDir,
      peek: () => openPeek({ sqliteFile: join(dataDir, 'snapline.db') }),
      drop: () => rm(dataDir, { recursive: true, force: true }),
    };
  }
  const scratch = await scratchPostgresDatabase('snapline_rel', o.postgresUrl);
  return {
    dataDir,
    db: scratch.url,
    peek: () => openPeek({ postgresUrl: scratch.url }),
    drop: async () => {
      await scratch.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function blobFiles(dataDir: string): { tmp: string[]; blobs: Map<string, number> } {
  const root = join(dataDir, 'blobs');
  const tmpDir = join(root, 'tmp');
  const tmp = existsSync(tmpDir) ? readdirSync(tmpDir) : [];
  const blobs = new Map<string, number>();
  const shaDir = join(root, 'sha3-384');
  if (existsSync(shaDir)) {
    for (const d of readdirSync(shaDir)) {
      const sub = join(shaDir, d);
      if (!statSync(sub).isDirectory()) continue;
      for (const f of readdirSync(sub)) blobs.set(f, statSync(join(sub, f)).size);
    }
  }
  return { tmp, blobs };
}

// ---------------------------------------------------------------- the world

interface World {
  base: string;
  model: { counted: Assertion; proposed: Assertion };
  apiKey: string;
  snapDir: string;
}

async function setUpWorld(base: string, snapDir: string): Promise<World> {
  await must(base, 'POST', '/api/accounts', { accountId: BRAND });
  const brandKey = vectorKey('brand');
  // The vault imports the brand key and has the root certify it: its account-key is then in the assertions table.
  await must(base, 'POST', `/api/vault/brands/${BRAND}/keys`, { name: 'serials', pem: brandKey.toPem() });
  await must(base, 'POST', `/api/vault/brands/${BRAND}/models`, { model: 'counted', key: 'serials', serialTemplate: 'C{counter:8}' });
  await must(base, 'POST', `/api/vault/brands/${BRAND}/models`, { model: 'proposed', key: 'serials', allowProposed: true });
  const { secret } = (await must(base, 'POST', `/api/vault/brands/${BRAND}/api-keys`, { name: 'line-1' })) as { secret: string };
  await must(base, 'POST', '/api/store/stores', { storeId: STORE, brand: BRAND });
  for (const name of [UPLOAD_SNAP, RELEASE_SNAP]) await must(base, 'POST', `/api/store/stores/${STORE}/snaps`, { name });
  const w: World = { base, apiKey: secret, snapDir, model: { counted: modelAssertion(brandKey, 'counted', { store: STORE }), proposed: modelAssertion(brandKey, 'proposed', { store: STORE }) } };
  for (let i = 0; i < 3; i++) {
    const snap = await makeSnap(w, RELEASE_SNAP, `setup-${i}`, 4096);
    const r = await httpRequest(base, 'POST', `/api/store/snaps/${RELEASE_SNAP}/revisions`, { token: ADMIN, body: snap, headers: { 'content-type': 'application/octet-stream' }, timeoutMs: 60_000 });
    if (r.status !== 201) throw new Error(`setup upload: ${r.status} ${r.text}`);
  }
  return w;
}

let snapCounter = 0;
/** A snap of `name` with `bytes` of incompressible payload, unique (new file each time). */
async function makeSnap(w: { snapDir: string }, name: string, tag: string, bytes: number): Promise<Buffer> {
  const { mkdir, writeFile, readFile } = await import('node:fs/promises');
  const src = join(w.snapDir, `src-${++snapCounter}`);
  await mkdir(join(src, 'meta'), { recursive: true });
  await writeFile(join(src, 'meta/snap.yaml'), `name: ${name}\nversion: "${tag.replace(/[^A-Za-z0-9.+~-]/g, '.').slice(0, 32)}"\nsummary: reliability trial\n`);
  await writeFile(join(src, 'payload.bin'), randomBytes(bytes));
  const out = join(w.snapDir, `${snapCounter}.snap`);
  await packSnap(src, { output: out, mtime: 1_700_000_000, xzPreset: 0 });
  const data = await readFile(out);
  await rm(src, { recursive: true, force: true });
  await rm(out, { force: true });
  return data;
}

// ---------------------------------------------------------------- operations

/** One operation: `attempt` starts PARALLEL requests (resolved, never rejected); `check` lists broken guarantees. */
interface Driver {
  prepare(trial: number): Promise<void>;
  attempt(trial: number): Promise<void>;
  check(peek: Peek, place: Place, base: string): Promise<string[]>;
  counts(): { acknowledged: number; interrupted: number; pending?: number };
}

function uploadDriver(w: World): Driver {
  const acked = new Map<number, string>();
  let interrupted = 0;
  let prepared: Buffer[] = [];
  return {
    async prepare(trial) {
      prepared = [];
      for (let i = 0; i < PARALLEL; i++) prepared.push(await makeSnap(w, UPLOAD_SNAP, `t${trial}-${i}`, 2 * 1024 * 1024));
    },
    async attempt() {
      await Promise.all(
        prepared.map(async (bytes) => {
          try {
            const r = await httpRequest(w.base, 'POST', `/api/store/snaps/${UPLOAD_SNAP}/revisions`, { token: ADMIN, body: bytes, headers: { 'content-type': 'application/octet-stream' }, timeoutMs: 120_000 });
            if (r.status === 201) {
              const j = r.json() as { revision: { revision: number; sha3_384: string } };
              acked.set(j.revision.revision, j.revision.sha3_384);
            } else interrupted++;
          } catch {
            interrupted++;
          }
        }),
      );
    },
    async check(peek) {
      const out: string[] = [];
      const rows = await peek.all<{ revision: number; sha3_384: string }>(`select r.revision, r.sha3_384 from store_revisions r join store_snaps s on s.snap_id = r.snap_id where s.name = '${UPLOAD_SNAP}'`);
      const byRev = new Map(rows.map((r) => [Number(r.revision), r.sha3_384]));
      for (const [rev, sha] of acked) {
        if (!byRev.has(rev)) out.push(`acknowledged revision ${rev} of ${UPLOAD_SNAP} is missing`);
        else if (sha && byRev.get(rev) !== sha) out.push(`acknowledged revision ${rev} has digest ${byRev.get(rev)}, answered ${sha}`);
      }
      return out;
    },
    counts: () => ({ acknowledged: acked.size, interrupted }),
  };
}

function releaseDriver(w: World, rand: () => number): Driver {
  // Per channel, the attempts in order: the revision and whether it was acknowledged.
  const attempts = new Map<string, { revision: number; acked: boolean }[]>();
  let acknowledged = 0;
  let interrupted = 0;
  let planned: { channel: string; revision: number }[] = [];
  return {
    async prepare() {
      const channels = [...CHANNELS].sort(() => rand() - 0.5).slice(0, PARALLEL);
      planned = channels.map((channel) => ({ channel, revision: 1 + Math.floor(rand() * 3) }));
    },
    async attempt() {
      await Promise.all(
        planned.map(async ({ channel, revision }) => {
          const list = attempts.get(channel) ?? [];
          attempts.set(channel, list);
          const entry = { revision, acked: false };
          list.push(entry);
          try {
            const r = await httpRequest(w.base, 'POST', `/api/store/snaps/${RELEASE_SNAP}/releases`, { token: ADMIN, json: { revision, channels: [channel] }, timeoutMs: 60_000 });
            if (r.status >= 200 && r.status < 300) {
              entry.acked = true;
              acknowledged++;
            } else interrupted++;
          } catch {
            interrupted++;
          }
        }),
      );
    },
    async check(peek) {
      const out: string[] = [];
      const rows = await peek.all<{ risk: string; revision: number }>(
        `select rl.risk, rl.revision from store_releases rl join store_snaps s on s.snap_id = rl.snap_id where s.name = '${RELEASE_SNAP}' and rl.track = 'latest' and rl.branch = ''`,
      );
      const now = new Map(rows.map((r) => [r.risk, Number(r.revision)]));
      for (const [channel, list] of attempts) {
        const lastAcked = list.map((a) => a.acked).lastIndexOf(true);
        if (lastAcked < 0) continue;
        // Only the last acknowledged release, or one attempted after it that may have committed unanswered.
        const allowedList = [list[lastAcked]!.revision, ...list.slice(lastAcked + 1).map((a) => a.revision)];
        if (!allowedList.includes(now.get(channel) ?? -1)) out.push(`channel ${channel} holds revision ${now.get(channel)}, expected one of ${allowedList.join(', ')} (the last acknowledged release or a later attempt)`);
      }
      const history = await peek.all<{ n: number | string }>(`select count(*) as n from store_release_history h join store_snaps s on s.snap_id = h.snap_id where s.name = '${RELEASE_SNAP}'`);
      if (Number(history[0]!.n) < acknowledged) out.push(`release history has ${history[0]!.n} rows for ${acknowledged} acknowledged releases`);
      return out;
    },
    counts: () => ({ acknowledged, interrupted }),
  };
}

function serialDriver(w: World, kind: 'counted' | 'proposed', seed: number): Driver {
  const acked: { serial: string; keyId: string; assertion: string }[] = [];
  let interrupted = 0;
  let pending = 0;
  let keys: { key: PrivateKey; proposed?: string }[] = [];
  const model = w.model[kind];
  return {
    async prepare(trial) {
      keys = await Promise.all(Array.from({ length: PARALLEL }, async (_, i) => ({ key: await deviceKey(), ...(kind === 'proposed' ? { proposed: `P${seed}-${trial}-${i}` } : {}) })));
    },
    async attempt() {
      await Promise.all(
        keys.map(async ({ key, proposed }) => {
          try {
            const rid = await httpRequest(w.base, 'POST', '/v1/request-id', { headers: { 'api-key': w.apiKey }, timeoutMs: 60_000 });
            if (rid.status !== 200) return void interrupted++;
            const req = serialRequest(key, { requestId: rid.json()['request-id'], model: kind, ...(proposed ? { serial: proposed } : {}) });
            const body = Buffer.concat([req.encode(), Buffer.from('\n'), model.encode()]);
            const r = await httpRequest(w.base, 'POST', '/v1/serial', {
              headers: { 'api-key': w.apiKey, 'content-type': 'application/x.ubuntu.assertion', 'snap-device-capabilities': 'serial-stream' },
              body,
              timeoutMs: 60_000,
            });
            if (r.status !== 200) return void interrupted++;
            const serial = decodeStream(r.body)[0]!;
            acked.push({ serial: serial.headerString('serial'), keyId: key.id, assertion: serial.encode().toString() });
          } catch {
            interrupted++;
          }
        }),
      );
    },
    async check(peek) {
      const out: string[] = [];
      const rows = await peek.all<{ serial: string; device_key_id: string; assertion: string | null }>(`select serial, device_key_id, assertion from vault_signing_log where brand_id = '${BRAND}' and model = '${kind}'`);
      const bySerial = new Map<string, typeof rows>();
      for (const r of rows) bySerial.set(r.serial, [...(bySerial.get(r.serial) ?? []), r]);
      for (const [serial, list] of bySerial) if (list.length > 1) out.push(`serial ${serial} of ${kind} is logged ${list.length} times`);
      const byKey = new Map<string, number>();
      for (const r of rows) byKey.set(r.device_key_id, (byKey.get(r.device_key_id) ?? 0) + 1);
      for (const [k, n] of byKey) if (n > 1) out.push(`device key ${k} has ${n} serials of ${kind} (policy idempotent)`);
      for (const a of acked) {
        const row = bySerial.get(a.serial)?.[0];
        if (!row) out.push(`serial ${a.serial} was answered 200 but is not in the signing log`);
        else if (row.device_key_id !== a.keyId) out.push(`serial ${a.serial} is logged for device key ${row.device_key_id}, answered to ${a.keyId}`);
        else if (row.assertion === null) out.push(`serial ${a.serial} was answered 200 but its log row has no signed assertion`);
        else if (row.assertion.trim() !== a.assertion.trim()) out.push(`serial ${a.serial}: the logged assertion differs from the one answered`);
      }
      const answered = new Set(acked.map((a) => a.serial));
      if (answered.size !== acked.length) out.push(`the same serial was answered 200 to two requests of ${kind}`);
      pending = rows.filter((r) => r.assertion === null).length;
      if (kind === 'counted') {
        const m = await peek.all<{ next_counter: number }>(`select next_counter from vault_models where brand_id = '${BRAND}' and model = 'counted'`);
        const max = Math.max(0, ...rows.map((r) => Number(/^C(\d+)$/.exec(r.serial)?.[1] ?? 0)));
        if (Number(m[0]!.next_counter) <= max) out.push(`the counter (${m[0]!.next_counter}) would hand out ${max} or lower again`);
      }
      return out;
    },
    counts: () => ({ acknowledged: acked.length, interrupted, pending }),
  };
}

function accountKeyDriver(w: World): Driver {
  const acked: string[] = [];
  let interrupted = 0;
  let requests: string[] = [];
  let n = 0;
  return {
    async prepare() {
      requests = await Promise.all(
        Array.from({ length: PARALLEL }, async () => createAccountKeyRequest({ key: await deviceKey(), accountId: BRAND, name: `k${++n}`, since: new Date('2020-01-01T00:00:00Z') }).toString()),
      );
    },
    async attempt() {
      await Promise.all(
        requests.map(async (req) => {
          try {
            const r = await httpRequest(w.base, 'POST', `/api/accounts/${BRAND}/account-keys`, { token: ADMIN, json: { accountKeyRequest: req }, timeoutMs: 60_000 });
            if (r.status === 201) acked.push(decodeStream(Buffer.from(req))[0]!.headerString('public-key-sha3-384'));
            else interrupted++;
          } catch {
            interrupted++;
          }
        }),
      );
    },
    async check(_peek, _place, base) {
      const r = await httpRequest(base, 'GET', `/api/accounts/${BRAND}/account-keys`, { token: ADMIN, timeoutMs: 60_000 });
      if (r.status !== 200) return [`GET account-keys: ${r.status}`];
      const have = new Set(decodeStream(r.body).map((a) => a.headerString('public-key-sha3-384')));
      return acked.filter((k) => !have.has(k)).map((k) => `acknowledged account-key ${k} is not listed after the restart`);
    },
    counts: () => ({ acknowledged: acked.length, interrupted }),
  };
}

/** What holds whatever the operation: nothing half-stored is visible. */
async function globalChecks(peek: Peek, place: Place): Promise<{ failures: string[]; tmp: string[]; orphans: number }> {
  const out: string[] = [];
  const files = blobFiles(place.dataDir);
  const revisions = await peek.all<{ name: string; revision: number; sha3_384: string; size: number }>(
    'select s.name, r.revision, r.sha3_384, r.size from store_revisions r join store_snaps s on s.snap_id = r.snap_id',
  );
  const referenced = new Set<string>();
  const assertions = new Set(
    (await peek.all<{ primary_key: string }>("select primary_key from assertions where type = 'snap-revision'")).map((a) => a.primary_key),
  );
  for (const r of revisions) {
    referenced.add(r.sha3_384);
    const size = files.blobs.get(r.sha3_384);
    if (size === undefined) out.push(`revision ${r.revision} of ${r.name} has no blob`);
    else if (size !== Number(r.size)) out.push(`revision ${r.revision} of ${r.name}: blob of ${size} bytes, ${r.size} recorded`);
    const b64 = Buffer.from(r.sha3_384, 'hex').toString('base64url');
    if (![...assertions].some((k) => k.includes(b64))) out.push(`revision ${r.revision} of ${r.name} has no snap-revision assertion`);
  }
  const dangling = await peek.all<{ name: string; risk: string; revision: number }>(
    'select s.name, rl.risk, rl.revision from store_releases rl join store_snaps s on s.snap_id = rl.snap_id where not exists (select 1 from store_revisions r where r.snap_id = rl.snap_id and r.revision = rl.revision)',
  );
  for (const d of dangling) out.push(`release ${d.name} ${d.risk} points to missing revision ${d.revision}`);
  const orphans = [...files.blobs.keys()].filter((k) => !referenced.has(k)).length;
  return { failures: out, tmp: files.tmp, orphans };
}

// ---------------------------------------------------------------- the runs

export async function runKillTrials(o: KillTrialOptions): Promise<OperationResult[]> {
  const log = o.log ?? (() => undefined);
  const results: OperationResult[] = [];
  const rand = prng(o.seed);
  const ops = o.operations.filter((x) => x !== 'migration');
  /** The world's first start measured: the migration trials' calibration, when there is one. */
  let firstStart: { ms: number; migrations: number } | undefined;
  if (ops.length > 0) {
    const place = await newPlace(o, 'world');
    const snapDir = join(place.dataDir, '..', `${o.engine}-snaps-${randomBytes(3).toString('hex')}`);
    mkdirSync(snapDir, { recursive: true });
    let server: ServeChild = startServe({ launcher: o.launcher, dataDir: place.dataDir, ...(place.db ? { db: place.db } : {}) });
    try {
      const world = await setUpWorld(await server.url, snapDir);
      {
        const peek = await place.peek();
        firstStart = { ms: server.startMs(), migrations: Number((await peek.all<{ n: number }>('select count(*) as n from snapline_migrations'))[0]!.n) };
        await peek.close();
      }
      for (const op of ops) {
        const driver =
          op === 'upload' ? uploadDriver(world) : op === 'release' ? releaseDriver(world, rand) : op === 'serial-counter' ? serialDriver(world, 'counted', o.seed) : op === 'serial-proposed' ? serialDriver(world, 'proposed', o.seed) : accountKeyDriver(world);
        const r: OperationResult = { operation: op, engine: o.engine, trials: 0, failures: [], findings: [], operationMs: 0, killDelaysMs: [], restartMs: [], acknowledged: 0, interrupted: 0, leftoverTmpFiles: 0, orphanBlobs: 0, pendingReservations: 0 };
        // The operation's duration, measured once without a kill (not counted as a trial).
        await driver.prepare(-1);
        const t0 = performance.now();
        await driver.attempt(-1);
        r.operationMs = performance.now() - t0;
        const tmpSeen = new Set<string>();
        for (let trial = 0; trial < o.trials; trial++) {
          await driver.prepare(trial);
          const delay = rand() * r.operationMs;
          r.killDelaysMs.push(delay);
          const running = driver.attempt(trial);
          await new Promise((res) => setTimeout(res, delay));
          await server.kill('SIGKILL');
          await running;
          server = startServe({ launcher: o.launcher, dataDir: place.dataDir, ...(place.db ? { db: place.db } : {}) });
          let base: string;
          try {
            base = await server.url;
          } catch (err) {
            r.failures.push(`trial ${trial} (kill at ${delay.toFixed(0)} ms): the restart failed: ${(err as Error).message.slice(0, 500)}`);
            throw err;
          }
          world.base = base;
          r.restartMs.push(server.startMs());
          r.trials++;
          const ready = await httpRequest(base, 'GET', '/readyz', { timeoutMs: 30_000 });
          if (ready.status !== 200) r.failures.push(`trial ${trial} (kill at ${delay.toFixed(0)} ms): /readyz answered ${ready.status} after the restart`);
          const peek = await place.peek();
          try {
            const own = await driver.check(peek, place, base);
            const g = await globalChecks(peek, place);
            for (const f of [...own, ...g.failures]) r.failures.push(`trial ${trial} (kill at ${delay.toFixed(0)} ms): ${f}`);
            for (const f of g.tmp) {
              if (tmpSeen.has(f)) continue;
              tmpSeen.add(f);
              const msg = `trial ${trial} (kill at ${delay.toFixed(0)} ms): blobs/tmp/${f} left after the restart`;
              if (EXPECTATIONS.tmpCleanAfterRestart) r.failures.push(msg);
              else r.findings.push(`${msg} [expectation tmpCleanAfterRestart not yet met]`);
            }
            r.leftoverTmpFiles = g.tmp.length;
            r.orphanBlobs = g.orphans;
          } finally {
            await peek.close();
          }
          log(`${o.engine} ${op} trial ${trial + 1}/${o.trials}: kill at ${delay.toFixed(0)}/${r.operationMs.toFixed(0)} ms, restart ${server.startMs().toFixed(0)} ms, ${r.failures.length} failures`);
        }
        const c = driver.counts();
        r.acknowledged = c.acknowledged;
        r.interrupted = c.interrupted;
        r.pendingReservations = c.pending ?? 0;
        if (r.pendingReservations > 0) r.findings.push(`${r.pendingReservations} signing-log reservation(s) without a signature (the process died between reserving and signing; completed by the same device key's next request after 30 s, docs/vault.md)`);
        results.push(r);
      }
      // Orphan blobs of killed uploads (stored, but their revision never
      // committed) are the store's sweep's to remove after a grace period: a
      // last start with no grace period must leave none.
      await server.kill('SIGKILL');
      server = startServe({ launcher: o.launcher, dataDir: place.dataDir, ...(place.db ? { db: place.db } : {}), env: { SNAPLINE_ORPHAN_BLOB_GRACE_MS: '0', SNAPLINE_BLOB_SWEEP_INTERVAL_MS: '200' } });
      await server.url;
      const orphansBefore = Math.max(0, ...results.filter((x) => x.engine === o.engine).map((x) => x.orphanBlobs));
      const deadline = Date.now() + 30_000;
      let orphansLeft: number;
      for (;;) {
        const peek = await place.peek();
        try {
          orphansLeft = (await globalChecks(peek, place)).orphans;
        } finally {
          await peek.close();
        }
        if (orphansLeft === 0 || Date.now() > deadline) break;
        await new Promise((res) => setTimeout(res, 250));
      }
      const upload = results.find((x) => x.engine === o.engine && x.operation === 'upload');
      if (orphansBefore > 0) upload?.findings.push(`${orphansBefore} orphan blob(s) after the trials, ${orphansLeft} after a sweep with no grace period`);
      if (orphansLeft > 0) (upload ?? results[results.length - 1])?.failures.push(`${orphansLeft} orphan blob(s) left after a sweep with no grace period`);
    } finally {
      await server.kill('SIGKILL');
      await place.drop();
      await rm(snapDir, { recursive: true, force: true });
    }
  }
  if (o.operations.includes('migration')) results.push(await migrationTrials(o, rand, log, firstStart));
  return results;
}

async function migrationTrials(o: KillTrialOptions, rand: () => number, log: (l: string) => void, measured?: { ms: number; migrations: number }): Promise<OperationResult> {
  const r: OperationResult = { operation: 'migration', engine: o.engine, trials: 0, failures: [], findings: [], operationMs: 0, killDelaysMs: [], restartMs: [], acknowledged: 0, interrupted: 0, leftoverTmpFiles: 0, orphanBlobs: 0, pendingReservations: 0 };
  // The first start's duration (spawn to the announced port): migrations, root keys, administrator.
  let expectedMigrations: number;
  if (measured) {
    r.operationMs = measured.ms;
    expectedMigrations = measured.migrations;
  } else {
    const place = await newPlace(o, 'migrate');
    const s = startServe({ launcher: o.launcher, dataDir: place.dataDir, ...(place.db ? { db: place.db } : {}), timeoutMs: 180_000 });
    try {
      await s.url;
      r.operationMs = s.startMs();
      const peek = await place.peek();
      expectedMigrations = Number((await peek.all<{ n: number }>('select count(*) as n from snapline_migrations'))[0]!.n);
      await peek.close();
    } finally {
      await s.kill();
      await place.drop();
    }
  }
  for (let trial = 0; trial < o.trials; trial++) {
    const place = await newPlace(o, 'migrate');
    const delay = rand() * r.operationMs;
    r.killDelaysMs.push(delay);
    const tag = `trial ${trial} (kill at ${delay.toFixed(0)} ms)`;
    try {
      const first = startServe({ launcher: o.launcher, dataDir: place.dataDir, ...(place.db ? { db: place.db } : {}), timeoutMs: 180_000 });
      await new Promise((res) => setTimeout(res, delay));
      const announced = !Number.isNaN(first.startMs());
      await first.kill('SIGKILL');
      if (announced) r.acknowledged++;
      else r.interrupted++;
      const again = startServe({ launcher: o.launcher, dataDir: place.dataDir, ...(place.db ? { db: place.db } : {}), timeoutMs: 180_000 });
      try {
        const base = await again.url;
        r.restartMs.push(again.startMs());
        const ready = await httpRequest(base, 'GET', '/readyz', { timeoutMs: 30_000 });
        if (ready.status !== 200) r.failures.push(`${tag}: /readyz answered ${ready.status} ${ready.text.slice(0, 200)}`);
        const root = await httpRequest(base, 'GET', '/api/root', { timeoutMs: 30_000 });
        if (root.status !== 200) r.failures.push(`${tag}: GET /api/root answered ${root.status}`);
        const who = await httpRequest(base, 'GET', '/api/whoami', { token: ADMIN, timeoutMs: 30_000 });
        if (who.status !== 200) r.failures.push(`${tag}: the administrator's token answered ${who.status}`);
        const peek = await place.peek();
        try {
          const n = Number((await peek.all<{ n: number }>('select count(*) as n from snapline_migrations'))[0]!.n);
          if (n !== expectedMigrations) r.failures.push(`${tag}: ${n} migrations recorded, ${expectedMigrations} expected`);
          const keys = await peek.all<{ name: string }>("select name from signing_keys where name in ('root', 'store')");
          if (keys.length !== 2) r.failures.push(`${tag}: root keys ${keys.map((k) => k.name).join(', ') || 'none'} (both expected)`);
        } finally {
          await peek.close();
        }
      } catch (err) {
        r.failures.push(`${tag}: the restart failed: ${(err as Error).message.slice(0, 500)}`);
      } finally {
        await again.kill('SIGKILL');
      }
      r.trials++;
      log(`${o.engine} migration trial ${trial + 1}/${o.trials}: kill at ${delay.toFixed(0)}/${r.operationMs.toFixed(0)} ms, restart ${r.restartMs.at(-1)?.toFixed(0)} ms, ${r.failures.length} failures`);
    } finally {
      await place.drop();
    }
  }
  return r;
}
