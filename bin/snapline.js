#!/usr/bin/env node
// The snapline command. Sources are TypeScript, run through tsx's loader so
// that `npm ci` is the only install step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
