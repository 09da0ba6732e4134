// Server configuration: defaults, then a config file (YAML or JSON), then
// SNAPLINE_* environment variables, then command-line flags. Validated at
// start with clear errors. Secrets (master key, admin token) come only from
// the environment or from files, never from the config file itself.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';

const MAX_WORKERS = 64;

export const SERVICES = ['store', 'vault', 'console'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface Config {
  /** Folder for the embedded database, blobs and the generated master key. */
  dataDir: string;
  listen: { host: string; port: number };
  /** `sqlite:PATH` or `postgres://...`. */
  db: string;
  only: ServiceName[];
  /** Processes serving on the listen address (`serve --workers`); 1 serves in this process. */
  workers: number;
  /** Account id of the root authority created on first start. */
  rootId: string;
  /** Base URL clients reach this server at (absolute download URLs); defaults to http://listen. */
  publicUrl: string;
  /** Where the master key comes from: the environment, a file, or generated into dataDir. */
  masterKeyFile: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  limits: { jsonBodyBytes: number; uploadBytes: number; tokenRequestsPerSecond: number };
  /** Bounds on HTTP connections (docs/platform.md, Timeouts and connection limits); 0 turns a bound off. */
  http: HttpLimits;
  /** Key custody: sealed in the database, or in a PKCS#11 token (the PIN comes from SNAPLINE_PKCS11_PIN or pinFile, never the config file). */
  keys: KeysConfig;
  /** Blob sweeps (docs/store.md, Uploads and blobs); defaults when absent. */
  blobs?: BlobSweepConfig;
}

export interface BlobSweepConfig {
  /** A stored blob no revision references is removed once it is this old (default 1 h). */
  orphanGraceMs: number;
  /** How often the store looks for such blobs (default 10 min; 0: never). */
  sweepIntervalMs: number;
}

export const BLOB_SWEEP_DEFAULTS: BlobSweepConfig = { orphanGraceMs: 3600_000, sweepIntervalMs: 600_000 };

export interface KeysConfig {
  custody: 'database' | 'pkcs11';
  pkcs11?: { module: string; token?: string; slot?: number; pinFile?: string };
}

export interface HttpLimits {
  /** Time to receive a request's headers, from its first byte. */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included (a backstop sized for the largest upload). */
  requestTimeoutMs: number;
  /** Time a request body may go without a byte arriving (stalled or never-ending bodies). */
  bodyIdleTimeoutMs: number;
  /** Time an idle kept-alive connection stays open between requests. */
  keepAliveTimeoutMs: number;
  /** Open connections per process; more are closed at once. */
  maxConnections: number;
  /** Requests served on one connection before it is closed. */
  maxRequestsPerSocket: number;
}

/** The HTTP bounds: environment variable and default of each (the config file's `http` section uses the key). */
const HTTP_LIMITS: Record<keyof HttpLimits, { env: string; default: number }> = {
  headersTimeoutMs: { env: 'SNAPLINE_HEADERS_TIMEOUT_MS', default: 20_000 },
  // 2 hours: the 4 GiB upload limit at 5 Mbit/s. Stalled bodies are caught
  // sooner by bodyIdleTimeoutMs, which does not grow with the upload's size.
  requestTimeoutMs: { env: 'SNAPLINE_REQUEST_TIMEOUT_MS', default: 2 * 3600_000 },
  bodyIdleTimeoutMs: { env: 'SNAPLINE_BODY_IDLE_TIMEOUT_MS', default: 60_000 },
  // Longer than the 60 s idle timeout of common load balancers, so that the
  // proxy, not the server, closes an idle connection (no request lost in a race).
  keepAliveTimeoutMs: { env: 'SNAPLINE_KEEP_ALIVE_TIMEOUT_MS', default: 72_000 },
  maxConnections: { env: 'SNAPLINE_MAX_CONNECTIONS', default: 8192 },
  maxRequestsPerSocket: { env: 'SNAPLINE_MAX_REQUESTS_PER_SOCKET', default: 0 },
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'config-invalid';
}

/** Flags given on the command line (they win over everything else). */
export interface ConfigFlags {
  config?: string;
  data?: string;
  listen?: string;
  db?: string;
  only?: string;
  workers?: string;
}

const FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dataDir: { type: 'string', minLength: 1 },
    listen: { type: 'string', minLength: 1 },
    db: { type: 'string', minLength: 1 },
    only: { type: 'array', items: { enum: [...SERVICES] }, minItems: 1, uniqueItems: true },
    workers: { anyOf: [{ type: 'integer', minimum: 1, maximum: MAX_WORKERS }, { const: 'auto' }] },
    rootId: { type: 'string', pattern: '^(?:[a-z0-9A-Z]{32}|[-a-z0-9]{2,28})$' },
    publicUrl: { type: 'string', pattern: '^https?://' },
    masterKeyFile: { type: 'string', minLength: 1 },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        jsonBodyBytes: { type: 'integer', minimum: 1024 },
        uploadBytes: { type: 'integer', minimum: 4096 },
        tokenRequestsPerSecond: { type: 'integer', minimum: 1 },
      },
    },
    http: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(Object.keys(HTTP_LIMITS).map((k) => [k, { type: 'integer', minimum: 0 }])),
    },
    blobs: { type: 'object', additionalProperties: false, properties: { orphanGraceMs: { type: 'integer', minimum: 0 }, sweepIntervalMs: { type: 'integer', minimum: 0 } } },
    keys: {
      type: 'object',
      additionalProperties: false,
      properties: {
        custody: { enum: ['database', 'pkcs11'] },
        pkcs11: {
          type: 'object',
          additionalProperties: false,
          properties: { module: { type: 'string', minLength: 1 }, token: { type: 'string', minLength: 1 }, slot: { type: 'integer', minimum: 0 }, pinFile: { type: 'string', minLength: 1 } },
        },
      },
    },
  },
} as const;

