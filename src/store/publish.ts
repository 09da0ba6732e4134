// Publishing logic: stores, snap registration (with its snap-declaration),
// uploads (with their snap-revision), releases and closes. Signing happens
// outside transactions; each change is stored in one transaction.
import type { Readable } from 'node:stream';
import { SnapDeclarationType, SnapRevisionType, StoreType, SNAP_SERIES, WELL_KNOWN_SNAP_IDS, formatTimestamp } from '../assertions/index.ts';
import { ChannelError, type Channel } from '../channel/channel.ts';
import { fullChannelName } from '../channel/channel.ts';
import { findAssertion, putAssertion } from '../platform/assertions/index.ts';
import { ConflictError, platformView, toDbTime } from '../platform/db/index.ts';
import type { PlatformContext } from '../platform/context.ts';
import { ApiError } from '../platform/http/errors.ts';
import { signAssertion } from '../platform/keys/index.ts';
import { readSnapMetadata, snapNameError, SnapError, SquashfsReader, type RandomAccessSource, type SnapMetadata } from '../snap/index.ts';
import { BRANCH_TTL_MS, DEFAULT_TRACK, parseStoreChannel } from './channels.ts';
import type { StoreOwnTables } from './tables.ts';
import { toRevision, getStore, insertStore, newSnapId, revisionByDigest, toSnap, type Revision, type Snap, type Store, type StoreDb } from './repo.ts';

export const STORE_ID = /^[a-zA-Z0-9](?:[a-zA-Z0-9._-]{0,62}[a-zA-Z0-9])?$/;

async function hasAccountAssertion(db: StoreDb, accountId: string): Promise<boolean> {
  return (await findAssertion(platformView(db), 'account', [accountId])) !== undefined;
}

export async function createStore(ctx: PlatformContext, db: StoreDb, input: { storeId: string; brandId: string; includes: string[] }): Promise<{ store: Store; assertion: string }> {
  if (!STORE_ID.test(input.storeId)) throw new ApiError('validation-failed', `invalid store id ${JSON.stringify(input.storeId)}`);
  if (!(await hasAccountAssertion(db, input.brandId))) throw new ApiError('account-not-found', `no account ${JSON.stringify(input.brandId)} (create it with snapline account add)`, 404);
  if (await getStore(db, input.storeId)) throw new ApiError('store-exists', `store ${JSON.stringify(input.storeId)} already exists`, 409);
  for (const inc of input.includes) {
    if (inc === input.storeId || !(await getStore(db, inc))) throw new ApiError('store-not-found', `included store ${JSON.stringify(inc)} does not exist`, 404);
  }
  const now = ctx.now();
  const assertion = await signAssertion(
    StoreType,
    { headers: { 'authority-id': ctx.root.rootId, store: input.storeId, 'operator-id': input.brandId, url: ctx.config.publicUrl, timestamp: formatTimestamp(now) } },
    ctx.root.storeSigner,
    now,
  );
  ctx.metrics.signatures.inc({ type: 'store' });
  try {
    const store = await ctx.db.transaction(async (trx) => {
      const t = trx.withTables<StoreOwnTables>();
      const s = await insertStore(t, input, now);
      await putAssertion(trx, assertion, now);
      return s;
    });
    return { store, assertion: assertion.toString() };
  } catch (err) {
    if (err instanceof ConflictError) throw new ApiError('store-exists', `store ${JSON.stringify(input.storeId)} already exists`, 409);
    throw err;
  }
}

export async function registerSnap(
  ctx: PlatformContext,
  db: StoreDb,
  store: Store,
  input: { name: string; publisherId: string; private: boolean; defaultTrack?: string },
): Promise<{ snap: Snap; assertion: string }> {
  const bad = snapNameError(input.name);
  if (bad) throw new ApiError('validation-failed', bad);
  if (!(await hasAccountAssertion(db, input.publisherId))) throw new ApiError('account-not-found', `no account ${JSON.stringify(input.publisherId)}`, 404);
  const wellKnown = WELL_KNOWN_SNAP_IDS[input.name];
  if (wellKnown && input.publisherId !== ctx.root.rootId) {
    throw new ApiError('snap-name-reserved', `${input.name} is a base snap snapd knows by its snap-id: only the root account (${ctx.root.rootId}) may publish it`, 403);
  }
  const defaultTrack = input.defaultTrack ?? DEFAULT_TRACK;
  try {
    parseStoreChannel(`${defaultTrack}/stable`);
  } catch {
    throw new ApiError('invalid-channel', `invalid default track ${JSON.stringify(defaultTrack)}`);
  }
  if (await db.selectFrom('store_snaps').select('snap_id').where('store_id', '=', store.storeId).where('name', '=', input.name).executeTakeFirst()) {
    throw new ApiError('snap-name-registered', `snap ${input.name} is already registered in store ${store.storeId}`, 409);
  }
  const snapId = wellKnown ?? newSnapId();
  const now = ctx.now();
  const assertion = await signAssertion(
    SnapDeclarationType,
    { headers: { 'authority-id': ctx.root.rootId, series: SNAP_SERIES, 'snap-id': snapId, 'snap-name': input.name, 'publisher-id': input.publisherId, timestamp: formatTimestamp(now) } },
    ctx.root.storeSigner,
    now,
  );
  ctx.metrics.signatures.inc({ type: 'snap-declaration' });
  const row = {
    snap_id: snapId,
    store_id: store.storeId,
    name: input.name,
    publisher_id: input.publisherId,
    private: input.private ? 1 : 0,
    default_track: defaultTrack,
    created_at: toDbTime(now),
  };
  try {
    await ctx.db.transaction(async (trx) => {
      await trx.withTables<StoreOwnTables>().insertInto('store_snaps').values(row).execute();
      await putAssertion(trx, assertion, now);
    });
  } catch (err) {
    if (err instanceof ConflictError) {
      throw new ApiError('snap-name-registered', wellKnown ? `snap ${input.name} (snap-id ${snapId}) is already registered in another store` : `snap ${input.name} is already registered in store ${store.storeId}`, 409);
    }
    throw err;
  }
  return { snap: toSnap(row), assertion: assertion.toString() };
}

