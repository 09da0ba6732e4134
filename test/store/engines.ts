// Registers a test per engine (SQLite, PostgreSQL), skipping PostgreSQL with the reason when it is unreachable.
import { test, type TestContext } from 'node:test';
import { ENGINES, postgresUnavailable } from '../helpers/databases.ts';
import type { DatabaseEngine } from '../../src/platform/db/index.ts';

export function eachEngine(name: string, body: (engine: DatabaseEngine, t: TestContext) => Promise<void>): void {
  for (const engine of ENGINES) {
    test(`${name} [${engine}]`, async (t) => {
      if (engine === 'postgres') {
        const reason = await postgresUnavailable();
        if (reason) return t.skip(reason);
      }
      await body(engine, t);
    });
  }
}
