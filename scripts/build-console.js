#!/usr/bin/env node
// Builds the web console (src/console/app/, React) with Vite into
// dist/console/, which `snapline serve` serves at /console/. `npm ci` runs it
// through the "prepare" script, so `npm start` serves the console with no
// extra step. Asset names carry a content hash (cached for a year by the
// server); the build writes no inline script (the Content-Security-Policy
// allows none) and no source maps.
// Usage: node scripts/build-console.js [--outdir DIR]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { build } from 'vite';

const root = fileURLToPath(new URL('../src/console/app/', import.meta.url));
const { values: args } = parseArgs({ options: { outdir: { type: 'string', default: 'dist/console' } } });

await build({
  root,
  base: '/console/',
  configFile: false,
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', legalComments: 'none' },
  build: {
    outDir: resolve(args.outdir),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // No data: URLs in scripts or styles: every asset is a file of its own.
    assetsInlineLimit: 0,
    // No polyfill script for <link rel=modulepreload>: every supported browser has it.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
