// The native four-lane SHA3 (native/sha3_lanes.c) and the file hasher that
// drives it: digests equal node:crypto's on every kernel this CPU runs, for
// files that grow while they are hashed, more files than lanes, lengths at
// block edges; bad calls get typed errors, failed reads reject.
import { test } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileHasher, loadSha3Files, type Sha3Files } from '../../src/image/file-hasher.ts';
import { withTemp } from './helpers.ts';

const addon = loadSha3Files();
const skip = process.platform !== 'linux' || process.arch !== 'x64' ? 'the addon is for x86-64 Linux' : false;
const sha3 = (bits: number, b: Buffer) => createHash(`sha3-${bits}`).update(b).digest('hex');
const pump = (h: Sha3Files, entries: Parameters<Sha3Files['pump']>[0]) =>
  new Promise<{ hashed: number[]; digests: (Buffer | null)[] }>((resolve, reject) => h.pump(entries, (err, hashed, digests) => (err ? reject(err) : resolve({ hashed, digests }))));

test('the addon is built and runs here (npm ci builds it)', { skip }, () => {
  assert.ok(addon, 'native/build/Release/sha3_lanes.node loads: run `npm run build:native` to see why not');
  assert.ok(addon.kernels().includes('avx2'), `kernels: ${addon.kernels().join(', ')}`);
});

for (const kernel of addon?.kernels() ?? []) {
  test(`${kernel}: files hashed while they grow, more files than lanes, block edges`, async () => {
    await withTemp(async (dir) => {
      const hasher = new FileHasher(new addon!.Sha3Files(384, kernel));
      // 104 bytes is a SHA3-384 block; 9 files for 4 lanes.
      const sizes = [0, 1, 103, 104, 105, 208, 5 << 20, (9 << 20) + 77, 3 * 104 * 2520 + 5];
      const bodies = sizes.map((n) => randomBytes(n));
      const files = bodies.map((_, i) => ({ path: join(dir, `${i}`), at: 0, h: hasher.track(join(dir, `${i}`)) }));
      await Promise.all(files.map((f) => writeFile(f.path, '')));
      const digests: Promise<string>[] = [];
      let ended = 0;
      // Round robin in uneven pieces, as downloads arrive; each file ends when it is all written.
      for (let round = 0; ended < files.length; round++) {
        for (const [i, f] of files.entries()) {
          if (digests[i]) continue;
          const piece = bodies[i]!.subarray(f.at, f.at + 300_000 + ((round * 7919 + i * 104_729) % 900_000));
          await appendFile(f.path, piece);
          f.at += piece.length;
          f.h.written(f.at);
          if (f.at === bodies[i]!.length) {
            digests[i] = f.h.end(f.at);
            ended++;
          }
        }
      }
      const got = await Promise.all(digests);
      for (const [i, body] of bodies.entries()) assert.equal(got[i], sha3(384, body), `file of ${body.length} bytes`);
    });
  });
}

test('SHA3-224, -256 and -512 too; a pump absorbs only whole blocks until the final one', { skip: !addon }, async () => {
  await withTemp(async (dir) => {
    const body = randomBytes(100_003);
    await writeFile(join(dir, 'f'), body);
    for (const bits of [224, 256, 384, 512] as const) {
      const h = new addon!.Sha3Files(bits);
      const s = h.open(join(dir, 'f'));
      const rate = 200 - bits / 4;
      const first = await pump(h, [{ stream: s, upTo: 50_000, final: false }]);
      assert.deepEqual(first, { hashed: [50_000 - (50_000 % rate)], digests: [null] });
      const last = await pump(h, [{ stream: s, upTo: body.length, final: true }]);
      assert.equal(last.digests[0]!.toString('hex'), sha3(bits, body));
      h.close(s);
    }
  });
});

