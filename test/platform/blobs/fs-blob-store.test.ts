// What only the filesystem store promises: layout, no partial files, cleanup.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FsBlobStore } from '../../../src/platform/blobs/index.ts';
import { cutShort, sha3 } from './helpers.ts';

async function withStore(body: (store: FsBlobStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-fsblobs-'));
  try {
    const store = await FsBlobStore.open(dir);
    try {
      await body(store, dir);
    } finally {
      store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('blobs live at sha3-384/<2 hex>/<hex>; uploads leave no temporary files', () =>
  withStore(async (store, dir) => {
    const data = Buffer.from('layout');
    const hex = sha3(data).toString('hex');
    await store.put(Readable.from([data]), { maxSize: 100 });
    assert.deepEqual(await readdir(join(dir, 'sha3-384', hex.slice(0, 2))), [hex]);
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
  }));

test('while an upload is in flight nothing is visible under its digest, and after a failure nothing is left', () =>
  withStore(async (store, dir) => {
    const data = Buffer.alloc(50_000, 3);
    const source = new Readable({ read() {} });
    source.push(data.subarray(0, 25_000));
    const put = store.put(source, { maxSize: 1 << 20 });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await store.stat(sha3(data).toString('hex')), undefined);
    assert.equal((await readdir(join(dir, 'tmp'))).length, 1, 'the upload writes a temporary file');
    source.push(data.subarray(25_000));
    source.push(null);
    assert.equal((await put).size, data.length);

    await assert.rejects(store.put(cutShort(new Error('reset')), { maxSize: 1 << 20 }));
    const failsAtOnce = new Readable({ read() {} });
    failsAtOnce.destroy(new Error('refused'));
    await assert.rejects(store.put(failsAtOnce, { maxSize: 1 << 20 }));
    await assert.rejects(store.put(Readable.from([Buffer.alloc(2000)]), { maxSize: 1000 }));
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
  }));

test('concurrent puts of the same content leave one blob and no temporary files', () =>
  withStore(async (store, dir) => {
    const data = Buffer.alloc(100_000, 9);
    await Promise.all(Array.from({ length: 10 }, () => store.put(Readable.from([data]), { maxSize: 1 << 20 })));
    const hex = sha3(data).toString('hex');
    assert.deepEqual(await readdir(join(dir, 'sha3-384', hex.slice(0, 2))), [hex]);
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
  }));

// --- crashed uploads -------------------------------------------------------

const CHILD = fileURLToPath(new URL('./upload-child.ts', import.meta.url));

/** A process uploading into `dir` until killed; resolves once its temporary file has bytes. */
async function uploader(dir: string, t: TestContext, heartbeatMs = 5000): Promise<{ child: ChildProcess; file: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(heartbeatMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  for await (const chunk of child.stdout!) {
    out += String(chunk);
    const m = /writing (\S+)\n/.exec(out);
    if (m) return { child, file: m[1]! };
  }
  throw new Error(`the uploader ended before writing: ${out}`);
}

async function killed(child: ChildProcess): Promise<void> {
  const exit = once(child, 'exit');
  child.kill('SIGKILL');
  await exit;
}

async function tmpFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'tmp'))).sort();
}

test('an upload killed with SIGKILL leaves a temporary file that the next start removes; a live upload of another process keeps its file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-fsblobs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = await FsBlobStore.open(dir, { sweepIntervalMs: 0 });
  const dead = await uploader(dir, t);
  const live = await uploader(dir, t);
  await killed(dead.child);
  assert.deepEqual(await tmpFiles(dir), [dead.file, live.file].sort(), 'the kill leaves the partial file');
  assert.ok((await stat(join(dir, 'tmp', dead.file))).size >= 1 << 20);

  // In this process too, an upload in flight while the next store opens.
  const source = new Readable({ read() {} });
  source.push(Buffer.alloc(1000, 1));
  const own = store.put(source, { maxSize: 1 << 20 });
  await new Promise((r) => setTimeout(r, 50));
  const withOwn = await tmpFiles(dir);
  assert.equal(withOwn.length, 3);

  const reopened = await FsBlobStore.open(dir, { sweepIntervalMs: 0 });
  reopened.close();
  const after = await tmpFiles(dir);
  assert.ok(!after.includes(dead.file), 'the dead upload is removed at start');
  assert.ok(after.includes(live.file), "the other process's live upload is kept");
  assert.equal(after.length, 2, "this process's live upload is kept");
  source.push(null);
  await own;
  assert.deepEqual(await tmpFiles(dir), [live.file]);
  await killed(live.child);
  assert.equal(await store.removeDeadUploads(), 1);
  assert.deepEqual(await tmpFiles(dir), []);
  store.close();
});

