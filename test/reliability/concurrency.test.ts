// Many devices at once, reduced for CI (the benchmark runs 500 registrations
// and 2,000 refreshing devices): concurrent registrations with zero errors
// and zero duplicate serials, then devices opening sessions and refreshing at
// once with zero errors; p50/p99 printed (test/reliability/concurrency.ts).
// SNAPLINE_RELIABILITY_REGISTRATIONS / SNAPLINE_RELIABILITY_DEVICES change the sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENGINES, postgresUnavailable, TEST_POSTGRES_URL } from '../helpers/databases.ts';
import { bundleLauncher, type Launcher } from '../helpers/serve-child.ts';
import { runConcurrency } from './concurrency.ts';

const REGISTRATIONS = Number(process.env['SNAPLINE_RELIABILITY_REGISTRATIONS'] ?? 50);
const DEVICES = Number(process.env['SNAPLINE_RELIABILITY_DEVICES'] ?? 200);
const ROOT = new URL('../../', import.meta.url).pathname;
const buildName = `reliability-concurrency-${process.pid}`;
let launcher: Promise<Launcher> | undefined;

test.after(async () => {
  await rm(join(ROOT, '.bench-tmp', buildName), { recursive: true, force: true });
});

for (const engine of ENGINES) {
  test(`${REGISTRATIONS} concurrent registrations and ${DEVICES} devices refreshing at once: no error, no duplicate serial [${engine}]`, { timeout: 10 * 60_000 }, async (t) => {
    if (engine === 'postgres') {
      const why = await postgresUnavailable();
      if (why) return void t.skip(why);
    }
    launcher ??= bundleLauncher({ name: buildName });
    const workDir = await mkdtemp(join(tmpdir(), 'snapline-fleet-'));
    t.after(() => rm(workDir, { recursive: true, force: true }));
    const r = await runConcurrency({
      engine,
      registrations: REGISTRATIONS,
      devices: DEVICES,
      launcher: await launcher,
      workDir,
      keyCache: join(workDir, 'device-keys.json'),
      postgresUrl: TEST_POSTGRES_URL,
      log: (l) => t.diagnostic(l),
    });
    for (const [name, p] of Object.entries({ registrations: r.registrations, sessions: r.sessions, refreshes: r.refreshes })) {
      t.diagnostic(`${name}: ${p.count}, ${p.errors} errors, p50 ${p.p50.toFixed(0)} ms, p99 ${p.p99.toFixed(0)} ms, all in ${p.wallMs.toFixed(0)} ms`);
    }
    assert.deepEqual(
      { errors: r.registrations.errors, examples: r.registrations.examples, duplicates: r.registrations.duplicateSerials, logDuplicates: r.registrations.logDuplicates, logRows: r.registrations.logRows },
      { errors: 0, examples: [], duplicates: 0, logDuplicates: 0, logRows: REGISTRATIONS },
    );
    assert.deepEqual({ errors: r.sessions.errors, examples: r.sessions.examples, count: r.sessions.count }, { errors: 0, examples: [], count: DEVICES });
    assert.deepEqual({ errors: r.refreshes.errors, examples: r.refreshes.examples, count: r.refreshes.count }, { errors: 0, examples: [], count: DEVICES });
  });
}
