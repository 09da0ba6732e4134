// One suite, every BlobStore implementation.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import net from 'node:net';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { BlobError, FsBlobStore, MemoryBlobStore, type BlobStore } from '../../../src/platform/blobs/index.ts';
import { collect, cutShort, sha3 } from './helpers.ts';

const implementations: { name: string; make(): Promise<{ store: BlobStore; done(): Promise<void> }> }[] = [
  {
    name: 'FsBlobStore',
    async make() {
      const dir = await mkdtemp(join(tmpdir(), 'snapline-blobs-'));
      return { store: await FsBlobStore.open(dir), done: () => rm(dir, { recursive: true, force: true }) };
    },
  },
  { name: 'MemoryBlobStore', make: async () => ({ store: new MemoryBlobStore(), done: async () => {} }) },
];

const isBlobError = (code: string) => (err: unknown) => err instanceof BlobError && err.code === code;

for (const impl of implementations) {
  describe(impl.name, () => {
    const withStore = (name: string, body: (store: BlobStore) => Promise<void>) =>
      test(name, async () => {
        const { store, done } = await impl.make();
        try {
          await body(store);
        } finally {
          await done();
        }
      });

    withStore('put hashes the stream on the way in; get, stat and delete find it by either digest form', async (store) => {
      const data = Buffer.alloc(200_000, 'snap');
      const info = await store.put(Readable.from([data.subarray(0, 70_000), data.subarray(70_000)]), { maxSize: 1 << 20 });
      assert.equal(info.size, data.length);
      assert.equal(info.sha3_384.hex, sha3(data).toString('hex'));
      assert.equal(info.sha3_384.base64url, sha3(data).toString('base64url'));
      for (const name of [info.sha3_384.hex, info.sha3_384.base64url]) {
        assert.deepEqual(await store.stat(name), info);
        const read = await store.get(name);
        assert.deepEqual({ size: read.size, start: read.start, end: read.end }, { size: data.length, start: 0, end: data.length - 1 });
        assert.ok((await collect(read.stream)).equals(data));
      }
      assert.equal(await store.delete(info.sha3_384.hex), true);
      assert.equal(await store.delete(info.sha3_384.hex), false);
      assert.equal(await store.stat(info.sha3_384.base64url), undefined);
      await assert.rejects(store.get(info.sha3_384.hex), isBlobError('blob-not-found'));
    });

    withStore('get with a byte range streams just those bytes (end inclusive, clamped to the size)', async (store) => {
      const data = Buffer.from('0123456789');
      const { sha3_384 } = await store.put(Readable.from([data]), { maxSize: 100 });
      const slice = async (start: number, end?: number) => {
        const read = await store.get(sha3_384.hex, end === undefined ? { start } : { start, end });
        return { text: (await collect(read.stream)).toString(), start: read.start, end: read.end, size: read.size };
      };
      assert.deepEqual(await slice(2, 4), { text: '234', start: 2, end: 4, size: 10 });
      assert.deepEqual(await slice(7), { text: '789', start: 7, end: 9, size: 10 });
      assert.deepEqual(await slice(9, 100), { text: '9', start: 9, end: 9, size: 10 });
      for (const [start, end] of [[10, undefined], [5, 4], [-1, 3], [1.5, 3]] as const) {
        await assert.rejects(store.get(sha3_384.hex, end === undefined ? { start } : { start, end }), isBlobError('blob-range-invalid'));
      }
    });

    withStore('sendTo writes the same bytes as the stream, range included', async (store) => {
      const data = Buffer.from('0123456789'.repeat(100_000));
      const { sha3_384 } = await store.put(Readable.from([data]), { maxSize: data.length });
      for (const range of [undefined, { start: 3, end: 654_321 }]) {
        const read = await store.get(sha3_384.hex, range);
        const received = await overSocket((socket) => read.sendTo(socket));
        assert.ok(received.equals(range ? data.subarray(range.start, range.end + 1) : data));
      }
    });

    withStore('an empty blob can be stored and read', async (store) => {
      const info = await store.put(Readable.from([]), { maxSize: 10 });
      assert.equal(info.size, 0);
      const read = await store.get(info.sha3_384.hex);
      assert.equal((await collect(read.stream)).length, 0);
    });

    withStore('over the size limit: blob-too-large, nothing stored', async (store) => {
      const data = Buffer.alloc(1001);
      await assert.rejects(store.put(Readable.from([data.subarray(0, 600), data.subarray(600)]), { maxSize: 1000 }), isBlobError('blob-too-large'));
      assert.equal(await store.stat(sha3(data).toString('hex')), undefined);
      const exact = await store.put(Readable.from([data.subarray(1)]), { maxSize: 1000 });
      assert.equal(exact.size, 1000);
    });

    withStore('a source that fails or is destroyed midway: blob-aborted, nothing stored', async (store) => {
      await assert.rejects(store.put(cutShort(new Error('client went away')), { maxSize: 1 << 20 }), isBlobError('blob-aborted'));
      await assert.rejects(store.put(cutShort(), { maxSize: 1 << 20 }), isBlobError('blob-aborted'));
    });

    withStore('an abort signal stops the upload: blob-aborted', async (store) => {
      const controller = new AbortController();
      const source = new Readable({ read() {} });
      source.push(Buffer.alloc(1000));
      const put = store.put(source, { maxSize: 1 << 20, signal: controller.signal });
      setTimeout(() => controller.abort(new Error('shutting down')), 20);
      setTimeout(() => source.push(null), 100);
      await assert.rejects(put, isBlobError('blob-aborted'));
    });

    withStore('an expected digest is checked (hex or base64url)', async (store) => {
      const data = Buffer.from('expected');
      const digest = sha3(data);
      const ok = await store.put(Readable.from([data]), { maxSize: 100, expectedSha3_384: digest.toString('base64url') });
      assert.equal(ok.sha3_384.hex, digest.toString('hex'));
      const other = createHash('sha3-384').update('other').digest('hex');
      await assert.rejects(store.put(Readable.from([Buffer.from('different')]), { maxSize: 100, expectedSha3_384: other }), isBlobError('blob-digest-mismatch'));
      assert.equal(await store.stat(sha3(Buffer.from('different')).toString('hex')), undefined);
    });

    withStore('names that are not digests are refused', async (store) => {
      for (const bad of ['../../etc/passwd', 'abc', 'A'.repeat(96), sha3(Buffer.from('x')).toString('base64')]) {
        await assert.rejects(store.stat(bad), isBlobError('blob-digest-invalid'), bad);
        await assert.rejects(store.get(bad), isBlobError('blob-digest-invalid'), bad);
        await assert.rejects(store.delete(bad), isBlobError('blob-digest-invalid'), bad);
      }
    });

    withStore('concurrent puts of the same content all succeed with the same result', async (store) => {
      const data = Buffer.alloc(300_000, 7);
      const results = await Promise.all(Array.from({ length: 8 }, () => store.put(Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]), { maxSize: 1 << 20 })));
      for (const r of results) assert.deepEqual(r, results[0]);
      assert.ok((await collect((await store.get(results[0]!.sha3_384.hex)).stream)).equals(data));
    });
  });
}

/** What `send` writes to a loopback socket, as the other end receives it (a sink's write callback must mean the bytes left). */
async function overSocket(send: (socket: net.Socket) => Promise<void>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const server = net.createServer().listen(0, '127.0.0.1');
  const received = new Promise<void>((resolve) => {
    server.once('connection', (peer: net.Socket) => {
      peer.on('data', (c: Buffer) => chunks.push(c));
      peer.on('end', () => resolve());
    });
  });
  await once(server, 'listening');
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(socket, 'connect');
  await send(socket);
  socket.end();
  await received;
  server.close();
  return Buffer.concat(chunks);
}
