// The console's initial page load stays under 300 KB of compressed
// JavaScript: the entry script and everything it imports statically (pages
// are chunks loaded when opened, not counted). Built from the current
// sources. Also: index.html runs no inline script and loads no inline style
// (the Content-Security-Policy would refuse them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildConsole } from './world.ts';

const BUDGET_BYTES = 300 * 1024;

/** Static imports of an ES module as Rollup writes them (`import{a}from"./x.js"`, `import"./y.js"`), not `import("./z.js")`. */
export function staticImports(code: string): string[] {
  return [...code.matchAll(/\bimport\s*(?:[\w$*{}\s,]+?\s*from\s*)?["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]!);
}

test('static imports are found, dynamic ones are not', () => {
  const code = 'import{a as b,c}from"./chunk-1.js";import"./side.js";import * as ns from "../x.js";const p=()=>import("./page.js");';
  assert.deepEqual(staticImports(code), ['./chunk-1.js', './side.js', '../x.js']);
});

test('the initial load is under 300 KB of compressed JavaScript, with no inline script or style', { timeout: 120_000 }, async (t) => {
  const build = await buildConsole();
  t.after(() => build.remove());
  const html = await readFile(join(build.dir, 'index.html'), 'utf8');

  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.ok(scripts.length > 0, 'index.html loads a script');
  for (const [, attrs, body] of scripts) {
    assert.match(attrs!, /\bsrc="\/console\/assets\/[^"]+\.js"/, 'every script is a file of the build');
    assert.equal(body!.trim(), '', 'no inline script');
  }
  assert.doesNotMatch(html, /<style\b|\sstyle="/, 'no inline style');

  const entries = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="\/console\/([^"]+\.js)"/g)].map((m) => m[1]!);
  const seen = new Set<string>();
  const visit = async (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = await readFile(join(build.dir, file), 'utf8');
    for (const spec of staticImports(code)) await visit(posix.normalize(posix.join(posix.dirname(file), spec)));
  };
  for (const e of entries) await visit(e);
  let compressed = 0;
  for (const file of seen) compressed += gzipSync(await readFile(join(build.dir, file)), { level: 9 }).length;
  t.diagnostic(`initial JavaScript: ${[...seen].join(', ')}: ${(compressed / 1024).toFixed(1)} KB gzip`);
  assert.ok(compressed < BUDGET_BYTES, `initial JavaScript is ${compressed} bytes compressed (budget ${BUDGET_BYTES})`);

  // Pages are chunks of their own: the initial load does not carry them.
  const all = (await readdir(join(build.dir, 'assets'))).filter((f) => f.endsWith('.js'));
  assert.ok(all.length > seen.size + 5, `pages are split into chunks (${all.length} scripts, ${seen.size} loaded first)`);
  assert.ok(dirname(entries[0]!) === 'assets');
});
