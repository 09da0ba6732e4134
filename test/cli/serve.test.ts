// `snapline serve` as a user runs it: a child process, with --workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresUnavailable, scratchPostgresDatabase } from '../helpers/databases.ts';

const bin = new URL('../../bin/snapline.js', import.meta.url).pathname;
// The command as installed, but on the current sources: dist/ may be stale or absent.
const childEnv = { ...process.env, SNAPLINE_FROM_SOURCE: '1' };

interface Served {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  url: Promise<string>;
  exited: Promise<number | null>;
}

function serve(dir: string, args: string[]): Served {
  const child = spawn(process.execPath, [bin, 'serve', '--data', dir, '--listen', '127.0.0.1:0', ...args], {
    env: { ...childEnv, SNAPLINE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /Snapline listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`serve exited (${code}) before listening:\n${err}`)));
  });
  url.catch(() => undefined);
  return { child, stderr: () => err, stdout: () => out, url, exited };
}

/** One request on its own connection (so the primary hands each to the next worker). */
function get(url: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The first start's token, from the owner-only file whose path serve prints (the secrets themselves are printed nowhere). */
function adminToken(stderr: string, stdout: string): string {
  const file = /in (\S+admin-credentials\.txt) \(readable by you only\)/.exec(stderr)?.[1];
  assert.ok(file, `no credentials file named in:\n${stderr}`);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const text = readFileSync(file, 'utf8');
  const token = /^token: (\S+)$/m.exec(text)![1]!;
  const password = /^password: (\S+)$/m.exec(text)![1]!;
  for (const secret of [token, password]) assert.ok(!stderr.includes(secret) && !stdout.includes(secret), 'the credentials are not printed or logged');
  return token;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      // Workers only: from the sources, tsx may also run an esbuild service process.
      if (ppid === pid && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('snapline.js')) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}

async function until<T>(what: string, probe: () => T | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('serve --workers 2: one first start, requests spread over both workers, metrics summed, a dead worker replaced, a clean stop', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'snapline-serve-'));
  const s = serve(dir, ['--workers', '2']);
  t.after(() => {
    s.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const url = await s.url;
  assert.match(s.stderr(), /2 worker processes/);
  assert.equal(s.stderr().match(/First start: created the administrator/g)?.length, 1, 'credentials are printed once');
  const token = adminToken(s.stderr(), s.stdout());
  const workers = childrenOf(s.child.pid!);
  assert.equal(workers.length, 2);

  for (let i = 0; i < 6; i++) assert.equal((await get(`${url}/healthz`)).status, 200);
  const servedBy = new Set([...s.stdout().matchAll(/"pid":(\d+)[^\n]*"url":"\/healthz"/g)].map((m) => Number(m[1])));
  assert.deepEqual([...servedBy].sort(), [...workers].sort(), 'both workers answered');
  const metrics = await get(`${url}/metrics`, { authorization: `Bearer ${token}` });
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, /snapline_http_requests_total\{route="\/healthz",method="GET",status="200"\} 6\n/, 'the counts of both workers, summed');
  assert.equal((await get(`${url}/metrics`)).status, 401);

  process.kill(workers[0]!, 'SIGKILL');
  const replacement = await until('a replacement worker', () => childrenOf(s.child.pid!).find((p) => !workers.includes(p)));
  await until('the replacement to listen', () => (/replaced a dead one and listens/.test(s.stderr()) ? true : undefined));
  const after = new Set<number>();
  for (let i = 0; i < 4; i++) assert.equal((await get(`${url}/healthz`)).status, 200);
  for (const m of s.stdout().matchAll(/"pid":(\d+)[^\n]*"url":"\/healthz"/g)) after.add(Number(m[1]));
  assert.ok(after.has(replacement), 'the replacement serves');

  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
  await until('the workers to exit', () => (childrenOf(s.child.pid!).length === 0 && [workers[1]!, replacement].every((p) => !alive(p)) ? true : undefined));
});

test('serve --workers 2 on PostgreSQL: what one worker writes, every worker reads', async (t) => {
  const why = await postgresUnavailable();
  if (why) return t.skip(why);
  const scratch = await scratchPostgresDatabase('snapline_serve');
  const dir = mkdtempSync(join(tmpdir(), 'snapline-serve-'));
  const s = serve(dir, ['--workers', '2', '--db', scratch.url]);
  t.after(async () => {
    s.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    await scratch.drop();
  });
  const url = await s.url;
  assert.equal(s.stderr().match(/First start: created the administrator/g)?.length, 1);
  const token = adminToken(s.stderr(), s.stdout());
  const auth = { authorization: `Bearer ${token}` };
  assert.equal((await get(`${url}/api/accounts`, auth, 'POST', JSON.stringify({ accountId: 'acme' }))).status, 201);
  for (let i = 0; i < 6; i++) assert.equal((await get(`${url}/api/accounts/acme`, auth)).status, 200);
  const servedBy = new Set([...s.stdout().matchAll(/"pid":(\d+)[^\n]*"url":"\/api\/accounts\/acme"/g)].map((m) => Number(m[1])));
  assert.equal(servedBy.size, 2, 'both workers read the account');
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
});

test('serve --workers: a port already taken stops the whole server with an error, leaving no process behind', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'snapline-serve-'));
  const blocker = net.createServer().listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  const port = (blocker.address() as net.AddressInfo).port;
  t.after(() => {
    blocker.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const child = spawn(process.execPath, [bin, 'serve', '--data', dir, '--listen', `127.0.0.1:${port}`, '--workers', '2'], { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 1);
  assert.match(err, /cannot start the workers/);
  assert.match(err, /EADDRINUSE|address already in use/i);
  assert.deepEqual(childrenOf(child.pid!), []);
});

test('serve --workers 0 is refused before anything starts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'snapline-serve-'));
  try {
    const s = serve(dir, ['--workers', '0']);
    assert.notEqual(await s.exited, 0);
    assert.match(s.stderr(), /--workers: expected a number of worker processes from 1 to 64/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
