// Issue 14 target: `snapline demo` with 20 devices completes in < 60 s after
// `npm ci` (no device keys kept yet). Runs the built CLI (dist/, what `npm ci`
// makes) twice in fresh data folders: first with no keys (every RSA-4096 key
// made: brand, vault, 20 devices), then reusing the first run's device keys.
// Printed against the target, and against a reference of the same run: making
// 20 RSA-4096 device keys alone, in the same worker threads (the first run's
// floor on this machine).
// SNAPLINE_BENCH_DEMO_DEVICES (default 20).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeys } from '../src/fleet/keys.ts';

const root = new URL('..', import.meta.url).pathname;
const DEVICES = Number(process.env['SNAPLINE_BENCH_DEMO_DEVICES'] ?? 20);
const TARGET_S = 60;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function demo(data: string, keys?: string): Promise<number> {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(root, 'bin/snapline.js'), 'demo', '--data', data, '--devices', String(DEVICES), '--listen', `127.0.0.1:${await freePort()}`, ...(keys ? ['--keys', keys] : [])], {
    encoding: 'utf8',
    env: { ...process.env, SNAPLINE_FROM_SOURCE: '' },
  });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`snapline demo failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  if (!new RegExp(`${DEVICES}/${DEVICES} devices registered`).test(r.stdout)) throw new Error(`not every device registered:\n${r.stdout}`);
  return s;
}

spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
const dir = mkdtempSync(join(tmpdir(), 'snapline-bench-demo-'));
try {
  const t0 = performance.now();
  await generateKeys({ count: DEVICES });
  const keysAlone = (performance.now() - t0) / 1000;
  const first = await demo(join(dir, 'first'));
  const again = await demo(join(dir, 'again'), join(dir, 'first', 'demo', 'device-keys.jsonl'));
  console.log(`reference: ${DEVICES} RSA-4096 device keys alone, worker threads: ${keysAlone.toFixed(1)} s`);
  console.log(`snapline demo, ${DEVICES} devices, no keys kept (after npm ci): ${first.toFixed(1)} s`);
  console.log(`snapline demo, ${DEVICES} devices, device keys kept:           ${again.toFixed(1)} s`);
  console.log(`ratio first run/keys alone ${(first / keysAlone).toFixed(2)}`);
  console.log(`ratio first run/target ${TARGET_S} s ${(first / TARGET_S).toFixed(2)} ${first < TARGET_S ? 'PASS' : 'FAIL'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
