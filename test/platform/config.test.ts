import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/platform/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'snapline-config-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('embedded defaults: data folder, SQLite inside it, every service, loopback', () => {
  const c = loadConfig({}, {}, dir);
  assert.equal(c.dataDir, join(dir, 'data'));
  assert.equal(c.db, `sqlite:${join(dir, 'data', 'snapline.db')}`);
  assert.deepEqual(c.only, ['store', 'vault', 'console']);
  assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8080 });
  assert.equal(c.publicUrl, 'http://127.0.0.1:8080');
  assert.equal(c.rootId, 'snapline-root');
  assert.equal(c.workers, 1);
});

test('worker processes: a count or one per core, from a flag, the environment or the file', () => {
  const file = join(dir, 'workers.yaml');
  writeFileSync(file, 'workers: 3\n');
  assert.equal(loadConfig({ config: file }, {}, dir).workers, 3);
  assert.equal(loadConfig({ config: file }, { SNAPLINE_WORKERS: '2' }, dir).workers, 2);
  assert.equal(loadConfig({ config: file, workers: 'auto' }, {}, dir).workers, availableParallelism());
  writeFileSync(file, 'workers: auto\n');
  assert.equal(loadConfig({ config: file }, {}, dir).workers, availableParallelism());
});

test('flags win over the environment, which wins over the file', () => {
  const file = join(dir, 'snapline.yaml');
  writeFileSync(file, 'listen: 127.0.0.1:9000\nonly: [store]\nrootId: file-root\nlimits:\n  uploadBytes: 1048576\n');
  const fromFile = loadConfig({ config: file }, {}, dir);
  assert.equal(fromFile.listen.port, 9000);
  assert.deepEqual(fromFile.only, ['store']);
  assert.equal(fromFile.rootId, 'file-root');
  assert.equal(fromFile.limits.uploadBytes, 1048576);
  const fromEnv = loadConfig({ config: file }, { SNAPLINE_LISTEN: '0.0.0.0:9001', SNAPLINE_ROOT_ID: 'env-root' }, dir);
  assert.equal(fromEnv.listen.port, 9001);
  assert.equal(fromEnv.publicUrl, 'http://127.0.0.1:9001');
  assert.equal(fromEnv.rootId, 'env-root');
  const fromFlags = loadConfig({ config: file, listen: '[::1]:9002', only: 'vault,store' }, { SNAPLINE_LISTEN: '0.0.0.0:9001' }, dir);
  assert.deepEqual(fromFlags.listen, { host: '::1', port: 9002 });
  assert.deepEqual(fromFlags.only, ['vault', 'store']);
});

const INVALID: [string, () => unknown, RegExp][] = [
  ['bad listen', () => loadConfig({ listen: 'localhost' }, {}, dir), /expected HOST:PORT/],
  ['port too big', () => loadConfig({ listen: '127.0.0.1:70000' }, {}, dir), /expected HOST:PORT/],
  ['unknown service', () => loadConfig({ only: 'store,shop' }, {}, dir), /unknown service "shop"/],
  ['bad db url', () => loadConfig({ db: 'mysql://x' }, {}, dir), /must start with sqlite: or postgres:\/\//],
  ['bad root id', () => loadConfig({}, { SNAPLINE_ROOT_ID: 'Not Valid' }, dir), /invalid account id/],
  ['bad log level', () => loadConfig({}, { SNAPLINE_LOG_LEVEL: 'loud' }, dir), /unknown level/],
  ['no workers', () => loadConfig({ workers: '0' }, {}, dir), /expected a number of worker processes from 1 to 64/],
  ['workers not a number', () => loadConfig({}, { SNAPLINE_WORKERS: 'many' }, dir), /SNAPLINE_WORKERS: expected a number of worker processes/],
  ['too many workers', () => loadConfig({ workers: '65' }, {}, dir), /from 1 to 64/],
  ['missing file', () => loadConfig({ config: join(dir, 'nope.yaml') }, {}, dir), /cannot read config file/],
];
for (const [name, fn, err] of INVALID) {
  test(`refused with a clear error: ${name}`, () => {
    assert.throws(fn, (e: unknown) => e instanceof ConfigError && e.code === 'config-invalid' && err.test(e.message));
  });
}

test('the config file is validated, unknown keys and secrets included', () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'listen: 1\nmasterKey: abc\n');
  assert.throws(() => loadConfig({ config: file }, {}, dir), /invalid: .*(masterKey|must be string)/);
  const json = join(dir, 'bad.json');
  writeFileSync(json, '{ nope');
  assert.throws(() => loadConfig({ config: json }, {}, dir), /not valid JSON/);
});

test('database credentials never show in a described config', async () => {
  const { describeConfig } = await import('../../src/platform/config.ts');
  const c = loadConfig({ db: 'postgres://user:s3cret@db/x' }, {}, dir);
  assert.doesNotMatch(JSON.stringify(describeConfig(c)), /s3cret/);
});
