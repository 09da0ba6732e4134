// Registers a test per engine, each with a fresh vault; PostgreSQL variants
// are skipped with the reason when the server is unreachable.
import { test, type TestContext } from 'node:test';
import type { DatabaseEngine } from '../../src/platform/db/index.ts';
import { ENGINES, postgresUnavailable } from '../helpers/databases.ts';
import { startVault, type TestVault } from './helpers.ts';

export function vaultTest(name: string, body: (v: TestVault, ctx: { engine: DatabaseEngine; t: TestContext }) => Promise<void>, opts: Parameters<typeof startVault>[1] = {}): void {
  for (const engine of ENGINES) {
    test(`${name} [${engine}]`, async (t) => {
      if (engine === 'postgres') {
        const reason = await postgresUnavailable();
        if (reason) return void t.skip(reason);
      }
      const v = await startVault(engine, opts);
      try {
        await body(v, { engine, t });
      } finally {
        await v.close();
      }
    });
  }
}
