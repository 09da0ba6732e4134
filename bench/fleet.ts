// Issue 14 targets, measured in one run: the fleet simulator against
// Snapline's server (store and vault, SQLite by default) in a child process
// on this machine. Devices register, open store sessions and refresh once (a
// new acme-app revision is released first, so each device downloads,
// verifies and installs it). Printed, each against a reference of the same run:
//   - registrations/s of the fleet as a ratio of a bare vault registration
//     loop (POST request-id, a serial-request signed by an RSA-4096 device key,
//     POST serial; no checks of the answer) at the same concurrency, other keys;
//   - the fleet's heap per device after GC at steady state (every device
//     registered, in session, refreshed; the devices still held) against the
//     50 KiB target, over a baseline taken after a warm-up fleet of 10;
//   - with 10,000 devices: all registered and first refresh done in < 3 minutes.
// The server is the device tests' world (test/device/world.ts: brand acme,
// the vault, a gadget whose prepare-device hook names the vault, a seed made
// by the image builder), started by this file in a child process (--world).
// Device keys (RSA-4096) are made once in worker threads and kept in
// .bench-tmp/fleet-keys.jsonl: the first run spends ~0.5 s per key per core.
//
// SNAPLINE_BENCH_FLEET_DEVICES (default 500; SNAPLINE_BENCH_FLEET_10K=1 for
// 10,000), SNAPLINE_BENCH_FLEET_CONCURRENCY (default 64),
// SNAPLINE_BENCH_FLEET_ENGINE (sqlite | postgres, default sqlite).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import v8 from 'node:v8';
import vm from 'node:vm';
import { decodeStream, encodeStream, PrivateKey, signAsync, SerialRequestType, type Assertion } from '../src/assertions/index.ts';
import { ensureKeysFile } from '../src/fleet/keys.ts';
import { runFleet } from '../src/fleet/run.ts';
import { Limiter } from '../src/fleet/scheduler.ts';
import { progressLine, summaryText, type FleetProgress } from '../src/fleet/stats.ts';

const root = new URL('..', import.meta.url).pathname;
const N = process.env['SNAPLINE_BENCH_FLEET_10K'] ? 10_000 : Number(process.env['SNAPLINE_BENCH_FLEET_DEVICES'] ?? 500);
const CONCURRENCY = Number(process.env['SNAPLINE_BENCH_FLEET_CONCURRENCY'] ?? 64);
const ENGINE = process.env['SNAPLINE_BENCH_FLEET_ENGINE'] ?? 'sqlite';
const TARGET_KIB = 50;
// The reference loop's rate needs no more than a thousand registrations; its keys are other keys
// than the fleet's (the vault would know the fleet's devices already), so a 10,000-device run
// needs 11,000 keys, not 20,000.
const REF_COUNT = Math.min(N, 1000);

interface WorldInfo {
  url: string;
  seed: string;
  trusted: string;
  model: string;
  apiKey: string;
}

if (process.argv.includes('--world')) {
  // Child mode: the server and its world; one JSON line on stdout; stops when stdin closes.
  const { deviceWorld } = await import('../test/device/world.ts');
  const w = await deviceWorld(ENGINE as 'sqlite' | 'postgres');
  await w.release('acme-app', '2.0');
  const info: WorldInfo = { url: w.url, seed: w.seed, trusted: encodeStream(w.trusted).toString('utf8'), model: w.model.toString(), apiKey: w.apiKey };
  process.stdout.write(JSON.stringify(info) + '\n');
  process.stdin.resume();
  await new Promise((r) => process.stdin.on('end', r));
  await w.close();
  process.exit(0);
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
function heapAfterGc(): { heap: number; external: number; rss: number } {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, rss: m.rss };
}

/** A process's CPU seconds so far (user + system, every thread), from /proc. */
function cpuSecondsOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function startWorld(): Promise<{ info: WorldInfo; stop: () => Promise<void>; pid: number }> {
  // SNAPLINE_BENCH_PROF=DIR writes a CPU profile of the server there.
  const prof = process.env['SNAPLINE_BENCH_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['SNAPLINE_BENCH_PROF']}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', join(root, 'bench/fleet.ts'), '--world'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, SNAPLINE_LOG_LEVEL: 'warn' } });
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line.startsWith('{')) {
      return {
        info: JSON.parse(line) as WorldInfo,
        pid: child.pid!,
        stop: async () => {
          child.stdin!.end();
          await new Promise((r) => child.on('exit', r));
        },
      };
    }
  }
  throw new Error('the world process exited before it was ready');
}

/** The reference: a bare registration loop over HTTP, as fast as a client can go (no checks of the serial). */
async function bareRegistrations(info: WorldInfo, keys: readonly PrivateKey[]): Promise<number> {
  const model = decodeStream(info.model)[0]!;
  const headers = { 'api-key': info.apiKey };
  const limiter = new Limiter(CONCURRENCY);
  const t0 = performance.now();
  await Promise.all(
    keys.map((key) =>
      limiter.run(async () => {
        const rid = await fetch(`${info.url}/v1/request-id`, { method: 'POST', headers });
        const requestId = ((await rid.json()) as { 'request-id': string })['request-id'];
        const sr = await signAsync(SerialRequestType, { headers: { 'brand-id': 'acme', model: 'box', 'request-id': requestId, 'device-key': key.publicKey.encode() } }, key, new Date());
        const res = await fetch(`${info.url}/v1/serial`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/x.ubuntu.assertion' },
          body: Buffer.concat([sr.encode(), Buffer.from('\n'), model.encode()]),
        });
        const body = await res.text();
        if (res.status !== 200 && res.status !== 201) throw new Error(`reference registration: ${res.status} ${body.slice(0, 200)}`);
      }),
    ),
  );
  return keys.length / ((performance.now() - t0) / 1000);
}

