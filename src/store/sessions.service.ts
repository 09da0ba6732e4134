// Device sessions (protocol 6.3): a nonce, then a device-session-request +
// serial + model exchanged for an opaque token. Nonces and sessions live in
// the database (any process can check them); only SHA-256 of a token is kept.
import { createHash, randomBytes } from 'node:crypto';
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
import { SNAP_SERIES } from '../assertions/index.ts';
import { TtlCache } from '../platform/cache/ttl-cache.ts';
import type { Catalog } from './catalog.repo.ts';
import type { StoreDb } from './store.repo.ts';
import { SessionError } from './store.errors.ts';
import { hasRole, type Role } from '../platform/http/access.ts';
import type { SessionRequestInput } from './store.schemas.ts';

/** The role on a store's brand that lets a credential see the store's private snaps (image builds). */
export const STORE_DOWNLOAD_ROLES: readonly Role[] = ['store-download'];

export const NONCE_TTL_MS = 5 * 60_000;
export const SESSION_TTL_MS = 7 * 24 * 3600_000;
/** How far a device-session-request's timestamp may be from the store's clock. */
export const SESSION_REQUEST_SKEW_MS = 10 * 60_000;

export { SessionError, type SessionErrorCode } from './store.errors.ts';

export interface DeviceSession {
  storeId: string;
  brandId: string;
  model: string;
  serial: string;
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

async function issueNonce(db: StoreDb, now: Date): Promise<string> {
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
async function openSession(ctx: PlatformContext, db: StoreDb, catalog: Catalog, body: SessionRequestInput): Promise<string> {
  const now = ctx.now();
  const dsr = decodeAs(body['device-session-request'], 'device-session-request', 'device-session-request');
  const serial = decodeAs(body['serial-assertion'], 'serial', 'serial-assertion');
  const model = decodeAs(body['model-assertion'], 'model', 'model-assertion');
  const m = model.data as ModelData;
  const sd = serial.data as SerialData;
  const rd = dsr.data as DeviceSessionRequestData;
  if (sd.brandId !== m.brandId || sd.model !== m.model) throw new SessionError('invalid-credentials', `serial is for ${sd.brandId}/${sd.model}, not model ${m.brandId}/${m.model}`);
  // The model must name a store of this server, owned by the model's brand.
  const stores = await catalog.allStores();
  const store = m.store ? stores.get(m.store) : undefined;
  if (!store) throw new SessionError('invalid-credentials', `model ${m.brandId}/${m.model} names store ${JSON.stringify(m.store)}, which is not served here`);
  if (store.brandId !== m.brandId && store.brandId !== ctx.root.rootId) throw new SessionError('invalid-credentials', `store ${store.storeId} does not belong to brand ${m.brandId}`);
  // Model and serial must verify against the root, with the brand's chain from our assertions table.
  const tdb = new TrustDatabase({ trusted: ctx.root.trusted, now: () => now });
  const chain = await signingChain(platformView(db), [model, serial], new Set(ctx.root.trusted.filter((a) => a.type === 'account-key').map((a) => a.primaryKey[0]!)));
  try {
    tdb.addBatch([...chain.filter((a) => !ctx.root.trusted.some((t) => t.type === a.type && t.primaryKey.join('/') === a.primaryKey.join('/'))), model, serial]);
    verifyDeviceSessionRequest(dsr, serial);
  } catch (err) {
    throw new SessionError('invalid-credentials', `cannot verify the device: ${(err as Error).message}`);
  }
  if (Math.abs(rd.timestamp.getTime() - now.getTime()) > SESSION_REQUEST_SKEW_MS) {
    throw new SessionError('invalid-credentials', 'device-session-request timestamp is too far from the store clock');
  }
  // The nonce must be one we issued, still fresh; it is used once.
  const used = await db.deleteFrom('store_nonces').where('nonce', '=', rd.nonce).where('expires_at', '>', toDbTime(now)).executeTakeFirst();
  if (Number(used.numDeletedRows) !== 1) throw new SessionError('invalid-credentials', 'unknown or expired nonce');
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
 * The platform's TtlCache does the keeping; this adds the two session rules.
 */
export class SessionCache {
  private readonly cache: TtlCache<string, { stored: StoredSession; sentAt: number }>;
  private readonly ttlMs: number;
  private readonly now: () => number;
  constructor(
    private readonly read: (tokenHash: string) => Promise<StoredSession | undefined>,
    options: { ttlMs?: number; refreshAheadMs?: number; now?: () => number } = {},
  ) {
    this.ttlMs = options.ttlMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.cache = new TtlCache({ ttlMs: this.ttlMs, refreshAheadMs: options.refreshAheadMs ?? 250, maxEntries: 100_000, now: this.now });
  }

  /** The session for a token hash, from the cache or the database. */
  get(hash: string): Promise<StoredSession | undefined> | StoredSession | undefined {
    const hit = this.cache.through(hash, this.load);
    if (hit instanceof Promise) return hit.then((h) => h.stored, (err: unknown) => (err === GONE ? undefined : Promise.reject(err)));
    // Never served a second after its read was sent (a slow read does not stretch it).
    if (hit.sentAt + this.ttlMs > this.now()) return hit.stored;
    this.cache.delete(hash);
    return this.get(hash);
  }

  private readonly load = async (hash: string) => {
    const sentAt = this.now();
    const stored = await this.read(hash);
    if (!stored) {
      // Gone: forget what was kept (a background re-read finding nothing ends it at once) and cache nothing.
      this.cache.delete(hash);
      throw GONE;
    }
    return { stored, sentAt };
  };
}

/** A load's way of saying "no such session" (the cache keeps no failed load). */
const GONE = Symbol('no such session');

/** What the store knows of a device request apart from its body: its headers, as the service reads them. */
export interface DeviceContext {
  /** The device-session token (`Snap-Device-Authorization: Macaroon root="…"`); '' when one is sent but unreadable. */
  sessionToken?: string | undefined;
  /** The store the request names (`Snap-Device-Store`); a device session's store wins. */
  store?: string | undefined;
  /** `Snap-Device-Architecture`; amd64 when absent. */
  architecture?: string | undefined;
  /** `Snap-Device-Series`; 16 when absent. */
  series?: string | undefined;
  /** False on Ubuntu Core (`Snap-Classic: false`): classic-confinement snaps are not offered. */
  classic?: boolean | undefined;
  /** `scheme://host` the request came to: the base of absolute URLs when the public URL names an ephemeral port. */
  origin?: string | undefined;
  /**
   * A store credential: an API token (`Authorization: Macaroon <token>`, as
   * snapd's prepare-image sends UBUNTU_STORE_AUTH, or `Bearer <token>`). With
   * the `store-download` role on the named store's brand it sees the store's
   * private snaps like the store's devices do.
   */
  credential?: string | undefined;
}

/** A device request as the store serves it: who (its session), which stores it sees, what it runs. */
export interface Device {
  session: DeviceSession | undefined;
  storeId: string | undefined;
  /** The store it names and the stores that one includes, in preference order. */
  seen: string[];
  /** Of `seen`, the stores whose private snaps it sees (docs/store.md, Visibility). */
  privateIn: string[];
  arch: string;
  series: string;
  classic: boolean;
  /** The base of the absolute URLs in its answers (downloads, assertion streams). */
  baseUrl: string;
}

/** Device sessions: nonces, opening a session, and who a device request is. */
export class SessionsService {
  private readonly cache: SessionCache;
  private readonly ephemeral: boolean;
  constructor(
    private readonly ctx: PlatformContext,
    private readonly db: StoreDb,
    private readonly catalog: Catalog,
  ) {
    this.cache = new SessionCache((tokenHash) => loadSession(db, tokenHash));
    // Absolute URLs come from config.publicUrl; a server on an ephemeral port
    // (publicUrl ending in ":0", as in tests) uses the request's origin instead.
    this.ephemeral = /:0$/.test(ctx.config.publicUrl);
  }

  /** A new nonce for a device-session-request (five minutes, used once). */
  nonce(): Promise<string> {
    return issueNonce(this.db, this.ctx.now());
  }

  /** Checks a device-session request (model, serial, signed request, nonce, store) and opens a session: its opaque token. */
  open(request: SessionRequestInput): Promise<string> {
    return openSession(this.ctx, this.db, this.catalog, request);
  }

  /** The session of a token: undefined without one; SessionError (needs refresh) for an unknown or expired one. */
  async session(token: string | undefined): Promise<DeviceSession | undefined> {
    if (token === undefined) return undefined;
    const stored = token ? await this.cache.get(hash(token)) : undefined;
    if (!stored || stored.expiresAt.getTime() <= this.ctx.now().getTime()) throw new SessionError('device-authorization-needs-refresh', 'device session is unknown or expired');
    return stored.session;
  }

  /**
   * The private snaps a request without a device session sees, of the store
   * it names (`seen[0]`) and the stores that one includes: all of them with a
   * store credential (`store-download` on the named store's brand), else only
   * those of stores whose `privateAccess` is 'store-id' (stores made before
   * that setting existed, unless changed). An unknown, expired or revoked
   * token is refused (401), not taken as anonymous.
   */
  private async privateIn(seen: string[], credential: string | undefined): Promise<string[]> {
    const stores = await this.catalog.allStores();
    if (credential !== undefined) {
      const p = await this.ctx.authenticate(credential);
      const named = stores.get(seen[0]!);
      if (named && hasRole(p, named.brandId, STORE_DOWNLOAD_ROLES)) return seen;
    }
    return seen.filter((id) => stores.get(id)?.privateAccess === 'store-id');
  }

  /** Who a device request is and what it sees. */
  async device(c: DeviceContext): Promise<Device> {
    const session = await this.session(c.sessionToken);
    const storeId = session?.storeId ?? c.store;
    const seen = await this.catalog.storesSeenBy(storeId);
    return {
      session,
      storeId,
      seen,
      privateIn: session || seen.length === 0 ? seen : await this.privateIn(seen, c.credential),
      arch: c.architecture ?? 'amd64',
      classic: c.classic ?? true,
      series: c.series ?? SNAP_SERIES,
      baseUrl: this.ephemeral && c.origin ? c.origin : this.ctx.config.publicUrl,
    };
  }
}
