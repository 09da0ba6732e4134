// Many devices at once against `snapline serve` as a child process: N
// concurrent registrations at the vault (request-id, then serial-request +
// model, each device with a key of its own), then M devices opening store
// sessions and refreshing at once. Counted: errors, duplicate serials
// (answers and signing log), latency p50/p99. Shared by
// test/reliability/concurrency.test.ts (reduced) and bench/reliability.ts.
import { generateKeyPair, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, mkdir, writeFile, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DeviceSessionRequestType, PrivateKey, SerialType, decodeStream, formatTimestamp, sign, type Assertion } from '../../src/assertions/index.ts';
import { packSnap } from '../../src/snap/index.ts';
import { modelAssertion, serialRequest } from '../vault/helpers.ts';
import { scratchPostgresDatabase } from '../helpers/databases.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { RELIABILITY_ADMIN_TOKEN as ADMIN, httpRequest, openPeek, percentile, startServe, type Launcher } from '../helpers/serve-child.ts';
import type { Engine } from './kill9.ts';

export interface ConcurrencyOptions {
  engine: Engine;
  registrations: number;
  devices: number;
  launcher: Launcher;
  workDir: string;
  /** Where device keys are cached between runs (made once: RSA key generation is the slow part of the client). */
  keyCache: string;
  postgresUrl?: string;
  log?: (line: string) => void;
}

export interface Phase {
  count: number;
  errors: number;
  /** Answers 202 (the vault's "try again"), re-posted as snapd does; not errors. */
  retried: number;
  wallMs: number;
  p50: number;
  p99: number;
  max: number;
  examples: string[];
}

export interface ConcurrencyResult {
  engine: Engine;
  registrations: Phase & { duplicateSerials: number; logRows: number; logDuplicates: number };
  sessions: Phase;
  refreshes: Phase;
  /** The same requests alone on the idle server, in the same run. */
  reference: { registrationMs: number; refreshMs: number };
}

const BRAND = 'acme';
const STORE = 'acme-store';
const MODEL = 'fleet';
const SNAP = 'fleet-app';

/** `n` distinct device keys (1024-bit: the vault takes any size, docs/vault.md), cached in `file`. */
export async function deviceKeys(n: number, file: string): Promise<PrivateKey[]> {
  let pems: string[] = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as string[]) : [];
  if (pems.length < n) {
    const more = await Promise.all(
      Array.from({ length: n - pems.length }, () => new Promise<string>((resolve, reject) => generateKeyPair('rsa', { modulusLength: 1024 }, (err, _pub, priv) => (err ? reject(err) : resolve(new PrivateKey(priv).toPem()))))),
    );
    pems = [...pems, ...more];
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(pems), { mode: 0o600 });
  }
  return pems.slice(0, n).map((p) => PrivateKey.fromPem(p));
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value?: T; error?: string }> {
  const t0 = performance.now();
  try {
    const value = await fn();
    return { ms: performance.now() - t0, value };
  } catch (err) {
    return { ms: performance.now() - t0, error: (err as Error).message };
  }
}

function phase(results: { ms: number; error?: string }[], wallMs: number, retried = 0): Phase {
  const ms = results.filter((r) => !r.error).map((r) => r.ms).sort((a, b) => a - b);
  const errors = results.filter((r) => r.error);
  return { count: results.length, errors: errors.length, retried, wallMs, p50: percentile(ms, 50), p99: percentile(ms, 99), max: ms.at(-1) ?? Number.NaN, examples: [...new Set(errors.map((e) => e.error!))].slice(0, 5) };
}

