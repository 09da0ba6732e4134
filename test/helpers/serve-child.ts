// `snapline serve` as a child process, for tests and benchmarks that kill it
// (SIGKILL) and start it again on the same data: start, wait for the port it
// announces, kill, restart. Also a bare HTTP client (one connection per call
// unless an agent is given) and read-only access to the server's database.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { seededRandom } from '../../src/fleet/scheduler.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const SOURCE_BIN = join(ROOT, 'bin/snapline.js');

export const RELIABILITY_ADMIN_TOKEN = 'snl_reliability-admin-token-0123456789';

/**
 * How the CLI is run: from the sources through tsx (what tests must run), or
 * from a bundle of the current sources built once into a git-ignored folder
 * (`.bench-tmp/`), which starts several times faster: a kill -9 trial is
 * mostly start-up time. `bundle` is built by `buildBundle`.
 */
export interface Launcher {
  argv: string[];
  env: NodeJS.ProcessEnv;
  describe: string;
}

export function sourceLauncher(root?: string): Launcher {
  return { argv: [root ? join(root, 'bin/snapline.js') : SOURCE_BIN], env: { SNAPLINE_FROM_SOURCE: '1' }, describe: 'bin/snapline.js from the sources (tsx)' };
}

/**
 * Bundles the sources (scripts/build.js --outdir) into <root>/.bench-tmp/<name>/ and runs that.
 * `root` is this checkout unless given (e.g. an exported commit with a node_modules link).
 */
export async function bundleLauncher(o: { name?: string; root?: string } = {}): Promise<Launcher> {
  const root = o.root ?? ROOT;
  const outdir = join(root, '.bench-tmp', o.name ?? 'reliability-build');
  const child = spawn(process.execPath, [join(root, 'scripts/build.js'), '--outdir', outdir], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`scripts/build.js --outdir ${outdir} failed (${code})`);
  const entry = join(outdir, 'snapline.js');
  const runner = join(outdir, 'run.mjs');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(runner, `const { main } = await import(${JSON.stringify(new URL(`file://${entry}`).href)});\nprocess.exitCode = await main(process.argv);\n`);
  return { argv: [runner], env: {}, describe: `a bundle of the sources${o.root ? ` in ${o.root}` : ''} (scripts/build.js)` };
}

export interface ServeChild {
  child: ChildProcess;
  url: Promise<string>;
  /** Milliseconds from spawn to the announced port (NaN until then). */
  startMs: () => number;
  stderr: () => string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface ServeOptions {
  launcher: Launcher;
  dataDir: string;
  db?: string;
  env?: NodeJS.ProcessEnv;
  extraArgs?: string[];
  /** Give up waiting for the port after this long (ms). */
  timeoutMs?: number;
}

export function startServe(o: ServeOptions): ServeChild {
  const t0 = performance.now();
  let listenedAt = Number.NaN;
  const args = [...o.launcher.argv, 'serve', '--data', o.dataDir, '--listen', '127.0.0.1:0', ...(o.db ? ['--db', o.db] : []), ...(o.extraArgs ?? [])];
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      ...o.launcher.env,
      SNAPLINE_ADMIN_TOKEN: RELIABILITY_ADMIN_TOKEN,
      SNAPLINE_LOG_LEVEL: 'warn',
      SNAPLINE_TOKEN_RATE: '100000',
      ...o.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not announce its port within ${o.timeoutMs ?? 60_000} ms:\n${err.slice(-2000)}`)), o.timeoutMs ?? 60_000);
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /Snapline listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) {
        listenedAt = performance.now() - t0;
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before listening:\n${err.slice(-2000)}`));
    });
  });
  url.catch(() => undefined);
  return {
    child,
    url,
    startMs: () => listenedAt,
    stderr: () => err,
    exited,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export interface HttpAnswer {
  status: number;
  body: Buffer;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read loosely
  json: () => any;
  headers: http.IncomingHttpHeaders;
}

/** One HTTP exchange; `agent: false` (a connection of its own) unless an agent is given. */
export function httpRequest(
  base: string,
  method: string,
  path: string,
  o: { token?: string; json?: unknown; body?: Buffer | string; headers?: Record<string, string>; agent?: http.Agent; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers };
    let payload: Buffer | undefined;
    if (o.json !== undefined) {
      payload = Buffer.from(JSON.stringify(o.json));
      headers['content-type'] = 'application/json';
    } else if (o.body !== undefined) payload = Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body);
    if (payload) headers['content-length'] = String(payload.length);
    const req = http.request(new URL(path, base), { method, headers, agent: o.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString();
        resolve({ status: res.statusCode ?? 0, body, text, json: () => JSON.parse(text), headers: res.headers });
      });
    });
    req.on('error', reject);
    if (o.timeoutMs) req.setTimeout(o.timeoutMs, () => req.destroy(new Error(`timed out after ${o.timeoutMs} ms`)));
    req.end(payload);
  });
}

/** Read-only SQL on the server's database (SQLite file or PostgreSQL URL), while it runs or after. */
export interface Peek {
  all<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

export async function openPeek(db: { sqliteFile?: string; postgresUrl?: string }): Promise<Peek> {
  if (db.postgresUrl) {
    const c = new pg.Client({ connectionString: db.postgresUrl });
    await c.connect();
    return {
      all: async <T,>(sql: string) => (await c.query(sql)).rows as T[],
      close: () => c.end(),
    };
  }
  const file = db.sqliteFile!;
  if (!existsSync(file) || statSync(file).size === 0) throw new Error(`no SQLite database at ${file}`);
  const d = new Database(file, { readonly: true, fileMustExist: true });
  d.pragma('busy_timeout = 5000');
  return {
    all: async <T,>(sql: string) => d.prepare(sql).all() as T[],
    close: async () => void d.close(),
  };
}

/** Deterministic PRNG for reproducible kill moments: the fleet's seeded generator (mulberry32). */
export const prng = seededRandom;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
