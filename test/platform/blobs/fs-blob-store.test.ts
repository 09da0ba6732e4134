// What only the filesystem store promises: layout, no partial files, cleanup.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { FsBlobStore } from '../../../src/platform/blobs/index.ts';
import { cutShort, sha3 } from './helpers.ts';

async function withStore(body: (store: FsBlobStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-fsblobs-'));
  try {
    await body(await FsBlobStore.open(dir), dir);
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

test('removeStaleUploads removes only old temporary files', () =>
  withStore(async (store, dir) => {
    const old = join(dir, 'tmp', 'old.part');
    const fresh = join(dir, 'tmp', 'fresh.part');
    await writeFile(old, 'x');
    await writeFile(fresh, 'y');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(old, twoHoursAgo, twoHoursAgo);
    assert.equal(await store.removeStaleUploads(3600_000), 1);
    assert.deepEqual(await readdir(join(dir, 'tmp')), ['fresh.part']);
  }));
