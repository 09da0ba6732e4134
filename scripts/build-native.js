#!/usr/bin/env node
// Builds native/ (the four-lane SHA3 addon the image builder hashes snaps
// with) through node-gyp, which npm carries and names to its scripts. `npm ci`
// runs this through the "prepare" script. Optional: where it cannot build (no
// C compiler, no Node headers, not x86-64 Linux), the image builder hashes
// with node:crypto instead, slower, and this says so without failing.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const skip = (why) => {
  console.warn(`snapline: the native SHA3 addon is not built (${why}); image builds hash with node:crypto, more slowly.`);
  process.exit(0);
};

if (process.platform !== 'linux' || process.arch !== 'x64') skip(`it is for x86-64 Linux, this is ${process.arch} ${process.platform}`);
let gyp = process.env.npm_config_node_gyp;
if (!gyp) {
  try {
    gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    skip('node-gyp not found: run it through npm');
  }
}
const r = spawnSync(process.execPath, [gyp, 'rebuild', '--directory', 'native'], { encoding: 'utf8' });
if (r.status !== 0) {
  process.stderr.write(r.stdout + r.stderr);
  skip('node-gyp failed, output above');
}
