// The keys section of the server configuration (custody database | pkcs11)
// and the errors of a PKCS#11 setup that cannot work, before any token.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/platform/config.ts';
import { KeyCustodyError, openConfiguredToken } from '../../../src/platform/keys/index.ts';

test('keys: database custody by default; pkcs11 from the environment or the file, PIN never from the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-keys-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.deepEqual(loadConfig({}, {}, dir).keys, { custody: 'database' });
  assert.deepEqual(
    loadConfig({}, { SNAPLINE_KEY_CUSTODY: 'pkcs11', SNAPLINE_PKCS11_MODULE: '/usr/lib/x.so', SNAPLINE_PKCS11_SLOT: '3', SNAPLINE_PKCS11_PIN_FILE: 'pin' }, dir).keys,
    { custody: 'pkcs11', pkcs11: { module: '/usr/lib/x.so', slot: 3, pinFile: join(dir, 'pin') } },
  );
  const file = join(dir, 'snapline.yaml');
  await writeFile(file, 'keys:\n  custody: pkcs11\n  pkcs11:\n    module: /usr/lib/softhsm/libsofthsm2.so\n    token: snapline\n');
  assert.deepEqual(loadConfig({ config: file }, {}, dir).keys, { custody: 'pkcs11', pkcs11: { module: '/usr/lib/softhsm/libsofthsm2.so', token: 'snapline' } });
  // The environment wins over the file, as for every setting.
  assert.deepEqual(loadConfig({ config: file }, { SNAPLINE_KEY_CUSTODY: 'database' }, dir).keys, { custody: 'database' });

  await writeFile(file, 'keys:\n  custody: pkcs11\n  pkcs11:\n    module: /x.so\n    pin: "1234"\n');
  assert.throws(() => loadConfig({ config: file }, {}, dir), (err: unknown) => err instanceof ConfigError && /pin/.test(err.message));
  assert.throws(() => loadConfig({}, { SNAPLINE_KEY_CUSTODY: 'pkcs11' }, dir), /needs the PKCS#11 module/);
  assert.throws(() => loadConfig({}, { SNAPLINE_KEY_CUSTODY: 'hsm' }, dir), /"database" or "pkcs11"/);
  assert.throws(() => loadConfig({}, { SNAPLINE_KEY_CUSTODY: 'pkcs11', SNAPLINE_PKCS11_MODULE: '/x.so', SNAPLINE_PKCS11_SLOT: 'first' }, dir), /expected a slot number/);
});

test('pkcs11: no PIN, an unreadable PIN file, or a module that does not load: key-unusable, saying which', () => {
  const unusable = (message: RegExp) => (err: unknown) => err instanceof KeyCustodyError && err.code === 'key-unusable' && message.test(err.message);
  assert.throws(() => openConfiguredToken({ module: '/nonexistent/libpkcs11.so' }, {}), unusable(/needs the token PIN/));
  assert.throws(() => openConfiguredToken({ module: '/nonexistent/libpkcs11.so', pinFile: '/nonexistent/pin' }, {}), unusable(/cannot read the PKCS#11 PIN file \/nonexistent\/pin: ENOENT/));
  // Without the binding the message names it instead; with it, the module path.
  assert.throws(() => openConfiguredToken({ module: '/nonexistent/libpkcs11.so' }, { SNAPLINE_PKCS11_PIN: '1234' }), unusable(/\/nonexistent\/libpkcs11\.so|pkcs11js/));
});