const validateFile = new Ajv({ allErrors: true }).compile(FILE_SCHEMA);

function parseListen(value: string, where: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`${where}: expected HOST:PORT (e.g. 127.0.0.1:8080), got ${JSON.stringify(value)}`);
  return { host: m[1] ?? m[2]!, port };
}

/** Worker processes: a count, or "auto" for one per core. */
function parseWorkers(value: string, where: string): number {
  if (value === 'auto') return availableParallelism();
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= MAX_WORKERS)) throw new ConfigError(`${where}: expected a number of worker processes from 1 to ${MAX_WORKERS}, or "auto" (one per core), got ${JSON.stringify(value)}`);
  return n;
}

function parseOnly(value: string, where: string): ServiceName[] {
  const parts = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of parts) {
    if (!(SERVICES as readonly string[]).includes(p)) throw new ConfigError(`${where}: unknown service ${JSON.stringify(p)} (known: ${SERVICES.join(', ')})`);
  }
  if (parts.length === 0) throw new ConfigError(`${where}: name at least one service`);
  return [...new Set(parts)] as ServiceName[];
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  if (data === null || data === undefined) return {};
  if (!validateFile(data)) {
    const errors = (validateFile.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params['additionalProperty'])})` : ''}`);
    throw new ConfigError(`config file ${path} is invalid: ${errors.join('; ')}`);
  }
  return data as Record<string, unknown>;
}

