// Issue 18, "prove it": kill -9 at random moments of snap upload, release,
// serial signing (counter and proposed serials), account-key registration and
// the first start's migrations, on SQLite and PostgreSQL (100 trials per
// operation and database), then 500 concurrent registrations and 2,000
// devices refreshing at once. Everything is `snapline serve` as a child
// process driven over HTTP (test/reliability/kill9.ts, concurrency.ts).
//
// Ratio lines, each against a reference measured in the same run:
// - kill -9: trials whose guarantees all held / trials run (target 1.00);
// - concurrency: p99 under load / the same request alone (no target: it is
//   the price of the load on this machine), and errors (target 0).
//
// npm run reliability  runs it and rewrites the figures of docs/reliability.md
// (between its markers). Options (flags or environment):
//   --trials N (SNAPLINE_RELIABILITY_TRIALS, 100)   --seed S (SNAPLINE_RELIABILITY_SEED, random)
//   --registrations N (500)  --devices N (2000)     --engines sqlite,postgres
//   --only kill9|concurrency                         --write-docs
//   --tree DIR (SNAPLINE_RELIABILITY_TREE): bundle and run the sources of DIR
//     (an exported commit with a node_modules link) instead of this checkout.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleLauncher, percentile } from '../test/helpers/serve-child.ts';
import { EXPECTATIONS, OPERATIONS, runKillTrials, type Engine, type OperationResult } from '../test/reliability/kill9.ts';
import { runConcurrency, type ConcurrencyResult } from '../test/reliability/concurrency.ts';

