// Device sessions (protocol 6.3): a nonce, then a device-session-request +
// serial + model exchanged for an opaque token. Nonces and sessions live in
// the database (any process can check them); only SHA-256 of a token is kept.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import {
  decode,
  TrustDatabase,
  verifyDeviceSessionRequest,
  type Assertion,
  type DeviceSessionRequestData,
  type ModelData,
  type SerialData,
} from '../assertions/index.ts';
import { signingChain } from '../platform/assertions/index.ts';
import { fromDbTime, platformView, toDbTime } from '../platform/db/index.ts';
import type { PlatformContext } from '../platform/context.ts';
import { header } from './visibility.ts';
import type { StoreDb } from './repo.ts';
import type { Catalog } from './visibility.ts';

export const NONCE_TTL_MS = 5 * 60_000;
export const SESSION_TTL_MS = 7 * 24 * 3600_000;
/** How far a device-session-request's timestamp may be from the store's clock. */
export const SESSION_REQUEST_SKEW_MS = 10 * 60_000;

export class SessionError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface DeviceSession {
  storeId: string;
  brandId: string;
  model: string;
  serial: string;
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

export async function issueNonce(db: StoreDb, now: Date): Promise<string> {
  const nonce = randomBytes(24).toString('base64url');
  await db.insertInto('store_nonces').values({ nonce, expires_at: toDbTime(new Date(now.getTime() + NONCE_TTL_MS)) }).execute();
  // Opportunistic clean-up of expired nonces (cheap, indexed).
  if (Math.random() < 0.05) await db.deleteFrom('store_nonces').where('expires_at', '<', toDbTime(now)).execute();
  return nonce;
}

function decodeAs(text: unknown, type: string, what: string): Assertion {
  if (typeof text !== 'string' || text === '') throw new SessionError('invalid-request', `${what} is missing`);
  let a: Assertion;
  try {
    a = decode(text);
  } catch (err) {
    throw new SessionError('invalid-request', `cannot decode ${what}: ${(err as Error).message}`);
  }
  if (a.type !== type) throw new SessionError('invalid-request', `${what} is a ${a.type}, not a ${type}`);
  return a;
}

/** Checks a session request and opens a session; returns the opaque token. */
export async function openSession(ctx: PlatformContext, db: StoreDb, catalog: Catalog, body: Record<string, unknown>): Promise<string> {
  const now = ctx.now();
  const dsr = decodeAs(body['device-session-request'], 'device-session-request', 'device-session-request');
  const serial = decodeAs(body['serial-assertion'], 'serial', 'serial-assertion');
  const model = decodeAs(body['model-assertion'], 'model', 'model-assertion');
  const m = model.data as ModelData;
  const sd = serial.data as SerialData;
  const rd = dsr.data as DeviceSessionRequestData;
  if (sd.brandId !== m.brandId || sd.model !== m.model) throw new SessionError('invalid-credentials', `serial is for ${sd.brandId}/${sd.model}, not model ${m.brandId}/${m.model}`, 401);
  // The model must name a store of this server, owned by the model's brand.
  const stores = await catalog.allStores();
  const store = m.store ? stores.get(m.store) : undefined;
  if (!store) throw new SessionError('invalid-credentials', `model ${m.brandId}/${m.model} names store ${JSON.stringify(m.store)}, which is not served here`, 401);
  if (store.brandId !== m.brandId && store.brandId !== ctx.root.rootId) throw new SessionError('invalid-credentials', `store ${store.storeId} does not belong to brand ${m.brandId}`, 401);
  // Model and serial must verify against the root, with the brand's chain from our assertions table.
  const tdb = new TrustDatabase({ trusted: ctx.root.trusted, now: () => now });
  const chain = await signingChain(platformView(db), [model, serial], new Set(ctx.root.trusted.filter((a) => a.type === 'account-key').map((a) => a.primaryKey[0]!)));
  try {
    tdb.addBatch([...chain.filter((a) => !ctx.root.trusted.some((t) => t.type === a.type && t.primaryKey.join('/') === a.primaryKey.join('/'))), model, serial]);
    verifyDeviceSessionRequest(dsr, serial);
  } catch (err) {
    throw new SessionError('invalid-credentials', `cannot verify the device: ${(err as Error).message}`, 401);
  }
  if (Math.abs(rd.timestamp.getTime() - now.getTime()) > SESSION_REQUEST_SKEW_MS) {
    throw new SessionError('invalid-credentials', 'device-session-request timestamp is too far from the store clock', 401);
  }
  // The nonce must be one we issued, still fresh; it is used once.
  const used = await db.deleteFrom('store_nonces').where('nonce', '=', rd.nonce).where('expires_at', '>', toDbTime(now)).executeTakeFirst();
  if (Number(used.numDeletedRows) !== 1) throw new SessionError('invalid-credentials', 'unknown or expired nonce', 401);
  // Opportunistic clean-up of expired sessions (indexed on expires_at).
  if (Math.random() < 0.05) await db.deleteFrom('store_sessions').where('expires_at', '<', toDbTime(now)).execute();
  const token = `snls_${randomBytes(32).toString('base64url')}`;
  await db
    .insertInto('store_sessions')
    .values({
      token_hash: hash(token),
      store_id: store.storeId,
      brand_id: m.brandId,
      model: m.model,
      serial: sd.serial,
      created_at: toDbTime(now),
      expires_at: toDbTime(new Date(now.getTime() + SESSION_TTL_MS)),
    })
    .execute();
  return token;
}

/** The session token of `Snap-Device-Authorization` / `X-Device-Authorization: Macaroon root="..."`, if any. */
export function sessionToken(req: FastifyRequest): string | undefined {
  const h = header(req, 'snap-device-authorization') ?? header(req, 'x-device-authorization');
  if (!h) return undefined;
  const m = /^Macaroon\s+root="([^"]+)"/.exec(h);
  return m ? m[1] : '';
}

