// The download pool: HTTP/1.1 responses (Content-Length, chunked, until the
// connection closes) read and written, hashed by the native file hasher or,
// without it, on the way with node:crypto; statuses handed back unfollowed;
// short, long, stalled, garbled and refused transfers; TLS.
import { execFile, spawnSync } from 'node:child_process';
import https from 'node:https';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DownloadPool, type DownloadJob } from '../../src/image/download-pool.ts';
import { withTemp } from './helpers.ts';

const BODY = randomBytes(3 * 1048576 + 12345);
const hex = (b: Buffer) => createHash('sha3-384').update(b).digest('hex');

/** A raw TCP server answering each request with `answer(path)` (bytes written as given, then closed if asked). */
async function rawServer(answer: (path: string) => { parts: Buffer[]; close?: boolean }): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = net.createServer((sock) => {
    let head = '';
    sock.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      requests.push(head);
      const path = /^GET (\S+) HTTP\/1\.1\r\n/.exec(head)?.[1] ?? '';
      const { parts, close } = answer(path);
      for (const p of parts) sock.write(p);
      if (close) sock.end();
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const head = (lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
function chunked(body: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) {
    const c = body.subarray(i, i + size);
    out.push(Buffer.from(`${c.length.toString(16)};ext=1\r\n`), c, Buffer.from('\r\n'));
  }
  out.push(Buffer.from('0\r\nX-Trailer: yes\r\n\r\n'));
  return out;
}

for (const hashing of ['native', 'node'] as const) {
  test(`downloads: Content-Length, chunked and until-close bodies, written and hashed (${hashing})`, async () => {
    const srv = await rawServer((path) => {
      if (path === '/length') return { parts: [head(['HTTP/1.1 200 OK', `Content-Length: ${BODY.length}`]), BODY.subarray(0, 1000), BODY.subarray(1000)] };
      if (path === '/chunked') return { parts: [head(['HTTP/1.1 100 Continue']), head(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked']), ...chunked(BODY, 70_001)] };
      if (path === '/close') return { parts: [head(['HTTP/1.1 200 OK', 'Connection: close']), BODY], close: true };
      if (path === '/empty') return { parts: [head(['HTTP/1.1 200 OK', 'Content-Length: 0'])] };
      return { parts: [head(['HTTP/1.1 404 Not Found', 'Content-Length: 0'])] };
    });
    const pool = new DownloadPool(hashing === 'node' ? { sha3: 'node' } : {});
    try {
      await withTemp(async (dir) => {
        const job = (path: string, i: number): DownloadJob => ({ url: new URL(path, srv.url), headers: { 'User-Agent': 'test', Accept: '' }, dest: join(dir, `${i}.snap`), limit: BODY.length, timeoutMs: 10_000 });
        const paths = ['/length', '/chunked', '/close', '/length', '/chunked', '/close'];
        const progress: number[][] = paths.map(() => []);
        const results = await Promise.all(paths.map((p, i) => pool.fetch(job(p, i), (n) => progress[i]!.push(n))));
        for (const [i, r] of results.entries()) {
          assert.deepEqual(r, { kind: 'body', size: BODY.length, hex: hex(BODY) }, paths[i]);
          assert.ok((await readFile(join(dir, `${i}.snap`))).equals(BODY), paths[i]);
          const seen = progress[i]!;
          assert.ok(seen.length >= 2 && seen.every((n, k) => n <= BODY.length && (k === 0 || n >= seen[k - 1]! + (1 << 20))), `progress about every MiB: ${seen.join(' ')}`);
        }
        assert.deepEqual(await pool.fetch(job('/empty', 9)), { kind: 'body', size: 0, hex: hex(Buffer.alloc(0)) });
        assert.equal((await stat(join(dir, '9.snap'))).size, 0);
        assert.match(srv.requests[0]!, /^GET \/length HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\nUser-Agent: test\r\nAccept: \r\nConnection: close\r\n\r\n$/);
      });
    } finally {
      await srv.close();
    }
  });
}

test('downloads: statuses are handed back, too much stops, too little, stalled, garbled and refused transfers fail', async () => {
  const srv = await rawServer((path) => {
    if (path === '/moved') return { parts: [head(['HTTP/1.1 302 Found', 'Location: /elsewhere', 'Content-Length: 0'])] };
    if (path === '/gone') return { parts: [head(['HTTP/1.1 404 Not Found', 'Content-Length: 5']), Buffer.from('nope!')] };
    if (path === '/long') return { parts: [head(['HTTP/1.1 200 OK', `Content-Length: ${BODY.length}`]), BODY] };
    if (path === '/short') return { parts: [head(['HTTP/1.1 200 OK', `Content-Length: ${BODY.length}`]), BODY.subarray(0, 5000)], close: true };
    if (path === '/stall') return { parts: [head(['HTTP/1.1 200 OK', `Content-Length: ${BODY.length}`]), BODY.subarray(0, 5000)] };
    if (path === '/gzip') return { parts: [head(['HTTP/1.1 200 OK', 'Transfer-Encoding: gzip'])] };
    if (path === '/bad-chunk') return { parts: [head(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked']), Buffer.from('zz\r\nhello\r\n')] };
    return { parts: [Buffer.from('SSH-2.0-hello\r\n\r\n')] };
  });
  const refused = await rawServer(() => ({ parts: [] }));
  await refused.close();
  const pool = new DownloadPool();
  await withTemp(async (dir) => {
    const job = (url: string, limit = BODY.length, timeoutMs = 10_000): DownloadJob => ({ url: new URL(url, srv.url), headers: {}, dest: join(dir, 'x.snap'), limit, timeoutMs });
    assert.deepEqual(await pool.fetch(job('/moved')), { kind: 'status', status: 302, location: '/elsewhere' });
    assert.deepEqual(await pool.fetch(job('/gone')), { kind: 'status', status: 404 });
    const long = await pool.fetch(job('/long', 1000));
    assert.ok(long.kind === 'body' && long.size > 1000, 'more than the limit: reading stops and the size says so');
    assert.ok((await stat(join(dir, 'x.snap'))).size <= 1000, 'nothing past the limit is written');
    await assert.rejects(pool.fetch(job('/short')), /closed before the end/);
    await assert.rejects(pool.fetch(job('/stall', BODY.length, 300)), /download timed out/);
    await assert.rejects(pool.fetch(job('/gzip')), /unsupported transfer-encoding gzip/);
    await assert.rejects(pool.fetch(job('/bad-chunk')), /bad chunked encoding/);
    await assert.rejects(pool.fetch(job('/other')), /not an HTTP\/1\.1 response/);
    await assert.rejects(pool.fetch(job(refused.url)), /ECONNREFUSED/);
    await assert.rejects(pool.fetch({ ...job('/gone'), headers: { Evil: 'a\r\nInjected: 1' } }), /invalid header Evil/);
    assert.ok(!srv.requests.some((r) => r.includes('Injected')), 'no header injected');
  });
  await srv.close();
});

test('downloads over TLS: certificates are verified (NODE_EXTRA_CA_CERTS honoured)', async (t) => {
  await withTemp(async (dir) => {
    const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    if (gen.status !== 0) return t.skip('needs the openssl command to make a certificate');
    const server = https.createServer({ key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) }, (_req, res) => res.writeHead(200, { 'content-length': BODY.length }).end(BODY));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://localhost:${(server.address() as AddressInfo).port}/x`;
    // Two at once, in a process that trusts the certificate and in one that does not (the CA store is read at start).
    const script = `
      import { DownloadPool } from ${JSON.stringify(new URL('../../src/image/download-pool.ts', import.meta.url).href)};
      const pool = new DownloadPool();
      const job = { url: new URL(${JSON.stringify(url)}), headers: {}, limit: ${BODY.length}, timeoutMs: 10000 };
      const out = await Promise.allSettled([0, 1].map((i) => pool.fetch({ ...job, dest: ${JSON.stringify(dir)} + '/' + i })));
      console.log(JSON.stringify(out.map((o) => o.status === 'fulfilled' ? o.value.hex : o.reason.message)));`;
    const run = (env: NodeJS.ProcessEnv) =>
      new Promise<string[]>((resolve, reject) =>
        execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, ...env } }, (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as string[]))),
      );
    try {
      assert.deepEqual(await run({ NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') }), [hex(BODY), hex(BODY)]);
      assert.deepEqual(await run({ NODE_EXTRA_CA_CERTS: '' }), ['self-signed certificate', 'self-signed certificate']);
    } finally {
      server.close();
    }
  });
});
