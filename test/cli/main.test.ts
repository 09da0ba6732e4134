import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram, namedCommand } from '../../src/cli/main.ts';
import { COMMANDS } from '../../src/cli/commands/index.ts';
import { runCli } from '../helpers/cli.ts';

const ALL = COMMANDS.map((c) => c.name);
const sub = (p: Command, name: string) => p.commands.find((c) => c.name() === name)!;

test('the program knows its name and version', async () => {
  const program = await buildProgram();
  assert.equal(program.name(), 'snapline');
  assert.equal(program.version(), '0.1.0');
  const r = await runCli(['--version']);
  assert.deepEqual(r, { code: 0, out: '0.1.0\n', err: '' });
});

test('--help from the command table is the help of every module loaded', async () => {
  const full = await buildProgram(ALL);
  assert.deepEqual(full.commands.map((c) => c.name()), ALL, 'every top-level command the modules register has an entry in COMMANDS, in order');
  const lazy = await buildProgram();
  assert.equal(lazy.helpInformation(), full.helpInformation());
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  assert.equal(r.out, full.helpInformation());
});

test("each table entry's modules register that command in full", async () => {
  const full = await buildProgram(ALL);
  for (const name of ALL) {
    const one = await buildProgram([name]);
    const help = (c: Command): string => [c.helpInformation(), ...c.commands.map(help)].join('\n');
    assert.equal(help(sub(one, name)), help(sub(full, name)), name);
  }
});

test('the command named on the command line', () => {
  assert.equal(namedCommand([]), undefined);
  assert.equal(namedCommand(['--version']), undefined);
  assert.equal(namedCommand(['verify', '--trusted', 'a', 'b']), 'verify');
  assert.equal(namedCommand(['-h', 'key', 'create']), 'key');
  assert.equal(namedCommand(['help', 'root', 'init']), 'root');
  assert.equal(namedCommand(['help']), undefined);
});

test('subcommand help and errors still come from the loaded module', async () => {
  const r = await runCli(['help', 'root']);
  assert.equal(r.code, 0);
  assert.match(r.out, /init \[options\] <root-id>/);
  assert.match(r.out, /export \[options\]/);
  const bad = await runCli(['verify']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /missing required argument 'files'/);
  const unknown = await runCli(['verfy']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /unknown command 'verfy'[\s\S]*Did you mean verify\?/);
});