/** Builds the configuration; throws ConfigError naming the offending setting. */
export function loadConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv, cwd = process.cwd()): Config {
  const file = flags.config ?? env['SNAPLINE_CONFIG'];
  const f = file ? readConfigFile(resolve(cwd, file)) : {};
  const pick = (flag: string | undefined, envName: string, fromFile: unknown): [string | undefined, string] => {
    if (flag !== undefined) return [flag, `--${envName.replace('SNAPLINE_', '').toLowerCase()}`];
    if (env[envName] !== undefined && env[envName] !== '') return [env[envName], envName];
    return [typeof fromFile === 'string' ? fromFile : undefined, `config file ${file}`];
  };

  const [dataRaw] = pick(flags.data, 'SNAPLINE_DATA', f['dataDir']);
  const dataDir = resolve(cwd, dataRaw ?? 'data');
  const [listenRaw, listenWhere] = pick(flags.listen, 'SNAPLINE_LISTEN', f['listen']);
  const listen = parseListen(listenRaw ?? '127.0.0.1:8080', listenWhere);
  const [dbRaw] = pick(flags.db, 'SNAPLINE_DB', f['db']);
  const db = dbRaw ?? `sqlite:${join(dataDir, 'snapline.db')}`;
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(db)) throw new ConfigError(`database URL must start with sqlite: or postgres://, got ${JSON.stringify(db.replace(/:[^:@/]*@/, ':***@'))}`);
  const [onlyRaw, onlyWhere] = pick(flags.only, 'SNAPLINE_ONLY', Array.isArray(f['only']) ? (f['only'] as string[]).join(',') : undefined);
  const only = onlyRaw ? parseOnly(onlyRaw, onlyWhere) : [...SERVICES];
  const [workersRaw, workersWhere] = pick(flags.workers, 'SNAPLINE_WORKERS', typeof f['workers'] === 'number' ? String(f['workers']) : f['workers']);
  const workers = workersRaw === undefined ? 1 : parseWorkers(workersRaw, workersWhere);
  const [rootRaw] = pick(undefined, 'SNAPLINE_ROOT_ID', f['rootId']);
  const rootId = rootRaw ?? 'snapline-root';
  if (!/^(?:[a-z0-9A-Z]{32}|[-a-z0-9]{2,28})$/.test(rootId)) throw new ConfigError(`SNAPLINE_ROOT_ID: invalid account id ${JSON.stringify(rootId)}`);
  const [publicRaw] = pick(undefined, 'SNAPLINE_PUBLIC_URL', f['publicUrl']);
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host;
  const publicUrl = (publicRaw ?? `http://${host}:${listen.port}`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(publicUrl)) throw new ConfigError(`SNAPLINE_PUBLIC_URL: expected an http(s) URL, got ${JSON.stringify(publicUrl)}`);
  const [masterFile] = pick(undefined, 'SNAPLINE_MASTER_KEY_FILE', f['masterKeyFile']);
  const [levelRaw] = pick(undefined, 'SNAPLINE_LOG_LEVEL', f['logLevel']);
  const logLevel = (levelRaw ?? 'info') as Config['logLevel'];
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) throw new ConfigError(`SNAPLINE_LOG_LEVEL: unknown level ${JSON.stringify(logLevel)}`);
  const limits = (f['limits'] ?? {}) as Partial<Config['limits']>;
  const [rateRaw] = pick(undefined, 'SNAPLINE_TOKEN_RATE', undefined);
  const tokenRate = rateRaw !== undefined ? Number(rateRaw) : (limits.tokenRequestsPerSecond ?? 500);
  if (!Number.isInteger(tokenRate) || tokenRate < 1) throw new ConfigError(`SNAPLINE_TOKEN_RATE: expected a positive integer, got ${JSON.stringify(rateRaw)}`);
  const http = httpLimits(pick, (f['http'] ?? {}) as Partial<HttpLimits>);
  return {
    dataDir,
    listen,
    db: db.startsWith('sqlite:') && !isAbsolute(db.slice(7)) ? `sqlite:${resolve(cwd, db.slice(7))}` : db,
    only,
    workers,
    rootId,
    publicUrl,
    masterKeyFile: masterFile ? resolve(cwd, masterFile) : undefined,
    logLevel,
    limits: { jsonBodyBytes: limits.jsonBodyBytes ?? 1024 * 1024, uploadBytes: limits.uploadBytes ?? 4 * 1024 * 1024 * 1024, tokenRequestsPerSecond: tokenRate },
    http,
    keys: keysConfig(pick, (f['keys'] ?? {}) as { custody?: string; pkcs11?: Record<string, unknown> }, cwd),
    blobs: blobSweepConfig(pick, (f['blobs'] ?? {}) as Partial<BlobSweepConfig>),
  };
}

