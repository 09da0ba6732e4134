#!/usr/bin/env node
// Runs every test file under test/ with node's built-in runner and tsx.
// Node 20's `--test` takes no glob patterns, so the files are listed here.
// Usage: node scripts/run-tests.js [path-filter...]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...find(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = find('test').filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
const concurrency = Math.max(2, availableParallelism());
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files],
  // Tests that spawn the CLI run the current sources, whatever the state of dist/.
  { stdio: 'inherit', env: { ...process.env, SNAPLINE_FROM_SOURCE: '1' } },
);
process.exit(result.status ?? 1);
