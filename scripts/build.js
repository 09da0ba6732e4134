#!/usr/bin/env node
// Builds dist/snapline.js: the CLI and server bundled into one ES module (npm
// packages stay external). `npm ci` runs this through the "prepare" script, so
// `npm start` runs plain JavaScript: faster start-up and about 40 MB less
// memory than transpiling TypeScript at run time. bin/snapline.js falls back
// to the sources (through tsx) when the bundle is missing or older than them.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/snapline.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