/** A session as stored: who it is, and until when. */
export interface StoredSession {
  session: DeviceSession;
  expiresAt: Date;
}

/** Reads a session by the SHA-256 of its token. */
export async function loadSession(db: StoreDb, tokenHash: string): Promise<StoredSession | undefined> {
  const row = await db.selectFrom('store_sessions').select(['store_id', 'brand_id', 'model', 'serial', 'expires_at']).where('token_hash', '=', tokenHash).executeTakeFirst();
  return row ? { session: { storeId: row.store_id, brandId: row.brand_id, model: row.model, serial: row.serial }, expiresAt: fromDbTime(row.expires_at) } : undefined;
}

/**
 * Validated sessions, read from the database and kept at most a second per
 * process (like the platform's token cache), counted from when the read was
 * sent. The database stays the only record: any process accepts a session
 * another opened, and an expired or deleted session stops working everywhere
 * within a second. Unknown tokens are never cached.
 *
 * A device's concurrent requests share one read, and an entry in its last
 * `refreshAheadMs` is re-read in the background while it is still served: an
 * expiry never sends every request in flight to the database at once (at
 * 100 concurrent requests that queue on the pool was the refresh p99).
 */
export class SessionCache {
  private entries = new Map<string, { stored: StoredSession; until: number }>();
  private readonly reading = new Map<string, Promise<StoredSession | undefined>>();
  constructor(
    private readonly load: (tokenHash: string) => Promise<StoredSession | undefined>,
    private readonly ttlMs = 1000,
    private readonly refreshAheadMs = 250,
  ) {}

  /** The session for a token hash at wall-clock `now` (ms), from the cache or the database. */
  get(hash: string, now: number): Promise<StoredSession | undefined> | StoredSession {
    const e = this.entries.get(hash);
    if (e && e.until > now) {
      if (e.until - now <= this.refreshAheadMs && !this.reading.has(hash)) this.read(hash, now).catch(() => undefined);
      return e.stored;
    }
    if (e) this.entries.delete(hash);
    return this.read(hash, now);
  }

  private read(hash: string, sentAt: number): Promise<StoredSession | undefined> {
    const pending = this.reading.get(hash);
    if (pending) return pending;
    const p = this.load(hash)
      .then((stored) => {
        if (!stored) this.entries.delete(hash);
        else {
          if (this.entries.size >= 100_000) this.entries = new Map();
          this.entries.set(hash, { stored, until: sentAt + this.ttlMs });
        }
        return stored;
      })
      .finally(() => this.reading.delete(hash));
    this.reading.set(hash, p);
    return p;
  }
}

/**
 * The device session a request carries: undefined when none, a
 * SessionError (401, refresh) when it carries an unknown or expired one.
 */
export async function requestSession(db: StoreDb, req: FastifyRequest, now: Date, cache?: SessionCache): Promise<DeviceSession | undefined> {
  const token = sessionToken(req);
  if (token === undefined) return undefined;
  const stored = token ? await (cache ? cache.get(hash(token), Date.now()) : loadSession(db, hash(token))) : undefined;
  if (!stored || stored.expiresAt.getTime() <= now.getTime()) throw new SessionError('device-authorization-needs-refresh', 'device session is unknown or expired', 401);
  return stored.session;
}
