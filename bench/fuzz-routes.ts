// The route fuzzer (test/fuzz/routes.fuzz.test.ts) at length: 200 requests per
// route on SQLite and on PostgreSQL (CI runs 6 per route on SQLite). Prints
// the requests made, the time and the heap before and after; fails when the
// fuzzer finds a 5xx, a hang, an error out of shape or a leak.
// SNAPLINE_FUZZ_RUNS overrides the count.
import { spawnSync } from 'node:child_process';

const RUNS = process.env['SNAPLINE_FUZZ_RUNS'] ?? '200';
let failed = 0;
for (const engine of ['sqlite', 'postgres']) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', 'test/fuzz/routes.fuzz.test.ts'], {
    encoding: 'utf8',
    env: { ...process.env, SNAPLINE_FUZZ_RUNS: RUNS, SNAPLINE_FUZZ_ENGINE: engine },
  });
  const summary = /# seed .*/.exec(r.stdout)?.[0] ?? '(no summary)';
  const skipped = /# SKIP (.*)/.exec(r.stdout)?.[1];
  console.log(`${engine}: ${r.status === 0 ? 'no fault' : 'FAULTS'}; ${skipped ? `skipped: ${skipped}` : summary.slice(2)}`);
  if (r.status !== 0) {
    failed++;
    console.log(r.stdout.split('\n').filter((l) => /error:|counterexample|route\(s\) failed|^\s+[A-Z]+ \//.test(l)).slice(0, 40).join('\n'));
  }
}
process.exit(failed === 0 ? 0 : 1);