/** Random access to a stored blob by byte ranges (for the squashfs reader). */
class BlobSource implements RandomAccessSource {
  constructor(
    private readonly ctx: PlatformContext,
    private readonly digest: string,
    readonly size: number,
  ) {}
  async read(offset: number, length: number): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    if (offset < 0 || offset + length > this.size) throw new RangeError(`read of ${length} bytes at ${offset} is outside the source`);
    const { stream } = await this.ctx.blobs.get(this.digest, { start: offset, end: offset + length - 1 });
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    const out = Buffer.concat(chunks);
    if (out.length !== length) throw new RangeError('short read');
    return out;
  }
  async close(): Promise<void> {}
}

/** Parses release channels up front, so a bad one refuses the whole request. */
export function parseReleaseChannels(channels: readonly string[], snap: Snap): Channel[] {
  if (channels.length === 0) throw new ApiError('invalid-channel', 'no channel given');
  return channels.map((c) => {
    try {
      return parseStoreChannel(c, snap.defaultTrack);
    } catch (err) {
      if (err instanceof ChannelError) throw new ApiError('invalid-channel', err.message);
      throw err;
    }
  });
}

export async function uploadRevision(
  ctx: PlatformContext,
  db: StoreDb,
  snap: Snap,
  body: Readable,
  opts: { developerId: string; release?: Channel[]; actor: string; signal?: AbortSignal },
): Promise<{ revision: Revision; assertion: string; released: string[] }> {
  const store = (await getStore(db, snap.storeId))!;
  const info = await ctx.blobs.put(body, { maxSize: ctx.config.limits.uploadBytes, ...(opts.signal ? { signal: opts.signal } : {}) });
  const hex = info.sha3_384.hex;
  let committed = false;
  try {
    let meta: SnapMetadata;
    const reader = await SquashfsReader.open(new BlobSource(ctx, hex, info.size)).catch((err: unknown) => {
      if (err instanceof SnapError) throw new ApiError('snap-invalid', `not a valid snap: ${err.message}`);
      throw err;
    });
    try {
      meta = await readSnapMetadata(reader);
    } catch (err) {
      if (err instanceof SnapError) throw new ApiError('snap-invalid', `not a valid snap: ${err.message}`);
      throw err;
    } finally {
      await reader.close();
    }
    const y = meta.snapYaml;
    if (y.name !== snap.name) throw new ApiError('snap-name-mismatch', `the file is snap ${JSON.stringify(y.name)}, not ${JSON.stringify(snap.name)}`);
    if ((y.type === 'gadget' || y.type === 'kernel') && snap.publisherId !== store.brandId && snap.publisherId !== ctx.root.rootId) {
      throw new ApiError('snap-publisher-invalid', `a ${y.type} must be published by the store's brand ${store.brandId} (or the root account): devices refuse it otherwise`);
    }
    if (y.type === 'os' && snap.name !== 'core') throw new ApiError('snap-invalid', 'only the core snap may have type os');
    const existing = await revisionByDigest(db, hex);
    if (existing) throw new ApiError('revision-exists', `this file was already uploaded as revision ${existing.revision} of ${existing.snapId === snap.snapId ? snap.name : 'another snap'}`, 409);

    for (let attempt = 0; ; attempt++) {
      const last = await db.selectFrom('store_revisions').select((eb) => eb.fn.max('revision').as('max')).where('snap_id', '=', snap.snapId).executeTakeFirst();
      const revision = Number(last?.max ?? 0) + 1;
      const now = ctx.now();
      const assertion = await signAssertion(
        SnapRevisionType,
        {
          headers: {
            'authority-id': ctx.root.rootId,
            'snap-sha3-384': info.sha3_384.base64url,
            'snap-id': snap.snapId,
            'snap-size': String(info.size),
            'snap-revision': String(revision),
            'developer-id': opts.developerId,
            timestamp: formatTimestamp(now),
          },
        },
        ctx.root.storeSigner,
        now,
      );
      ctx.metrics.signatures.inc({ type: 'snap-revision' });
      const row = {
        snap_id: snap.snapId,
        revision,
        version: y.version,
        type: y.type,
        confinement: y.confinement,
        grade: y.grade,
        base: y.base ?? null,
        architectures: JSON.stringify(y.architectures),
        epoch: JSON.stringify({ read: y.epoch.read, write: y.epoch.write }),
        summary: y.summary ?? '',
        title: y.title ?? '',
        description: y.description ?? '',
        license: y.license ?? '',
        snap_yaml: await readYamlText(ctx, hex, info.size),
        sha3_384: hex,
        size: info.size,
        developer_id: opts.developerId,
        created_at: toDbTime(now),
      };
      try {
        const released = await ctx.db.transaction(async (trx) => {
          const t = trx.withTables<StoreOwnTables>();
          await t.insertInto('store_revisions').values(row).execute();
          await putAssertion(trx, assertion, now);
          return opts.release ? await releaseIn(t, snap, { revision, architectures: y.architectures }, opts.release, null, opts.actor, now) : [];
        });
        committed = true;
        return { revision: toRevision(row), assertion: assertion.toString(), released };
      } catch (err) {
        if (err instanceof ConflictError && attempt < 4) {
          if (await revisionByDigest(db, hex)) throw new ApiError('revision-exists', 'this file was just uploaded by another request', 409);
          continue; // another upload took this revision number
        }
        throw err;
      }
    }
  } finally {
    if (!committed && !(await revisionByDigest(db, hex).catch(() => undefined))) await ctx.blobs.delete(hex).catch(() => false);
  }
}