test("the periodic sweep removes a killed upload's file while a concurrent live upload (heartbeat older than the stale age) keeps its own", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-fsblobs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // Stale after 600 ms; the live upload's heartbeat (every 100 ms) keeps it fresh.
  const store = await FsBlobStore.open(dir, { sweepIntervalMs: 100, staleMs: 600 });
  t.after(() => store.close());
  const live = await uploader(dir, t, 100);
  const dead = await uploader(dir, t, 100);
  await killed(dead.child);
  const deadline = Date.now() + 10_000;
  while ((await tmpFiles(dir)).includes(dead.file)) {
    assert.ok(Date.now() < deadline, 'the periodic sweep removes the dead upload');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 1500)); // longer than the stale age: only the heartbeat keeps it
  assert.deepEqual(await tmpFiles(dir), [live.file]);
  await killed(live.child);
});

test('files of other hosts (shared storage) go by their heartbeat, of an earlier boot always, of a dead pid at once', () =>
  withStore(async (_store, dir) => {
    const host = hostname().replace(/[^A-Za-z0-9-]/g, '-').slice(0, 64) || 'host';
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '');
    const uuid = '0e9d4a3c-9f5e-4a43-a0a8-1d0b1f1c2b3a';
    const files = {
      otherHostFresh: `other-host_ab12_4242_${uuid}.part`,
      otherHostStale: `other-host_ab12_4243_${uuid}.part`,
      earlierBoot: `${host}_00ff_${process.pid}_${uuid}.part`,
      deadPid: `${host}_${boot}_999999999_${uuid}.part`,
      livePidFresh: `${host}_${boot}_${process.ppid}_${uuid}.part`,
      legacyFresh: `${uuid}.part`,
      legacyStale: `1${uuid.slice(1)}.part`,
    };
    for (const f of Object.values(files)) await writeFile(join(dir, 'tmp', f), 'x');
    const old = new Date(Date.now() - 120_000);
    for (const f of [files.otherHostStale, files.legacyStale]) await utimes(join(dir, 'tmp', f), old, old);
    const store = await FsBlobStore.open(dir, { sweepIntervalMs: 0, staleMs: 60_000 });
    store.close();
    assert.deepEqual(await tmpFiles(dir), [files.otherHostFresh, files.livePidFresh, files.legacyFresh].sort());
  }));

test('delete with storedBefore removes only a blob stored before then; list gives blobs with their stored time', () =>
  withStore(async (store) => {
    const a = await store.put(Readable.from([Buffer.from('old')]), { maxSize: 100 });
    const b = await store.put(Readable.from([Buffer.from('new')]), { maxSize: 100 });
    const listed = [];
    for await (const x of store.list()) listed.push(x);
    assert.deepEqual(listed.map((x) => x.hex).sort(), [a.sha3_384.hex, b.sha3_384.hex].sort());
    assert.ok(listed.every((x) => Math.abs(x.storedAt.getTime() - Date.now()) < 10_000));
    assert.equal(await store.delete(a.sha3_384.hex, { storedBefore: new Date(Date.now() - 60_000) }), false, 'stored since');
    assert.ok(await store.stat(a.sha3_384.hex));
    assert.equal(await store.delete(a.sha3_384.hex, { storedBefore: new Date(Date.now() + 60_000) }), true);
    assert.equal(await store.stat(a.sha3_384.hex), undefined);
  }));
