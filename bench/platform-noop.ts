// Issue 4 targets, measured in one run:
// - an authenticated JSON route (GET /api/whoami: token check, access check,
//   JSON reply) reaches >= 50% of the throughput of a bare node:http JSON
//   handler (autocannon on loopback, same connections and duration);
// - an idle server's RSS stays under 150 MB.
// The server is `snapline serve` exactly as `npm start` runs it (the bundle
// that `npm ci` builds), on the embedded defaults in a temporary folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

const root = new URL('..', import.meta.url).pathname;
const TOKEN = 'snl_bench-token-0123456789abcdef';

async function startSnapline(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [join(root, 'bin/snapline.js'), 'serve', '--data', dir, '--listen', '127.0.0.1:0'], {
    env: { ...process.env, SNAPLINE_ADMIN_TOKEN: TOKEN, SNAPLINE_LOG_LEVEL: 'warn', SNAPLINE_TOKEN_RATE: '1000000' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  for await (const line of createInterface({ input: child.stderr! })) {
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
    if (m) return { child, port: Number(m[1]) };
  }
  throw new Error('snapline serve exited before listening');
}

async function startBare(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/fixtures/bare-server.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

async function load(port: number, path: string, token?: string): Promise<number> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    connections: 50,
    duration: 5,
    ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

// The bundle `npm start` runs; rebuilt here so the benchmark measures the current sources.
await new Promise<void>((resolve, reject) => {
  const b = spawn(process.execPath, [join(root, 'scripts/build.js')], { cwd: root, stdio: 'inherit' });
  b.on('exit', (code) => (code === 0 ? resolve() : reject(new Error('build failed'))));
});
const dir = mkdtempSync(join(tmpdir(), 'snapline-bench-'));
const snapline = await startSnapline(dir);
const bare = await startBare();
try {
  await new Promise((r) => setTimeout(r, 3000));
  const idle = rssOf(snapline.child.pid!);
  await load(bare.port, '/');
  await load(snapline.port, '/api/whoami', TOKEN);
  const bareRps: number[] = [];
  const oursRps: number[] = [];
  for (let i = 0; i < 2; i++) {
    bareRps.push(await load(bare.port, '/'));
    oursRps.push(await load(snapline.port, '/api/whoami', TOKEN));
  }
  const b = Math.max(...bareRps);
  const o = Math.max(...oursRps);
  console.log(`bare node:http JSON: ${b.toFixed(0)} req/s; snapline authenticated GET /api/whoami: ${o.toFixed(0)} req/s`);
  console.log(`ratio snapline/bare = ${(o / b).toFixed(2)} (target >= 0.50) ${o / b >= 0.5 ? 'PASS' : 'FAIL'}`);
  console.log(`idle server RSS: ${(idle / 1048576).toFixed(1)} MiB (target < 150 MiB) ${idle < 150 * 1048576 ? 'PASS' : 'FAIL'}`);
} finally {
  snapline.child.kill('SIGTERM');
  bare.child.kill('SIGTERM');
  await once(snapline.child, 'exit');
  rmSync(dir, { recursive: true, force: true });
}
