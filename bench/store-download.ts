// Issue 5 target: downloading a 100 MiB snap over loopback reaches >= 80% of
// the throughput of serving the same file with node:http + fs.createReadStream,
// measured in the same run (best of several alternating downloads each).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { FsBlobStore } from '../src/platform/blobs/index.ts';
import { openDatabase, toDbTime } from '../src/platform/db/index.ts';
import type { StoreOwnTables } from '../src/store/store.tables.ts';
import { api, build, startFixture, startSnapline, stop } from './fixtures/store-common.ts';

const SIZE = 100 * 1024 * 1024;
const ROUNDS = 5;

const dir = mkdtempSync(join(tmpdir(), 'snapline-bench-'));
const file = join(dir, 'big.snap');
{
  const out = createWriteStream(file);
  for (let i = 0; i < SIZE / (1 << 20); i++) if (!out.write(randomBytes(1 << 20))) await once(out, 'drain');
  out.end();
  await once(out, 'close');
}
await build();
const data = join(dir, 'data');
const snapline = await startSnapline(data);
const reference = await startFixture('file-server.ts', [file]);
try {
  await api(snapline.url, 'POST', '/api/accounts', { accountId: 'acme' });
  await api(snapline.url, 'POST', '/api/store/stores', { storeId: 'acme-store', brand: 'acme' });
  const reg = (await api(snapline.url, 'POST', '/api/store/stores/acme-store/snaps', { name: 'big' })) as { snap: { snapId: string } };
  // The blob and its revision, stored directly (an upload would also pack and sign; not what is measured).
  const blobs = await FsBlobStore.open(join(data, 'blobs'));
  const info = await blobs.put(createReadStream(file), { maxSize: SIZE });
  const db = openDatabase(`sqlite:${join(data, 'snapline.db')}`);
  await db.kysely
    .withTables<StoreOwnTables>()
    .insertInto('store_revisions')
    .values({
      snap_id: reg.snap.snapId,
      revision: 1,
      version: '1',
      type: 'app',
      confinement: 'strict',
      grade: 'stable',
      base: null,
      architectures: '["all"]',
      epoch: '{"read":[0],"write":[0]}',
      summary: '',
      title: '',
      description: '',
      license: '',
      snap_yaml: 'name: big\nversion: 1\n',
      sha3_384: info.sha3_384.hex,
      size: info.size,
      developer_id: 'acme',
      created_at: toDbTime(new Date()),
    })
    .execute();
  await db.close();

  const download = (url: string, verify = false) =>
    new Promise<number>((resolve, reject) => {
      const start = process.hrtime.bigint();
      get(url, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`${url}: ${res.statusCode}`));
        let n = 0;
        const hash = verify ? createHash('sha3-384') : undefined;
        res.on('data', (c: Buffer) => {
          n += c.length;
          hash?.update(c);
        });
        res.on('end', () => {
          if (n !== SIZE) return reject(new Error(`${url}: got ${n} bytes`));
          if (hash && hash.digest('hex') !== info.sha3_384.hex) return reject(new Error('digest mismatch'));
          resolve(SIZE / 1048576 / (Number(process.hrtime.bigint() - start) / 1e9));
        });
        res.on('error', reject);
      }).on('error', reject);
    });
  const ours = `${snapline.url}/api/v1/snaps/download/${info.sha3_384.hex}/big_1.snap`;
  const ref = `http://127.0.0.1:${reference.port}/`;
  await download(ours, true);
  await download(ref);
  const o: number[] = [];
  const r: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    r.push(await download(ref));
    o.push(await download(ours));
  }
  const best = (xs: number[]) => Math.max(...xs);
  console.log(`node:http + fs.createReadStream: ${best(r).toFixed(0)} MiB/s (best of ${ROUNDS}); snapline download: ${best(o).toFixed(0)} MiB/s`);
  const ratio = best(o) / best(r);
  console.log(`ratio snapline/reference = ${ratio.toFixed(2)} (target >= 0.80) ${ratio >= 0.8 ? 'PASS' : 'FAIL'}`);
} finally {
  await stop(snapline.child);
  await stop(reference.child);
  rmSync(dir, { recursive: true, force: true });
}