async function readYamlText(ctx: PlatformContext, hex: string, size: number): Promise<string> {
  const reader = await SquashfsReader.open(new BlobSource(ctx, hex, size));
  try {
    return (await reader.readFile('meta/snap.yaml', 1024 * 1024)).toString('utf8');
  } finally {
    await reader.close();
  }
}

/** Releases a revision to channels (one row per architecture; "all" covers every architecture an arch-specific release does not). */
export async function releaseIn(
  t: StoreDb,
  snap: Snap,
  rev: { revision: number; architectures: readonly string[] },
  channels: readonly Channel[],
  progressive: number | null,
  actor: string,
  now: Date,
): Promise<string[]> {
  const names: string[] = [];
  for (const c of channels) {
    const name = fullChannelName(c);
    const arches = rev.architectures.includes('all') ? ['all'] : rev.architectures;
    if (arches.includes('all')) {
      await t.deleteFrom('store_releases').where('snap_id', '=', snap.snapId).where('track', '=', c.track).where('risk', '=', c.risk).where('branch', '=', c.branch).execute();
    }
    for (const arch of arches) {
      await t.deleteFrom('store_releases').where('snap_id', '=', snap.snapId).where('architecture', '=', arch).where('track', '=', c.track).where('risk', '=', c.risk).where('branch', '=', c.branch).execute();
      await t
        .insertInto('store_releases')
        .values({
          snap_id: snap.snapId,
          architecture: arch,
          track: c.track,
          risk: c.risk,
          branch: c.branch,
          revision: rev.revision,
          progressive_percentage: progressive,
          released_at: toDbTime(now),
          expires_at: c.branch ? toDbTime(new Date(now.getTime() + BRANCH_TTL_MS)) : null,
        })
        .execute();
      await t.insertInto('store_release_history').values({ snap_id: snap.snapId, architecture: arch, channel: name, revision: rev.revision, progressive_percentage: progressive, actor, at: toDbTime(now) }).execute();
    }
    names.push(name);
  }
  return names;
}

export async function closeIn(t: StoreDb, snap: Snap, channels: readonly Channel[], actor: string, now: Date): Promise<string[]> {
  const names: string[] = [];
  for (const c of channels) {
    const name = fullChannelName(c);
    const rows = await t.selectFrom('store_releases').select('architecture').where('snap_id', '=', snap.snapId).where('track', '=', c.track).where('risk', '=', c.risk).where('branch', '=', c.branch).execute();
    await t.deleteFrom('store_releases').where('snap_id', '=', snap.snapId).where('track', '=', c.track).where('risk', '=', c.risk).where('branch', '=', c.branch).execute();
    for (const r of rows) {
      await t.insertInto('store_release_history').values({ snap_id: snap.snapId, architecture: r.architecture, channel: name, revision: null, progressive_percentage: null, actor, at: toDbTime(now) }).execute();
    }
    names.push(name);
  }
  return names;
}