const root = new URL('..', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    trials: { type: 'string', default: process.env['SNAPLINE_RELIABILITY_TRIALS'] ?? '100' },
    seed: { type: 'string', default: process.env['SNAPLINE_RELIABILITY_SEED'] ?? String(Math.floor(Math.random() * 2 ** 31)) },
    registrations: { type: 'string', default: process.env['SNAPLINE_RELIABILITY_REGISTRATIONS'] ?? '500' },
    devices: { type: 'string', default: process.env['SNAPLINE_RELIABILITY_DEVICES'] ?? '2000' },
    engines: { type: 'string', default: 'sqlite,postgres' },
    only: { type: 'string' },
    tree: { type: 'string', default: process.env['SNAPLINE_RELIABILITY_TREE'] },
    'write-docs': { type: 'boolean', default: false },
  },
});
const TRIALS = Number(args.trials);
const SEED = Number(args.seed);
const ENGINES = args.engines.split(',') as Engine[];
const PG = process.env['SNAPLINE_BENCH_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

function machine(): string {
  const c = cpus();
  let openssl: string;
  try {
    openssl = execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    openssl = 'openssl not found';
  }
  let load: string;
  try {
    load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    load = '?';
  }
  return `${c.length} × ${c[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${openssl}, load average at the end ${load}`;
}

const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : '–');
const started = new Date();
const t0 = performance.now();
const launcher = await bundleLauncher({ name: 'reliability-bench', ...(args.tree ? { root: args.tree } : {}) });
const workDir = mkdtempSync(join(tmpdir(), 'snapline-reliability-'));
const log = (l: string) => console.log(`  ${l}`);
const kill: OperationResult[] = [];
const fleet: ConcurrencyResult[] = [];
let revision: string;
try {
  revision = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: args.tree ?? root, encoding: 'utf8' }).trim();
} catch {
  revision = args.tree ? `the tree at ${args.tree}` : '?';
}
try {
  if (args.only !== 'concurrency') {
    for (const engine of ENGINES) {
      console.log(`kill -9: ${TRIALS} trials per operation on ${engine}, seed ${SEED}`);
      kill.push(...(await runKillTrials({ engine, operations: OPERATIONS, trials: TRIALS, seed: SEED, launcher, workDir, postgresUrl: PG, log })));
    }
    for (const r of kill) {
      const failed = new Set(r.failures.map((f) => /^trial (\d+)/.exec(f)?.[1])).size;
      const restarts = [...r.restartMs].sort((a, b) => a - b);
      console.log(
        `${r.engine} ${r.operation}: ${r.trials} trials, ${failed} failed, operation ${ms(r.operationMs)}, restart p50 ${ms(percentile(restarts, 50))} p99 ${ms(percentile(restarts, 99))}; ratio passed/run = ${((r.trials - failed) / Math.max(1, r.trials)).toFixed(2)} (target 1.00)`,
      );
      for (const f of r.failures) console.log(`  FAIL ${f}`);
      for (const f of r.findings) console.log(`  finding: ${f}`);
    }
  }
  if (args.only !== 'kill9') {
    for (const engine of ENGINES) {
      console.log(`concurrency on ${engine}: ${args.registrations} registrations, ${args.devices} devices`);
      const r = await runConcurrency({ engine, registrations: Number(args.registrations), devices: Number(args.devices), launcher, workDir, keyCache: join(root, '.bench-tmp', 'reliability-device-keys.json'), postgresUrl: PG, log });
      fleet.push(r);
    }
    // The reference: one registration and one refresh alone, on an idle server.
    for (const r of fleet) {
      for (const [name, p] of Object.entries({ registrations: r.registrations, sessions: r.sessions, refreshes: r.refreshes })) {
        console.log(`${r.engine} ${name}: ${p.count} at once, ${p.errors} errors, ${p.retried} answered 202 and re-posted, p50 ${ms(p.p50)}, p99 ${ms(p.p99)}, all done in ${ms(p.wallMs)}`);
        for (const e of p.examples) console.log(`  error: ${e}`);
      }
      console.log(`${r.engine}: reference alone: a registration ${ms(r.reference.registrationMs)}, a refresh ${ms(r.reference.refreshMs)}; ratio p99 under load / alone = registrations ${(r.registrations.p99 / r.reference.registrationMs).toFixed(1)}, refreshes ${(r.refreshes.p99 / r.reference.refreshMs).toFixed(1)}`);
      console.log(`${r.engine}: duplicate serials ${r.registrations.duplicateSerials} in answers, ${r.registrations.logDuplicates} in the signing log (${r.registrations.logRows} rows); ratio errors = ${r.registrations.errors + r.sessions.errors + r.refreshes.errors} (target 0)`);
    }
  }
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
const totalMin = (performance.now() - t0) / 60_000;
mkdirSync(join(root, '.bench-tmp'), { recursive: true });
writeFileSync(join(root, '.bench-tmp', 'reliability-results.json'), JSON.stringify({ started, seed: SEED, trials: TRIALS, kill, fleet }, null, 1));
console.log(`done in ${totalMin.toFixed(1)} min; results in .bench-tmp/reliability-results.json`);

if (args['write-docs']) {
  const lines: string[] = [];
  lines.push(`Run of ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on commit ${revision}, ${totalMin.toFixed(0)} minutes, seed **${SEED}**`);
  lines.push(`(\`npm run reliability -- --seed ${SEED}\` draws the same kill moments), launcher: ${launcher.describe}.`);
  lines.push(`Machine: ${machine()}.`);
  lines.push('');
  if (kill.length > 0) {
    lines.push(`### kill -9 (${TRIALS} trials per operation and database)`);
    lines.push('');
    lines.push('| operation | database | trials | failed | acknowledged / interrupted requests | operation took | restart p50 / p99 | findings |');
    lines.push('|---|---|---|---|---|---|---|---|');
    for (const r of kill) {
      const failed = new Set(r.failures.map((f) => /^trial (\d+)/.exec(f)?.[1])).size;
      const restarts = [...r.restartMs].sort((a, b) => a - b);
      const findings = [r.leftoverTmpFiles ? `${r.findings.filter((f) => f.includes('blobs/tmp')).length} tmp file(s) left` : '', r.orphanBlobs ? `${r.orphanBlobs} orphan blob(s)` : '', r.pendingReservations ? `${r.pendingReservations} unsigned reservation(s)` : '']
        .filter(Boolean)
        .join('; ');
      lines.push(`| ${r.operation} | ${r.engine} | ${r.trials} | ${failed} | ${r.acknowledged} / ${r.interrupted} | ${ms(r.operationMs)} | ${ms(percentile(restarts, 50))} / ${ms(percentile(restarts, 99))} | ${findings || '–'} |`);
    }
    const failures = kill.flatMap((r) => r.failures.map((f) => `${r.engine} ${r.operation}: ${f}`));
    lines.push('');
    lines.push(failures.length === 0 ? 'No guarantee was broken.' : `Broken guarantees (${failures.length}):`);
    for (const f of failures.slice(0, 30)) lines.push(`- ${f}`);
    lines.push('');
    lines.push(`Named expectation \`tmpCleanAfterRestart\`: ${EXPECTATIONS.tmpCleanAfterRestart ? 'enforced (a leftover file fails the trial)' : 'not enforced yet (leftover files are counted as findings)'}.`);
    lines.push('');
  }
  if (fleet.length > 0) {
    lines.push(`### Concurrency (${args.registrations} registrations, ${args.devices} devices)`);
    lines.push('');
    lines.push('| database | phase | at once | errors | 202 re-posted | p50 | p99 | wall time |');
    lines.push('|---|---|---|---|---|---|---|---|');
    for (const r of fleet) {
      for (const [name, p] of Object.entries({ registrations: r.registrations, 'session opening': r.sessions, refreshes: r.refreshes })) {
        lines.push(`| ${r.engine} | ${name} | ${p.count} | ${p.errors} | ${p.retried} | ${ms(p.p50)} | ${ms(p.p99)} | ${ms(p.wallMs)} |`);
      }
    }
    lines.push('');
    lines.push(`Alone, on the idle server of the same run: ${fleet.map((r) => `${r.engine} a registration ${ms(r.reference.registrationMs)}, a refresh ${ms(r.reference.refreshMs)}`).join('; ')}.`);
    lines.push(`Duplicate serials: ${fleet.map((r) => `${r.engine} ${r.registrations.duplicateSerials} in the answers, ${r.registrations.logDuplicates} in the signing log (${r.registrations.logRows} rows)`).join('; ')}.`);
    lines.push('');
  }
  const doc = join(root, 'docs/reliability.md');
  const text = readFileSync(doc, 'utf8');
  const begin = '<!-- figures:begin (written by npm run reliability) -->';
  const end = '<!-- figures:end -->';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`docs/reliability.md lacks the markers ${begin} ... ${end}`);
  writeFileSync(doc, `${text.slice(0, i + begin.length)}\n${lines.join('\n')}\n${text.slice(j)}`);
  console.log('docs/reliability.md: figures rewritten');
}
const bad = kill.some((r) => r.failures.length > 0) || fleet.some((r) => r.registrations.errors + r.sessions.errors + r.refreshes.errors + r.registrations.duplicateSerials + r.registrations.logDuplicates > 0);
process.exit(bad ? 1 : 0);
