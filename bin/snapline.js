#!/usr/bin/env node
// The snapline command: runs the bundle in dist/ (scripts/build.js; `npm ci`
// and `npm install` build it through "prepare", `npm run build` rebuilds it).
// SNAPLINE_FROM_SOURCE=1 runs the TypeScript sources through tsx's loader
// instead (`npm run dev`, and the tests, which must run the current sources).
// Nothing is compared or stat()ed on the way: start-up time is the point.
import { existsSync } from 'node:fs';

const fromSource = !['', '0', undefined].includes(process.env.SNAPLINE_FROM_SOURCE);
const bundle = new URL('../dist/snapline.js', import.meta.url);

let main;
if (fromSource) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
} else {
  try {
    ({ main } = await import(bundle.href));
  } catch (err) {
    // Only now look for the file: a missing package also fails as ERR_MODULE_NOT_FOUND.
    // No silent fall-back to the sources: the published package has no tsx, and in
    // a checkout a slow, differently-built CLI should be asked for, not stumbled on.
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || existsSync(bundle)) throw err;
    process.stderr.write('snapline: dist/snapline.js is missing: run `npm run build` (or run the sources with `npm run dev --` or SNAPLINE_FROM_SOURCE=1)\n');
    process.exit(1);
  }
}
process.exitCode = await main(process.argv);