test('bad calls throw typed errors; a file shorter than its size, or missing, rejects; abandoned files free their lane', { skip: !addon }, async () => {
  await withTemp(async (dir) => {
    const body = randomBytes(20_000);
    await writeFile(join(dir, 'f'), body);
    assert.throws(() => new addon!.Sha3Files(100 as 384), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => new addon!.Sha3Files(384, 'sse9'), { code: 'ERR_SHA3_NO_KERNEL' });
    const h = new addon!.Sha3Files(384);
    assert.throws(() => h.open(join(dir, 'missing')), { code: 'ERR_SHA3_OPEN' });
    const s = h.open(join(dir, 'f'));
    assert.throws(() => h.pump([{ stream: 99, upTo: 1, final: false }], () => undefined), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => h.pump([{ stream: s, upTo: -1, final: false }], () => undefined), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => h.pump([{ stream: s, upTo: 1, final: false }, { stream: s, upTo: 1, final: false }], () => undefined), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => h.pump([], () => undefined), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => h.pump([{ stream: s, upTo: 1, final: false }], 'nope' as never), { code: 'ERR_INVALID_ARG_TYPE' });
    const busy = pump(h, [{ stream: s, upTo: body.length, final: false }]);
    assert.throws(() => h.pump([{ stream: s, upTo: body.length, final: true }], () => undefined), { code: 'ERR_INVALID_STATE' });
    assert.throws(() => h.close(s), { code: 'ERR_INVALID_STATE' });
    await busy;
    await assert.rejects(pump(h, [{ stream: s, upTo: body.length + 500, final: true }]), /the file is shorter than its download/);
    h.close(s);
    assert.throws(() => h.close(s), { code: 'ERR_INVALID_ARG_VALUE' });

    const hasher = new FileHasher(new addon!.Sha3Files(384));
    await assert.rejects(hasher.track(join(dir, 'missing')).end(10), /cannot hash .*missing: No such file or directory/);
    await assert.rejects(hasher.track(join(dir, 'f')).end(body.length + 1), /cannot hash .*: the file is shorter than its download/);
    const dropped = [1, 2, 3, 4, 5].map(() => hasher.track(join(dir, 'f')));
    for (const d of dropped) d.written(body.length);
    for (const d of dropped) d.abandon();
    assert.equal(await hasher.track(join(dir, 'f')).end(body.length), sha3(384, body));
  });
});

test('any interleaving of writes, ends and abandons gives node:crypto\'s digests (property)', { skip: !addon }, async () => {
  await withTemp(async (dir) => {
    // A step: append `bytes` to file `file` (ending it when `end`), or abandon it.
    const step = fc.record({ file: fc.nat(5), bytes: fc.oneof(fc.nat(300), fc.integer({ min: 100_000, max: 1_600_000 })), end: fc.boolean(), abandon: fc.boolean() });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (steps, seed) => {
        const hasher = new FileHasher(new addon!.Sha3Files(384));
        const files = Array.from({ length: 6 }, (_, i) => ({ path: join(dir, `${run}-${i}`), data: [] as Buffer[], h: undefined as ReturnType<FileHasher['track']> | undefined, closed: false }));
        run++;
        const digests: { want: string; got: Promise<string> }[] = [];
        let n = seed;
        for (const st of steps) {
          const f = files[st.file]!;
          if (f.closed) continue;
          if (!f.h) {
            await writeFile(f.path, '');
            f.h = hasher.track(f.path);
          }
          if (st.abandon && !st.end) {
            f.h.abandon();
            f.closed = true;
            continue;
          }
          const piece = Buffer.alloc(st.bytes, (n = (n * 1103515245 + 12345) % 2 ** 31) & 0xff);
          await appendFile(f.path, piece);
          f.data.push(piece);
          const size = f.data.reduce((a, b) => a + b.length, 0);
          f.h.written(size);
          if (st.end) {
            digests.push({ want: sha3(384, Buffer.concat(f.data)), got: f.h.end(size) });
            f.closed = true;
          }
        }
        for (const d of digests) assert.equal(await d.got, d.want);
        await Promise.all(files.map((f) => rm(f.path, { force: true })));
      }),
      { numRuns: 25 },
    );
  });
});
