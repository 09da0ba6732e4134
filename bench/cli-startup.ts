// Start-up of the CLI (issue 13): `snapline --version`, `--help`, `verify` of a
// model with its chain and `sign` of a model, each a whole process as a user
// runs it (bin/snapline.js on the bundle, rebuilt here from the current
// sources), against `node -e 0` measured in the same run, interleaved so that
// load from other processes hits all alike. Target: each <= 150 ms where node
// itself starts in ~40 ms, i.e. a ratio to `node -e 0` <= 3.75; the ratio is
// the verdict (a loaded machine slows node as much as snapline), the
// milliseconds are printed against 150 ms for information.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'bin/snapline.js');
const ROUNDS = 15;
const TARGET_MS = 150;
const TARGET_RATIO = TARGET_MS / 40;

await new Promise<void>((resolve, reject) => {
  const b = spawn(process.execPath, [join(root, 'scripts/build.js')], { cwd: root, stdio: 'inherit' });
  b.on('exit', (code) => (code === 0 ? resolve() : reject(new Error('build failed'))));
});

const dir = mkdtempSync(join(tmpdir(), 'snapline-bench-cli-'));
const env: NodeJS.ProcessEnv = { ...process.env, SNAPLINE_KEYRING: join(dir, 'keyring'), SNAPLINE_PASSPHRASE: 'bench passphrase' };
delete env['SNAPLINE_FROM_SOURCE'];
delete env['SNAPLINE_TRUSTED'];
const file = (name: string) => join(dir, name);

/** Runs snapline to completion; its standard output, or a thrown error with its standard error. */
function snapline(args: string[], extraEnv: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, env: { ...env, ...extraEnv }, encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`snapline ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

try {
  // A realistic chain, made with the CLI itself: a local root (trusted stream),
  // a brand account, its model key certified by the root, a signed model. RSA-4096
  // key generation is slow, so it is done once per run.
  const t0 = Date.now();
  const since = ['--since', '2020-01-01T00:00:00Z'];
  snapline(['root', 'init', 'bench-root', '--out', file('trusted.assert'), ...since]);
  writeFileSync(file('acme.account'), snapline(['account', 'create', 'acme', '--root', 'bench-root', '--display-name', 'ACME Inc.']));
  snapline(['key', 'create', 'models']);
  writeFileSync(file('acme.account-key'), snapline(['key', 'register', 'models', '--account', 'acme', '--root', 'bench-root', ...since]));
  const model = { type: 'model', 'authority-id': 'acme', 'brand-id': 'acme', series: '16', model: 'box', architecture: 'amd64', base: 'core22', grade: 'signed', snaps: [
    { name: 'box-gadget', id: 'a'.repeat(32), type: 'gadget', 'default-channel': '22/stable' },
    { name: 'box-kernel', id: 'b'.repeat(32), type: 'kernel', 'default-channel': '22/stable' },
    { name: 'core22', id: 'c'.repeat(32), type: 'base', 'default-channel': 'latest/stable' },
    { name: 'snapd', id: 'd'.repeat(32), type: 'snapd', 'default-channel': 'latest/stable' },
  ] };
  writeFileSync(file('model.json'), JSON.stringify(model));
  writeFileSync(file('box.model'), snapline(['sign', '-k', 'models', '--timestamp', '2024-01-01T00:00:00Z', file('model.json')]));
  const verified = snapline(['verify', '--trusted', file('trusted.assert'), file('acme.account'), file('acme.account-key'), file('box.model')]);
  if (verified.split('\n').filter((l) => l.endsWith(': OK')).length !== 3) throw new Error(`verify did not pass:\n${verified}`);
  console.log(`inputs: root, account, account-key and model made in ${((Date.now() - t0) / 1000).toFixed(1)} s (RSA-4096 key generation)`);

  const cases: { name: string; key: string; args: string[] }[] = [
    { name: 'node -e 0', key: 'node', args: ['-e', '0'] },
    { name: 'snapline --version', key: 'version', args: [bin, '--version'] },
    { name: 'snapline --help', key: 'help', args: [bin, '--help'] },
    { name: 'snapline verify (model and its chain)', key: 'verify', args: [bin, 'verify', '--trusted', file('trusted.assert'), file('acme.account'), file('acme.account-key'), file('box.model')] },
    { name: 'snapline sign (a model)', key: 'sign', args: [bin, 'sign', file('model.json'), '-k', 'models', '--timestamp'] },
  ];
  const timeOnce = (args: string[]): number => {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
    return ms;
  };
  for (const c of cases) for (let i = 0; i < 2; i++) timeOnce(c.args); // warm the file cache
  const times = cases.map(() => [] as number[]);
  const ratios = cases.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    const round = cases.map((c) => timeOnce(c.args));
    round.forEach((ms, i) => {
      times[i]!.push(ms);
      ratios[i]!.push(ms / round[0]!);
    });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  // From the sources through tsx (`npm run dev`), for information: fewer runs, it is slow.
  const dev: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = process.hrtime.bigint();
    snapline(['--version'], { SNAPLINE_FROM_SOURCE: '1' });
    dev.push(Number(process.hrtime.bigint() - start) / 1e6);
  }

  const nodeMs = median(times[0]!);
  console.log(`node -e 0: ${nodeMs.toFixed(0)} ms (median of ${ROUNDS} runs, interleaved with the commands below)`);
  let failed = 0;
  cases.forEach((c, i) => {
    if (i === 0) return;
    const ms = median(times[i]!);
    const ratio = median(ratios[i]!);
    const pass = ratio <= TARGET_RATIO;
    if (!pass) failed++;
    console.log(`${c.name}: ${ms.toFixed(0)} ms (median of ${ROUNDS}; ${ms <= TARGET_MS ? 'within' : 'over'} ${TARGET_MS} ms; ${(ms - nodeMs).toFixed(0)} ms over node's own start)`);
    console.log(`ratio snapline-${c.key}/node = ${ratio.toFixed(2)} (median of per-round ratios; target <= ${TARGET_RATIO.toFixed(2)}) ${pass ? 'PASS' : 'FAIL'}`);
  });
  console.log(`snapline --version from the sources (SNAPLINE_FROM_SOURCE=1, npm run dev): ${median(dev).toFixed(0)} ms (median of 5, for information)`);
  process.exitCode = failed === 0 ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
