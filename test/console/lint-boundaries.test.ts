// The console's import boundaries (eslint.config.js): its server side is a
// service like the others (no other service's code); its browser app talks to
// the server over HTTP only (no Node module, no server code).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

const eslint = new ESLint();

const cases: [string, string, boolean][] = [
  ['src/console/server/probe.ts', "import { x } from '../../store/store.repo.ts';\nexport const y = x;\n", true],
  ['src/console/server/probe.ts', "import { x } from '../../vault/vault.repo.ts';\nexport const y = x;\n", true],
  ['src/console/server/probe.ts', "import { x } from '../../platform/db/index.ts';\nexport const y = x;\n", false],
  ['src/platform/probe.ts', "import { x } from '../console/server/console.plugin.ts';\nexport const y = x;\n", true],
  ['src/console/app/probe.ts', "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n", true],
  ['src/console/app/pages/probe.tsx', "import { x } from '../../../platform/http/access.ts';\nexport const y = x;\n", true],
  ['src/console/app/pages/probe.tsx', "import { x } from '../../server/security-headers.ts';\nexport const y = x;\n", true],
  ['src/console/app/pages/probe.tsx', "import { x } from '../lib/api.ts';\nexport const y = x;\n", false],
];

for (const [file, text, refused] of cases) {
  test(`${file}: ${text.split('\n')[0]} is ${refused ? 'refused' : 'allowed'}`, async () => {
    const [result] = await eslint.lintText(text, { filePath: file });
    const rules = result!.messages.map((m) => m.ruleId ?? m.message);
    assert.equal(rules.some((r) => r === 'no-restricted-imports'), refused, rules.join(', '));
  });
}
