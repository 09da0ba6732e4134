// Seed of a 10-snap core20 model from a local Snapline store (its own
// process): `buildImage` (chain fetch and verification, one snap action,
// downloads with SHA3-384, every assertion verified, snap.yaml checks, seed
// layout) against curl downloading the same files from the same store in the
// same run (one file after another: the ratio; 4 at a time: printed too).
// The builder hashes with the native four-lane SHA3 when it is built (it says
// which); SNAPLINE_SHA3=node measures the node:crypto fallback, and
// SNAPLINE_SHA3=avx2 the AVX2 kernel.
// Target (issue 7): ratio <= 1.5. Also printed, to show where the time goes:
// SHA3-384 of the bytes alone on one thread, and the CPU time the store and
// the builder use per run. Both processes share the machine's cores, so on a
// small machine the store's serving plus our hashing bound the builder's time,
// while curl only waits for the store.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createHash } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, decodeStream, type ModelData } from '../src/assertions/index.ts';
import { buildImage } from '../src/image/build.ts';
import { StoreClient } from '../src/image/store-client.ts';
import { loadSha3Files } from '../src/image/file-hasher.ts';

const child = spawn(process.execPath, ['--import', 'tsx', 'bench/fixtures/image-store.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
const first = await new Promise<string>((resolve, reject) => {
  const rl = createInterface({ input: child.stdout });
  rl.once('line', resolve);
  child.once('exit', (code) => reject(new Error(`store process exited (${code})`)));
});
const info = JSON.parse(first) as { url: string; total: number; model: string; trusted: string };
const tmp = await mkdtemp(join(tmpdir(), 'snapline-bench-image-'));
try {
  const model = decode(info.model);
  const m = model.data as ModelData;
  const trusted = decodeStream(info.trusted);
  const client = new StoreClient({ baseUrl: info.url, storeId: m.store, architecture: m.architecture });
  const outcomes = await client.download([...m.essentialSnaps, ...m.snaps].map((s) => ({ name: s.name, channel: s.defaultChannel })));
  const urls = outcomes.map((o) => {
    if (!o.ok) throw new Error(o.message);
    return o.snap.downloadUrl;
  });
  console.log(`store: ${info.url}, ${urls.length} snaps, ${(info.total / 1048576).toFixed(1)} MiB`);
  // The CLI's SNAPLINE_SHA3, passed as the builder's option.
  const sha3Choice = process.env['SNAPLINE_SHA3'];
  const sha3 = loadSha3Files(sha3Choice);
  console.log(`builder hashes with: ${sha3 ? `the native four-lane SHA3 (${sha3.kernels().includes(sha3Choice ?? '') ? sha3Choice : sha3.kernels()[0]})` : 'node:crypto (native addon not built or not usable here)'}`);

  // CPU seconds (user + system) of the store process so far, from /proc (Linux).
  const storeCpu = (): number => {
    try {
      const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      return NaN;
    }
  };
  const cpu = { curlStore: 0, oursStore: 0, ours: 0, runs: 0 };
  const curlOnce = (parallel: boolean): number => {
    const dir = join(tmp, 'curl');
    spawnSync('mkdir', ['-p', dir]);
    const args = ['-sf', '--no-progress-meter', ...(parallel ? ['--parallel', '--parallel-max', '4'] : []), ...urls.flatMap((u, i) => ['-o', join(dir, `${i}.snap`), u])];
    const s0 = storeCpu();
    const t0 = process.hrtime.bigint();
    const r = spawnSync('curl', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`curl failed (${r.status})`);
    if (!parallel) cpu.curlStore += storeCpu() - s0;
    return dt;
  };
  const oursOnce = async (): Promise<number> => {
    const out = join(tmp, 'seed');
    const s0 = storeCpu();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await buildImage({ model: Buffer.from(info.model), storeUrl: info.url, out, trusted, label: 'bench', ...(sha3Choice ? { sha3: sha3Choice } : {}) });
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    cpu.oursStore += storeCpu() - s0;
    cpu.ours += (c.user + c.system) / 1e6;
    cpu.runs++;
    await rm(out, { recursive: true, force: true });
    return dt;
  };
  await oursOnce(); // warm-up: JIT, connections, store caches
  curlOnce(false);
  Object.assign(cpu, { curlStore: 0, oursStore: 0, ours: 0, runs: 0 });
  let curlBest = Infinity;
  let curlParBest = Infinity;
  let oursBest = Infinity;
  for (let i = 0; i < 5; i++) {
    curlBest = Math.min(curlBest, curlOnce(false));
    curlParBest = Math.min(curlParBest, curlOnce(true));
    oursBest = Math.min(oursBest, await oursOnce());
  }
  // Where the time goes: SHA3-384 of the same bytes on one thread, read from
  // the page cache into one reused buffer (fresh buffers would add first-touch
  // page faults, which are not hashing).
  const buf = Buffer.alloc(1 << 20);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < urls.length; i++) {
    const h = createHash('sha3-384');
    const f = await open(join(tmp, 'curl', `${i}.snap`));
    for (let n; (n = (await f.read(buf, 0, buf.length)).bytesRead) > 0; ) h.update(buf.subarray(0, n));
    await f.close();
    h.digest();
  }
  const hashOnly = Number(process.hrtime.bigint() - t0) / 1e9;
  const mbps = (t: number) => (info.total / 1048576 / t).toFixed(0);
  const per = (x: number, runs: number) => (x / runs).toFixed(2);
  console.log(`curl, one file after another:     ${curlBest.toFixed(3)} s (${mbps(curlBest)} MiB/s); store CPU ${per(cpu.curlStore, 5)} s a run`);
  console.log(`curl, 4 parallel transfers:       ${curlParBest.toFixed(3)} s (${mbps(curlParBest)} MiB/s), ratio against it ${(oursBest / curlParBest).toFixed(2)}`);
  console.log(`sha3-384 of the bytes, 1 thread:  ${hashOnly.toFixed(3)} s (${mbps(hashOnly)} MiB/s; no network, no disk)`);
  console.log(`snapline image seed (verified):   ${oursBest.toFixed(3)} s (${mbps(oursBest)} MiB/s); store CPU ${per(cpu.oursStore, cpu.runs)} s, builder CPU ${per(cpu.ours, cpu.runs)} s a run`);
  const ratio = oursBest / curlBest;
  console.log(`ratio snapline/curl = ${ratio.toFixed(2)} (target <= 1.5)`);
  process.exitCode = ratio <= 1.5 ? 0 : 1;
} finally {
  child.kill('SIGTERM');
  await rm(tmp, { recursive: true, force: true });
}
