// Slow and greedy clients against the HTTP bounds (config `http`), on a real
// socket with small values: a body that stalls or never ends, headers sent
// byte by byte, idle kept-alive connections, connections past the cap.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHttpApp, type ConnectionLimits } from '../../../src/platform/http/app.ts';
import { Metrics } from '../../../src/platform/http/metrics.ts';
import { ApiError } from '../../../src/platform/http/errors.ts';
import { loadConfig } from '../../../src/platform/config.ts';

const LOOSE: ConnectionLimits = { headersTimeoutMs: 10_000, requestTimeoutMs: 20_000, bodyIdleTimeoutMs: 10_000, keepAliveTimeoutMs: 10_000, maxConnections: 0, maxRequestsPerSocket: 0 };

async function listen(t: TestContext, limits: Partial<ConnectionLimits>): Promise<number> {
  const { app } = await createHttpApp({
    logLevel: 'silent',
    bodyLimit: 1024 * 1024,
    metrics: new Metrics({ defaults: false }),
    version: 'test',
    authenticate: async () => {
      throw new ApiError('unauthorized', 'no');
    },
    isReady: async () => true,
    connectionLimits: { ...LOOSE, ...limits },
  });
  // An upload route: the body streams to the handler, which reads it to the end.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
  app.post('/upload', { config: { access: { kind: 'public' }, rawBody: true } }, async (req) => {
    let n = 0;
    for await (const chunk of req.body as AsyncIterable<Buffer>) n += chunk.length;
    return { bytes: n };
  });
  // A route answering in snapd's error shape, as the store's device API does.
  app.get('/v2/ping', { config: { access: { kind: 'public' }, errorShape: 'snapd' } }, async () => ({ ok: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  return (app.server.address() as net.AddressInfo).port;
}

interface Conn {
  socket: net.Socket;
  /** Everything the server sent. */
  received: () => string;
  /** Resolves with the milliseconds from `since` until the server closed the connection. */
  closed: Promise<number>;
}

async function connect(t: TestContext, port: number): Promise<Conn> {
  const socket = net.connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString()));
  socket.on('error', () => undefined); // a reset counts as closed
  const start = Date.now();
  const closed = once(socket, 'close').then(() => Date.now() - start);
  await once(socket, 'connect');
  return { socket, received: () => text, closed };
}

/** Writes `byte` every `ms` until the socket closes; returns the stop function. */
function drip(socket: net.Socket, byte: string, ms: number): () => void {
  const timer = setInterval(() => {
    if (socket.destroyed || socket.writableEnded) return clearInterval(timer);
    socket.write(byte);
  }, ms);
  return () => clearInterval(timer);
}

test('a chunked body that stops arriving is closed after bodyIdleTimeoutMs', async (t) => {
  const port = await listen(t, { bodyIdleTimeoutMs: 300 });
  const c = await connect(t, port);
  c.socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
  const ms = await c.closed;
  assert.ok(ms >= 250 && ms < 2000, `closed after ${ms} ms`);
});

test('a body that keeps trickling but never ends is closed after requestTimeoutMs (408)', async (t) => {
  const port = await listen(t, { bodyIdleTimeoutMs: 400, requestTimeoutMs: 800, headersTimeoutMs: 500 });
  const c = await connect(t, port);
  c.socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n');
  const stop = drip(c.socket, 'x', 50); // faster than the idle bound: only the whole-request bound ends it
  t.after(stop);
  const ms = await c.closed;
  stop();
  assert.ok(ms >= 700 && ms < 2500, `closed after ${ms} ms`);
  assert.match(c.received(), /^HTTP\/1\.1 408 /);
  assert.match(c.received(), /\r\n\r\n\{"error":\{"code":"request-timeout",/);
});

test('headers sent byte by byte, slower than headersTimeoutMs, are cut off (408)', async (t) => {
  const port = await listen(t, { headersTimeoutMs: 400, requestTimeoutMs: 5000 });
  const c = await connect(t, port);
  c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
  const stop = drip(c.socket, 'a', 50);
  t.after(stop);
  const ms = await c.closed;
  stop();
  assert.ok(ms >= 350 && ms < 2000, `closed after ${ms} ms`);
  assert.match(c.received(), /^HTTP\/1\.1 408 /);
});

/** The status line, headers (lower-cased names) and body of the one answer on a connection. */
function answerOf(text: string): { status: number; headers: Map<string, string>; body: unknown } {
  const [head, body] = text.split('\r\n\r\n', 2) as [string, string];
  const [line, ...fields] = head.split('\r\n');
  const headers = new Map(fields.map((f) => [f.slice(0, f.indexOf(':')).toLowerCase(), f.slice(f.indexOf(':') + 1).trim()]));
  return { status: Number(line!.split(' ')[1]), headers, body: JSON.parse(body) };
}

test('headers over the size limit get 431 in the error shape of the route named, and the connection closes', async (t) => {
  const port = await listen(t, {});
  for (const [path, body] of [
    ['/v2/ping', { 'error-list': [{ code: 'headers-too-large', message: 'the request headers are over the size limit' }] }],
    ['/upload', { error: { code: 'headers-too-large', message: 'the request headers are over the size limit' } }],
  ] as const) {
    const c = await connect(t, port);
    c.socket.write(`GET ${path}?q=1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    await c.closed;
    const answer = answerOf(c.received());
    assert.equal(answer.status, 431);
    // Without it, a keep-alive client would send its next request on a socket the server closes.
    assert.equal(answer.headers.get('connection'), 'close');
    assert.equal(answer.headers.get('content-type'), 'application/json');
    assert.deepEqual(answer.body, body);
  }
});

test('a request line that is not HTTP gets 400 bad-request, and the connection closes', async (t) => {
  const port = await listen(t, {});
  const c = await connect(t, port);
  c.socket.write('GET /v2/ping HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
  await c.closed;
  const answer = answerOf(c.received());
  assert.equal(answer.status, 400);
  assert.equal(answer.headers.get('connection'), 'close');
  assert.deepEqual(answer.body, { 'error-list': [{ code: 'bad-request', message: 'the request cannot be parsed as HTTP/1.1' }] });
});

test('a connection that never sends a byte is closed after headersTimeoutMs', async (t) => {
  const port = await listen(t, { headersTimeoutMs: 300, requestTimeoutMs: 5000 });
  const c = await connect(t, port);
  const ms = await c.closed;
  assert.ok(ms >= 250 && ms < 2000, `closed after ${ms} ms`);
});

test('an idle kept-alive connection is closed after keepAliveTimeoutMs; a fast request on it is served', async (t) => {
  const port = await listen(t, { keepAliveTimeoutMs: 300 });
  const c = await connect(t, port);
  c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  while (!/\r\n\r\n\{"status":"ok"\}/.test(c.received())) await new Promise((r) => setTimeout(r, 10));
  assert.match(c.received(), /^HTTP\/1\.1 200 /);
  assert.match(c.received(), /keep-alive/i);
  const ms = await c.closed;
  assert.ok(ms >= 250 && ms < 2000, `closed after ${ms} ms`);
});

test('a body that arrives in full, slowly but steadily, is served', async (t) => {
  const port = await listen(t, { bodyIdleTimeoutMs: 300, requestTimeoutMs: 5000, headersTimeoutMs: 2000 });
  const c = await connect(t, port);
  c.socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 10\r\nConnection: close\r\n\r\n');
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 100));
    c.socket.write('y');
  }
  await c.closed;
  assert.match(c.received(), /^HTTP\/1\.1 200 /);
  assert.match(c.received(), /\{"bytes":10\}$/);
});

test('connections past maxConnections are closed at once; the ones within are served', async (t) => {
  const port = await listen(t, { maxConnections: 2 });
  const a = await connect(t, port);
  const b = await connect(t, port);
  const extra = await connect(t, port);
  const ms = await extra.closed;
  assert.ok(ms < 1000, `the third connection closed after ${ms} ms`);
  assert.equal(extra.received(), '', 'no answer on it');
  for (const c of [a, b]) {
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await c.closed;
    assert.match(c.received(), /^HTTP\/1\.1 200 /);
  }
  // Below the cap again: a new connection is served.
  const later = await connect(t, port);
  later.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await later.closed;
  assert.match(later.received(), /^HTTP\/1\.1 200 /);
});

test('config: http bounds from defaults, the config file and SNAPLINE_* variables', async () => {
  const defaults = loadConfig({ data: '/tmp/x' }, {}).http;
  assert.deepEqual(defaults, { headersTimeoutMs: 20_000, requestTimeoutMs: 7_200_000, bodyIdleTimeoutMs: 60_000, keepAliveTimeoutMs: 72_000, maxConnections: 8192, maxRequestsPerSocket: 0 });
  const dir = await mkdtemp(join(tmpdir(), 'snapline-http-config-'));
  try {
    const file = join(dir, 'c.yaml');
    await writeFile(file, 'http:\n  keepAliveTimeoutMs: 5000\n  maxConnections: 100\n');
    const c = loadConfig({ config: file, data: dir }, { SNAPLINE_MAX_CONNECTIONS: '50', SNAPLINE_BODY_IDLE_TIMEOUT_MS: '0' }).http;
    assert.equal(c.keepAliveTimeoutMs, 5000);
    assert.equal(c.maxConnections, 50, 'the environment wins over the file');
    assert.equal(c.bodyIdleTimeoutMs, 0, '0 turns a bound off');
    await writeFile(file, 'http:\n  keepAliveTimout: 5000\n');
    assert.throws(() => loadConfig({ config: file, data: dir }, {}), /keepAliveTimout/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.throws(() => loadConfig({ data: '/tmp/x' }, { SNAPLINE_HEADERS_TIMEOUT_MS: 'soon' }), /SNAPLINE_HEADERS_TIMEOUT_MS: expected a whole number/);
  assert.throws(() => loadConfig({ data: '/tmp/x' }, { SNAPLINE_HEADERS_TIMEOUT_MS: '9000', SNAPLINE_REQUEST_TIMEOUT_MS: '5000' }), /must not exceed/);
});
