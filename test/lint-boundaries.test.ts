// The import boundaries and the no-process.env rule are lint rules
// (eslint.config.js); this checks they fire where they should.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

const eslint = new ESLint();

async function messages(file: string, text: string): Promise<string[]> {
  const [result] = await eslint.lintText(text, { filePath: file });
  return result!.messages.map((m) => m.ruleId ?? m.message);
}

const cases: [string, string, boolean][] = [
  ['src/assertions/probe.ts', "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n", true],
  ['src/assertions/probe.ts', "import type { Db } from '../platform/db/index.ts';\nexport type D = Db;\n", true],
  ['src/channel/probe.ts', "import { x } from '../store/repo.ts';\nexport const y = x;\n", true],
  ['src/snap/probe.ts', "import { createHash } from 'node:crypto';\nexport const h = createHash;\n", false],
  ['src/platform/probe.ts', "import { x } from '../vault/repo.ts';\nexport const y = x;\n", true],
  ['src/platform/probe.ts', "import { x } from '../assertions/index.ts';\nexport const y = x;\n", false],
  ['src/store/probe.ts', "import { x } from '../vault/repo.ts';\nexport const y = x;\n", true],
  ['src/vault/probe.ts', "import { x } from '../store/repo.ts';\nexport const y = x;\n", true],
  ['src/store/probe.ts', "import { x } from '../platform/db/index.ts';\nexport const y = x;\n", false],
  ['src/store/probe.ts', "export const home = process.env['HOME'];\n", true],
  ['src/cli/probe.ts', "export const home = process.env['HOME'];\n", false],
];

for (const [file, text, refused] of cases) {
  test(`${file}: ${text.split('\n')[0]} is ${refused ? 'refused' : 'allowed'}`, async () => {
    const rules = await messages(file, text);
    const boundary = rules.filter((r) => r === 'no-restricted-imports' || r === 'no-restricted-properties');
    assert.equal(boundary.length > 0, refused, rules.join(', '));
  });
}
