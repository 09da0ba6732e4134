// The prepare-device hook runner: the gadget unpacked as $SNAP, a snapctl
// stand-in first on PATH recording `set` and answering `get`, the time limit
// (the whole process group killed), failing hooks and unusable settings.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nestConfig, registrationConfig } from '../../src/device/config.ts';
import { isDeviceError } from '../../src/device/errors.ts';
import { runPrepareDevice } from '../../src/device/hook.ts';
import { packYaml } from '../store/fixtures.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snapline-hook-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function gadget(script: string, extra: Record<string, string> = {}): Promise<string> {
  const p = await packYaml(dir, `gadget-${++n}`, 'name: my-gadget\nversion: "1"\ntype: gadget\n', { 'meta/gadget.yaml': 'volumes:\n  pc:\n    bootloader: grub\n    structure: []\n', 'meta/hooks/prepare-device': script, ...extra });
  return p.file;
}

function run(file: string, timeoutMs = 20_000) {
  return runPrepareDevice({ gadgetFile: file, gadgetName: 'my-gadget', revision: 7, architecture: 'amd64', timeoutMs, nodePath: process.execPath, path: process.env['PATH'] ?? '/usr/bin:/bin' });
}

test('the hook sets the registration keys with snapctl and reads them back', async () => {
  const out = await run(
    await gadget(
      `#!/bin/sh -e
snapctl set device-service.url="https://vault.example/v1" device-service.headers='{"api-key": "S3CR3T", "x-line": "7"}'
snapctl set registration.proposed-serial="$(cat "$SNAP/serial.txt")"
snapctl set registration.body="mac: 00:11:22:33:44:55
line 2"
snapctl set junk.number=42 junk.gone=1
snapctl unset junk.gone
echo "url=$(snapctl get device-service.url) key=$(snapctl get device-service.headers | tr -d ' \\t\\n')"
echo "env: $SNAP_NAME $SNAP_REVISION $SNAP_ARCH"
snapctl get -d junk
snapctl get missing.key || echo "get of a missing key fails"
snapctl services 2>&1 || true
`,
      { 'serial.txt': 'A-0042' },
    ),
  );
  assert.ok(out.ok, out.reason + out.output);
  assert.deepEqual(out.config, {
    'device-service': { url: 'https://vault.example/v1', headers: { 'api-key': 'S3CR3T', 'x-line': '7' } },
    registration: { 'proposed-serial': 'A-0042', body: 'mac: 00:11:22:33:44:55\nline 2' },
    junk: { number: 42 },
  });
  assert.match(out.output, /url=https:\/\/vault.example\/v1 key=\{"api-key":"S3CR3T","x-line":"7"\}/);
  assert.match(out.output, /env: my-gadget 7 amd64/);
  assert.match(out.output, /"junk\.number": 42|"junk": \{/);
  assert.match(out.output, /snap "my-gadget" has no "missing.key" configuration option/);
  assert.match(out.output, /get of a missing key fails/);
  assert.match(out.output, /snapctl services: not available on the simulated device/);
  assert.deepEqual(registrationConfig(out.config), {
    url: 'https://vault.example/v1/',
    headers: { 'api-key': 'S3CR3T', 'x-line': '7' },
    proposedSerial: 'A-0042',
    body: 'mac: 00:11:22:33:44:55\nline 2',
  });
});

test('a failing hook is reported with its status and output', async () => {
  const out = await run(await gadget('#!/bin/sh\necho "cannot reach the TPM" >&2\nsnapctl set device-service.url=http://x/\nexit 3\n'));
  assert.equal(out.ok, false);
  assert.equal(out.exitCode, 3);
  assert.equal(out.timedOut, false);
  assert.match(out.output, /cannot reach the TPM/);
  assert.match(out.reason!, /exited with status 3/);
});

test('a hook that hangs is killed at the time limit, with what it left running', async () => {
  const t0 = Date.now();
  const out = await run(await gadget('#!/bin/sh\necho started\nsleep 60 &\nsleep 60\n'), 700);
  assert.equal(out.ok, false);
  assert.equal(out.timedOut, true);
  assert.match(out.output, /started/);
  assert.match(out.reason!, /did not finish within 1 s/);
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  // A hook that exits but leaves a child holding its output does not hold the device either.
  const t1 = Date.now();
  const bg = await run(await gadget('#!/bin/sh\nsleep 60 &\nsnapctl set registration.body=ok\n'));
  assert.ok(bg.ok, bg.reason);
  assert.ok(Date.now() - t1 < 5000, `took ${Date.now() - t1} ms`);
});

test('a hook that is not executable, or not a program, fails cleanly', async () => {
  const out = await run(await gadget('this is not a script\n'));
  assert.equal(out.ok, false);
  assert.match(out.reason!, /cannot run the prepare-device hook|exited with status/);
});

test('unusable settings are refused with device-hook-failed', () => {
  const bad = (doc: Record<string, unknown>, msg: RegExp) =>
    assert.throws(
      () => registrationConfig(nestConfig(doc)),
      (err: unknown) => isDeviceError(err) && err.code === 'device-hook-failed' && msg.test(err.message),
    );
  bad({ 'device-service.headers': 'api-key: S3CR3T' }, /headers must be a JSON object/);
  bad({ 'device-service.headers': { 'api-key': 7 } }, /api-key must be a string/);
  bad({ 'device-service.headers': { 'bad header': 'x' } }, /unusable header/);
  bad({ 'device-service.url': 'ftp://vault/' }, /not an http/);
  bad({ 'device-service.url': 'not a url' }, /is not a URL/);
  bad({ 'registration.proposed-serial': 1234 }, /proposed-serial must be a string/);
  assert.deepEqual(registrationConfig(nestConfig({ 'device-service': { url: 'http://v/x' }, 'registration.body': '' })), { url: 'http://v/x/' });
});
