// kill -9 at random moments of snap upload, release, serial signing (counter
// and proposed serials), account-key registration and the first start's
// migrations, on SQLite and PostgreSQL; each trial restarts the server on the
// same data and checks that no acknowledged write is lost and nothing
// half-stored is visible (test/reliability/kill9.ts, docs/reliability.md).
//
// SNAPLINE_RELIABILITY_TRIALS: trials per operation and database (default 10,
// as issue 18 asks of CI: about 5 minutes per database on the 2-core machine,
// run beside other test files; the benchmark runs 100).
// SNAPLINE_RELIABILITY_SEED: the PRNG seed of the kill moments (default:
// random, printed; give it to reproduce a run).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENGINES, postgresUnavailable, TEST_POSTGRES_URL } from '../helpers/databases.ts';
import { bundleLauncher, type Launcher } from '../helpers/serve-child.ts';
import { EXPECTATIONS, OPERATIONS, runKillTrials } from './kill9.ts';

const TRIALS = Number(process.env['SNAPLINE_RELIABILITY_TRIALS'] ?? 10);
const SEED = Number(process.env['SNAPLINE_RELIABILITY_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

let launcher: Promise<Launcher> | undefined;
const buildName = `reliability-test-${process.pid}`;
/** The current sources bundled once for this file: a restart is then mostly the server's own start-up. */
function launcherOnce(): Promise<Launcher> {
  launcher ??= bundleLauncher({ name: buildName });
  return launcher;
}

test.after(async () => {
  await rm(join(new URL('../../', import.meta.url).pathname, '.bench-tmp', buildName), { recursive: true, force: true });
});

// Both databases at once: each trial waits on start-ups, which the other database's trials can use.
describe('kill -9 trials', { concurrency: 2 }, () => {
  for (const engine of ENGINES) {
    test(`kill -9 during upload, release, serial signing, key registration and migration: nothing acknowledged lost, nothing half-stored [${engine}]`, { timeout: 15 * 60_000 }, async (t) => {
      if (engine === 'postgres') {
        const why = await postgresUnavailable();
        if (why) return void t.skip(why);
      }
      t.diagnostic(`seed ${SEED} (SNAPLINE_RELIABILITY_SEED=${SEED} reproduces the kill moments), ${TRIALS} trial(s) per operation`);
      const workDir = await mkdtemp(join(tmpdir(), 'snapline-kill9-'));
      t.after(() => rm(workDir, { recursive: true, force: true }));
      const results = await runKillTrials({
        engine,
        operations: OPERATIONS,
        trials: TRIALS,
        seed: SEED,
        launcher: await launcherOnce(),
        workDir,
        postgresUrl: TEST_POSTGRES_URL,
        log: (l) => t.diagnostic(l),
      });
      for (const r of results) {
        for (const f of r.findings) t.diagnostic(`finding [${engine} ${r.operation}]: ${f}`);
      }
      if (!EXPECTATIONS.tmpCleanAfterRestart) t.diagnostic('expectation tmpCleanAfterRestart is not enforced yet: leftover blobs/tmp files are reported above as findings');
      assert.deepEqual(
        results.flatMap((r) => r.failures.map((f) => `${r.operation}: ${f} (seed ${SEED})`)),
        [],
      );
      assert.deepEqual(results.map((r) => [r.operation, r.trials]), OPERATIONS.map((op) => [op, TRIALS]));
    });
  }
});