async function must(base: string, method: string, path: string, json?: unknown): Promise<unknown> {
  const r = await httpRequest(base, method, path, { token: ADMIN, ...(json !== undefined ? { json } : {}), timeoutMs: 120_000 });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text.slice(0, 300)}`);
  return r.headers['content-type']?.startsWith('application/json') ? r.json() : r.text;
}

async function snapBytes(dir: string, version: string): Promise<Buffer> {
  const src = join(dir, `src-${version}`);
  await mkdir(join(src, 'meta'), { recursive: true });
  await writeFile(join(src, 'meta/snap.yaml'), `name: ${SNAP}\nversion: "${version}"\nsummary: fleet app\n`);
  await writeFile(join(src, 'data.bin'), randomBytes(1024));
  const out = join(dir, `${version}.snap`);
  await packSnap(src, { output: out, mtime: 1_700_000_000, xzPreset: 0 });
  return readFile(out);
}

export async function runConcurrency(o: ConcurrencyOptions): Promise<ConcurrencyResult> {
  const log = o.log ?? (() => undefined);
  const dataDir = await mkdtemp(join(o.workDir, `${o.engine}-fleet-`));
  const scratch = o.engine === 'postgres' ? await scratchPostgresDatabase('snapline_fleet', o.postgresUrl) : undefined;
  const db = scratch?.url;
  const server = startServe({ launcher: o.launcher, dataDir, ...(db ? { db } : {}), timeoutMs: 180_000 });
  try {
    const keys = await deviceKeys(Math.max(o.registrations, Math.min(o.devices, 500)) + 1, o.keyCache);
    const loneKey = keys.pop()!;
    const base = await server.url;
    const brandKey = vectorKey('brand');
    await must(base, 'POST', '/api/accounts', { accountId: BRAND });
    await must(base, 'POST', `/api/vault/brands/${BRAND}/keys`, { name: 'serials', pem: brandKey.toPem() });
    await must(base, 'POST', `/api/vault/brands/${BRAND}/models`, { model: MODEL, key: 'serials' });
    const { secret: apiKey } = (await must(base, 'POST', `/api/vault/brands/${BRAND}/api-keys`, { name: 'line-1' })) as { secret: string };
    await must(base, 'POST', '/api/store/stores', { storeId: STORE, brand: BRAND });
    const { snap } = (await must(base, 'POST', `/api/store/stores/${STORE}/snaps`, { name: SNAP })) as { snap: { snapId: string } };
    for (const v of ['1', '2']) {
      const r = await httpRequest(base, 'POST', `/api/store/snaps/${SNAP}/revisions?release=stable`, { token: ADMIN, body: await snapBytes(dataDir, v), headers: { 'content-type': 'application/octet-stream' }, timeoutMs: 120_000 });
      if (r.status !== 201) throw new Error(`upload: ${r.status} ${r.text}`);
    }
    const model = modelAssertion(brandKey, MODEL, { store: STORE });
    const modelBytes = model.encode();

    // 1. Registrations, all at once, each device with its own key.
    log(`${o.engine}: ${o.registrations} registrations at once`);
    let retried = 0;
    const registerOne = async (key: PrivateKey): Promise<Assertion> => {
      const rid = await httpRequest(base, 'POST', '/v1/request-id', { headers: { 'api-key': apiKey }, timeoutMs: 300_000 });
      if (rid.status !== 200) throw new Error(`request-id ${rid.status} ${rid.text.slice(0, 200)}`);
      const body = Buffer.concat([serialRequest(key, { requestId: rid.json()['request-id'], model: MODEL }).encode(), Buffer.from('\n'), modelBytes]);
      for (let attempt = 0; ; attempt++) {
        const r = await httpRequest(base, 'POST', '/v1/serial', { headers: { 'api-key': apiKey, 'content-type': 'application/x.ubuntu.assertion', 'snap-device-capabilities': 'serial-stream' }, body, timeoutMs: 300_000 });
        if (r.status === 202 && attempt < 20) {
          retried++;
          await new Promise((res) => setTimeout(res, 250));
          continue;
        }
        if (r.status !== 200) throw new Error(`serial ${r.status} ${r.text.slice(0, 200)}`);
        return decodeStream(r.body)[0]!;
      }
    };
    const lone = await timed(() => registerOne(loneKey));
    if (lone.error) throw new Error(`a registration alone failed: ${lone.error}`);
    const t0 = performance.now();
    const regs = await Promise.all(keys.slice(0, o.registrations).map((k) => timed(() => registerOne(k))));
    const regPhase = phase(regs, performance.now() - t0, retried);
    const serials = regs.flatMap((r) => (r.value ? [r.value] : []));
    const duplicateSerials = serials.length - new Set(serials.map((s) => s.headerString('serial'))).size;
    const peek = await openPeek(db ? { postgresUrl: db } : { sqliteFile: join(dataDir, 'snapline.db') });
    let logRows = 0;
    let logDuplicates = 0;
    try {
      const rows = await peek.all<{ serial: string; assertion: string | null }>(`select serial, assertion from vault_signing_log where model = '${MODEL}' and device_key_id <> '${loneKey.id}'`);
      logRows = rows.length;
      logDuplicates = rows.length - new Set(rows.map((r) => r.serial)).size;
      const logged = new Set(rows.filter((r) => r.assertion).map((r) => r.serial));
      const missing = serials.filter((s) => !logged.has(s.headerString('serial')));
      if (missing.length > 0) {
        regPhase.examples.push(`${missing.length} serial(s) answered 200 but not in the signing log`);
        regPhase.errors += missing.length;
      }
    } finally {
      await peek.close();
    }
    log(`${o.engine}: registrations ${JSON.stringify(regPhase)}`);

    // 2. Devices: the registered ones, plus serials signed here by the brand key
    //    (the store checks them like the vault's) for the rest, keys reused.
    const ts = formatTimestamp(new Date(Date.now() - 60_000));
    const devices: { key: PrivateKey; serial: Assertion }[] = regs.flatMap((r, i) => (r.value ? [{ key: keys[i]!, serial: r.value }] : []));
    for (let i = devices.length; i < o.devices; i++) {
      const key = keys[i % keys.length]!;
      const serial = sign(
        SerialType,
        { headers: { 'authority-id': BRAND, 'brand-id': BRAND, model: MODEL, serial: `extra-${i}`, 'device-key': key.publicKey.encode(), 'device-key-sha3-384': key.publicKey.id, timestamp: ts } },
        brandKey,
        new Date(),
      );
      devices.push({ key, serial });
    }
    const modelText = model.toString();
    log(`${o.engine}: ${devices.length} devices open sessions at once`);
    const openSession = async (d: { key: PrivateKey; serial: Assertion }): Promise<string> => {
      const n = await httpRequest(base, 'POST', '/api/v1/snaps/auth/nonces', { timeoutMs: 300_000 });
      if (n.status !== 200) throw new Error(`nonce ${n.status} ${n.text.slice(0, 200)}`);
      const now = new Date();
      const dsr = sign(DeviceSessionRequestType, { headers: { 'brand-id': BRAND, model: MODEL, serial: d.serial.headerString('serial'), nonce: n.json().nonce, timestamp: formatTimestamp(now) } }, d.key, now);
      const s = await httpRequest(base, 'POST', '/api/v1/snaps/auth/sessions', { json: { 'device-session-request': dsr.toString(), 'serial-assertion': d.serial.toString(), 'model-assertion': modelText }, timeoutMs: 300_000 });
      if (s.status !== 200) throw new Error(`session ${s.status} ${s.text.slice(0, 200)}`);
      return s.json().macaroon as string;
    };
    const t1 = performance.now();
    const sessions = await Promise.all(devices.map((d) => timed(() => openSession(d))));
    const sessionPhase = phase(sessions, performance.now() - t1);
    log(`${o.engine}: sessions ${JSON.stringify(sessionPhase)}`);

    // 3. Every device with a session refreshes at once: revision 1 installed, 2 in stable.
    const refreshOne = async (macaroon: string): Promise<void> => {
      const r = await httpRequest(base, 'POST', '/v2/snaps/refresh', {
        headers: { 'snap-device-authorization': `Macaroon root="${macaroon}"`, 'snap-device-architecture': 'amd64', 'snap-device-series': '16', 'snap-classic': 'false' },
        json: {
          context: [{ 'snap-id': snap.snapId, 'instance-key': snap.snapId, revision: 1, 'tracking-channel': 'latest/stable', epoch: { read: [0], write: [0] } }],
          actions: [{ action: 'refresh', 'instance-key': snap.snapId, 'snap-id': snap.snapId }],
          fields: ['download', 'revision'],
        },
        timeoutMs: 300_000,
      });
      if (r.status !== 200) throw new Error(`refresh ${r.status} ${r.text.slice(0, 200)}`);
      const res = r.json().results?.[0];
      if (res?.result !== 'refresh' || res.snap?.revision !== 2) throw new Error(`refresh answered ${r.text.slice(0, 200)}`);
    };
    const macaroons = sessions.flatMap((s) => (s.value ? [s.value] : []));
    const loneRefresh = await timed(() => refreshOne(macaroons[0]!));
    if (loneRefresh.error) throw new Error(`a refresh alone failed: ${loneRefresh.error}`);
    const t2 = performance.now();
    const refreshes = await Promise.all(macaroons.map((m) => timed(() => refreshOne(m))));
    const refreshPhase = phase(refreshes, performance.now() - t2);
    log(`${o.engine}: refreshes ${JSON.stringify(refreshPhase)}`);
    return { engine: o.engine, registrations: { ...regPhase, duplicateSerials, logRows, logDuplicates }, sessions: sessionPhase, refreshes: refreshPhase, reference: { registrationMs: lone.ms, refreshMs: loneRefresh.ms } };
  } finally {
    await server.kill('SIGKILL');
    await scratch?.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
