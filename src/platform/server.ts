// The composition root of `snapline serve`: configuration in, a listening
// server out. Order: data folder and master key, database and migrations,
// blobs, key custody, root authority, administrator, HTTP app, services.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { describeConfig } from './config.ts';
import { DatabaseUnavailableError, migrate, openDatabase, parseDatabaseUrl, pendingMigrations, platformMigrations, type Database } from './db/index.ts';
import { FsBlobStore } from './blobs/index.ts';
import { KeyCustody, importRootBundle, openConfiguredToken, type Pkcs11Token, type RootBundle } from './keys/index.ts';
import { resolveToken } from './auth/index.ts';
import { ensureRootAuthority } from './root-authority.ts';
import { ensureAdmin, masterKeyPlacementWarning, masterKeysFor, writeAdminCredentials, type AdminCredentials } from './bootstrap.ts';
import { createHttpApp, type RouteInfo } from './http/app.ts';
import { Metrics } from './http/metrics.ts';
import { PrincipalCache } from './http/principal-cache.ts';
import type { Principal } from './http/access.ts';
import type { PlatformContext } from './context.ts';
import type { Service } from './services.ts';
import { rootRoutes } from './routes/root.routes.ts';
import { accountRoutes } from './routes/accounts.routes.ts';
import { userRoutes } from './routes/users.routes.ts';

export const VERSION = '0.1.0';

export interface StartOptions {
  config: Config;
  env: NodeJS.ProcessEnv;
  services?: readonly Service[];
  now?: () => Date;
  /** Don't listen (tests use inject). */
  listen?: boolean;
  logStream?: NodeJS.WritableStream;
  tokenRateLimit?: number;
  /** An already open database (tests); opened from config.db otherwise. */
  database?: Database;
  /** An offline root ceremony's bundle to import before the root authority loads (`snapline root import`). */
  rootBundle?: { bundle: RootBundle; passphrase?: string };
}

export interface RunningServer {
  app: FastifyInstance;
  ctx: PlatformContext;
  routes: RouteInfo[];
  /** Where it listens, when it does. */
  url?: string;
  /** First start only: the administrator's credentials (also written to `adminCredentialsFile`). */
  admin?: AdminCredentials;
  /** First start only: the owner-only file holding the administrator's credentials; print its path, not its content. */
  adminCredentialsFile?: string;
  /** Problems of the setup worth telling the operator at start (also logged). */
  warnings: string[];
  /** First start only: the generated master key file, to back up. */
  generatedMasterKey?: string;
  close(): Promise<void>;
}

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const { config, env } = opts;
  const now = opts.now ?? (() => new Date());
  const services = (opts.services ?? []).filter((s) => config.only.includes(s.name));
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const { ring, generatedFile, file: masterKeyFile } = await masterKeysFor(config.dataDir, env, config.masterKeyFile);
  const location = opts.database ? undefined : parseDatabaseUrl(config.db);
  const warnings: string[] = [];
  const placement = masterKeyPlacementWarning(masterKeyFile, config.dataDir, location?.engine === 'sqlite' && location.path !== ':memory:' ? location.path : undefined);
  if (placement) warnings.push(placement);

  const db: Database = opts.database ?? openDatabase(config.db);
  let closed = false;
  let token: Pkcs11Token | undefined;
  try {
    // Every service's tables exist whatever this process serves: one schema.
    const migrationLists = [platformMigrations, ...(opts.services ?? []).flatMap((s) => (s.migrations ? [s.migrations] : []))];
    await migrate(db, migrationLists, now);
    // Removes dead uploads' temporary files now and every minute (docs/platform.md, Blobs).
    const blobs = await FsBlobStore.open(join(config.dataDir, 'blobs'));
    if (config.keys.custody === 'pkcs11') token = openConfiguredToken(config.keys.pkcs11!, env);
    const keys = new KeyCustody(db.kysely, ring, now, token ? { token } : {});
    if (opts.rootBundle) await importRootBundle(db.kysely, keys, config.rootId, opts.rootBundle.bundle, opts.rootBundle.passphrase, now());
    const root = await ensureRootAuthority(db, keys, config.rootId, now);
    const admin = await ensureAdmin(db, config.rootId, env, now());
    const adminCredentialsFile = admin ? await writeAdminCredentials(config.dataDir, admin, config.rootId, now()) : undefined;
    const metrics = new Metrics();
    metrics.watchPool(() => db.poolStats());
    const principals = new PrincipalCache();
    const authenticate = (token: string) => principals.get(token, async (t) => toHttpPrincipal(await resolveToken(db.kysely, t, now())));
    const ctx: PlatformContext = { config, db, blobs, keys, metrics, root, now, version: VERSION, principals, authenticate };

    const { app, routes } = await createHttpApp({
      logLevel: config.logLevel,
      bodyLimit: config.limits.jsonBodyBytes,
      metrics,
      version: VERSION,
      ...(opts.logStream ? { logStream: opts.logStream } : {}),
      tokenRateLimit: opts.tokenRateLimit ?? config.limits.tokenRequestsPerSecond,
      authenticate,
      connectionLimits: config.http,
      // Ready: not stopping, the database answers, and it holds every
      // migration this code has (an empty or restored-too-old database is
      // not ready). A lost connection is made anew by the next check.
      isReady: async () => {
        if (closed) return false;
        await db.ping();
        const missing = await pendingMigrations(db, migrationLists);
        if (missing.length > 0) {
          throw new DatabaseUnavailableError(`the database lacks ${missing.length} migration(s) (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}): it is empty or older than this Snapline`);
        }
        return true;
      },
    });
    for (const w of warnings) app.log.warn(w);
    await rootRoutes(app, ctx);
    await accountRoutes(app, ctx);
    await userRoutes(app, ctx);
    for (const s of services) await s.register(app, ctx);
    await app.ready();
    app.log.info({ config: describeConfig(config), services: services.map((s) => s.name), rootId: root.rootId }, 'snapline ready');

    let url: string | undefined;
    if (opts.listen !== false) {
      await app.listen({ host: config.listen.host, port: config.listen.port });
      const address = app.server.address();
      url = listenUrl(config.listen.host, typeof address === 'object' && address ? address.port : config.listen.port);
    }
    return {
      app,
      ctx,
      routes,
      ...(url ? { url } : {}),
      ...(admin ? { admin } : {}),
      ...(adminCredentialsFile ? { adminCredentialsFile } : {}),
      warnings,
      ...(generatedFile ? { generatedMasterKey: generatedFile } : {}),
      async close() {
        if (closed) return;
        closed = true;
        // Stops accepting, lets requests in flight finish, then releases the database.
        await app.close();
        blobs.close();
        await db.close();
        token?.close();
      },
    };
  } catch (err) {
    await db.close().catch(() => undefined);
    token?.close();
    throw err;
  }
}

/** The URL of a listening address (an IPv6 host in brackets). */
export function listenUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function toHttpPrincipal(p: Awaited<ReturnType<typeof resolveToken>>): Principal {
  return {
    userId: String(p.userId),
    username: p.username,
    superuser: p.superuser,
    grants: Object.entries(p.roles).map(([accountId, roles]) => ({ accountId, roles })),
    tokenId: String(p.tokenId),
  };
}