/** blobs: SNAPLINE_ORPHAN_BLOB_GRACE_MS and SNAPLINE_BLOB_SWEEP_INTERVAL_MS, else the file's blobs section, else the defaults. */
function blobSweepConfig(pick: (flag: undefined, envName: string, fromFile: unknown) => [string | undefined, string], f: Partial<BlobSweepConfig>): BlobSweepConfig {
  const out = { ...BLOB_SWEEP_DEFAULTS };
  for (const [key, env] of [['orphanGraceMs', 'SNAPLINE_ORPHAN_BLOB_GRACE_MS'], ['sweepIntervalMs', 'SNAPLINE_BLOB_SWEEP_INTERVAL_MS']] as const) {
    const [raw, where] = pick(undefined, env, undefined);
    const value = raw !== undefined ? (/^\d+$/.test(raw) ? Number(raw) : NaN) : (f[key] ?? out[key]);
    if (!Number.isSafeInteger(value)) throw new ConfigError(`${where}: expected a whole number of milliseconds, got ${JSON.stringify(raw)}`);
    out[key] = value;
  }
  return out;
}

/** keys: from SNAPLINE_KEY_CUSTODY and SNAPLINE_PKCS11_{MODULE,TOKEN,SLOT,PIN_FILE}, or the file's keys section. */
function keysConfig(pick: (flag: undefined, envName: string, fromFile: unknown) => [string | undefined, string], f: { custody?: string; pkcs11?: Record<string, unknown> }, cwd: string): KeysConfig {
  const [custody, where] = pick(undefined, 'SNAPLINE_KEY_CUSTODY', f.custody);
  if (custody === undefined || custody === 'database') return { custody: 'database' };
  if (custody !== 'pkcs11') throw new ConfigError(`${where}: key custody is "database" or "pkcs11", got ${JSON.stringify(custody)}`);
  const p = f.pkcs11 ?? {};
  const [module] = pick(undefined, 'SNAPLINE_PKCS11_MODULE', p['module']);
  if (!module) throw new ConfigError('pkcs11 key custody needs the PKCS#11 module: SNAPLINE_PKCS11_MODULE or keys.pkcs11.module (e.g. /usr/lib/softhsm/libsofthsm2.so)');
  const [token] = pick(undefined, 'SNAPLINE_PKCS11_TOKEN', p['token']);
  const [slotRaw, slotWhere] = pick(undefined, 'SNAPLINE_PKCS11_SLOT', typeof p['slot'] === 'number' ? String(p['slot']) : undefined);
  const slot = slotRaw === undefined ? undefined : /^\d+$/.test(slotRaw) ? Number(slotRaw) : NaN;
  if (Number.isNaN(slot)) throw new ConfigError(`${slotWhere}: expected a slot number, got ${JSON.stringify(slotRaw)}`);
  const [pinFile] = pick(undefined, 'SNAPLINE_PKCS11_PIN_FILE', p['pinFile']);
  return {
    custody: 'pkcs11',
    pkcs11: { module: resolve(cwd, module), ...(token ? { token } : {}), ...(slot !== undefined ? { slot } : {}), ...(pinFile ? { pinFile: resolve(cwd, pinFile) } : {}) },
  };
}

/** http: each bound from its SNAPLINE_* variable, else the file's http section, else its default. */
function httpLimits(pick: (flag: undefined, envName: string, fromFile: unknown) => [string | undefined, string], f: Partial<HttpLimits>): HttpLimits {
  const http = {} as HttpLimits;
  for (const [key, setting] of Object.entries(HTTP_LIMITS) as [keyof HttpLimits, { env: string; default: number }][]) {
    const [raw, where] = pick(undefined, setting.env, undefined);
    const value = raw !== undefined ? (/^\d+$/.test(raw) ? Number(raw) : NaN) : (f[key] ?? setting.default);
    if (!Number.isSafeInteger(value)) throw new ConfigError(`${where}: expected a whole number of ${key.endsWith('Ms') ? 'milliseconds' : 'connections or requests'} (0 turns the bound off), got ${JSON.stringify(raw)}`);
    http[key] = value;
  }
  if (http.requestTimeoutMs > 0 && http.headersTimeoutMs > http.requestTimeoutMs) {
    throw new ConfigError(`the headers timeout (${http.headersTimeoutMs} ms) must not exceed the request timeout (${http.requestTimeoutMs} ms)`);
  }
  return http;
}

/** The configuration with secrets and credentials masked, for logs. */
export function describeConfig(c: Config): Record<string, unknown> {
  return { ...c, db: c.db.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@') };
}