const keysFile = join(root, '.bench-tmp', 'fleet-keys.jsonl');
mkdirSync(join(root, '.bench-tmp'), { recursive: true });
let lastShown = 0;
const { keys: allKeys, generated } = await ensureKeysFile(keysFile, {
  count: N + REF_COUNT,
  onProgress: (done, total) => {
    if (Date.now() - lastShown < 5000 && done !== total) return;
    console.error(`keys: ${done}/${total}`);
    lastShown = Date.now();
  },
});
if (generated > 0) console.log(`made ${generated} RSA-4096 device keys into ${keysFile} (kept for later runs)`);
// The fleet's keys as PEM text until the baseline is taken: the parsed keys count as device state.
const fleetPems = allKeys.slice(0, N).map((k) => k.toPem());
let refKeys: PrivateKey[] | undefined = allKeys.slice(N, N + REF_COUNT);
allKeys.length = 0;

const { info, stop, pid: serverPid } = await startWorld();
const workDir = mkdtempSync(join(tmpdir(), 'snapline-bench-fleet-'));
try {
  const trusted = decodeStream(info.trusted) as Assertion[];

  const refRate = await bareRegistrations(info, refKeys);
  const warmKeys = refKeys.slice(0, Math.min(10, N));
  refKeys = undefined;
  console.log(`reference: bare vault registration loop, ${REF_COUNT} devices, ${refRate.toFixed(1)} registrations/s (${CONCURRENCY} in flight)`);

  let lastLine = 0;
  const fleetEnv = {
    clock: { now: () => new Date(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) },
    nodePath: process.execPath,
    path: process.env['PATH'] ?? '/usr/bin:/bin',
    onProgress: (p: FleetProgress) => {
      if (Date.now() - lastLine < 5000) return;
      console.error(progressLine(p));
      lastLine = Date.now();
    },
    progressEveryMs: 1000,
  };
  // A warm-up fleet of a few devices with keys of the reference (the vault knows them): what any
  // run loads once (modules, the HTTP client, compiled code) is then in the baseline, not per device.
  await runFleet({ seed: info.seed, trusted, count: warmKeys.length, keys: warmKeys.splice(0), storeUrl: info.url, concurrency: CONCURRENCY, workDir }, fleetEnv);
  const before = heapAfterGc();
  const fleetKeys = fleetPems.map((p) => PrivateKey.fromPem(p));
  const t0 = performance.now();
  const cpu0 = { fleet: cpuSecondsOf(process.pid), server: cpuSecondsOf(serverPid) };
  const { summary, devices } = await runFleet({ seed: info.seed, trusted, count: N, keys: fleetKeys, storeUrl: info.url, concurrency: CONCURRENCY, workDir }, fleetEnv);
  const elapsedS = (performance.now() - t0) / 1000;
  const cpu = { fleet: cpuSecondsOf(process.pid) - cpu0.fleet, server: cpuSecondsOf(serverPid) - cpu0.server };
  const steady = heapAfterGc();
  process.stdout.write(summaryText(summary));
  if (summary.registered !== N || summary.refreshes !== N) throw new Error(`the fleet did not come up: ${JSON.stringify(summary.errors)}`);
  const perDevice = (k: 'heap' | 'external' | 'rss') => (steady[k] - before[k]) / N / 1024;
  console.log(`fleet: ${N} devices registered, in session and refreshed (${summary.updates} updates) in ${elapsedS.toFixed(1)} s; ${summary.registrationsPerSecond.toFixed(1)} registrations/s`);
  console.log(`CPU during the fleet: fleet process ${cpu.fleet.toFixed(1)} s, server ${cpu.server.toFixed(1)} s (${((1000 * cpu.fleet) / N).toFixed(1)} + ${((1000 * cpu.server) / N).toFixed(1)} ms per device; ${((cpu.fleet + cpu.server) / elapsedS).toFixed(2)} of 2 cores busy)`);
  console.log(`memory per device after GC (${devices.length} devices held): heap ${perDevice('heap').toFixed(1)} KiB, external ${perDevice('external').toFixed(1)} KiB (rss ${perDevice('rss').toFixed(1)} KiB: freed memory is not given back at once)`);
  const regRatio = summary.registrationsPerSecond / refRate;
  console.log(`ratio fleet/bare registrations/s = ${regRatio.toFixed(2)}`);
  const memRatio = perDevice('heap') / TARGET_KIB;
  console.log(`ratio heap per device/target ${TARGET_KIB} KiB = ${memRatio.toFixed(2)} (target < 1) ${memRatio < 1 ? 'PASS' : 'FAIL'}`);
  if (N >= 10_000) console.log(`10,000 devices registered and refreshed in ${elapsedS.toFixed(0)} s (target < 180 s) ${elapsedS < 180 ? 'PASS' : 'FAIL'}`);
} finally {
  rmSync(workDir, { recursive: true, force: true });
  await stop();
}
