// Approvals (update control, docs/update-control.md): a brand's admin marks
// channels of its store as controlled; a release to one of them (by anyone
// who may release) becomes a pending request that a user with the `approver`
// role on the brand approves (it is released then, as it was asked) or
// denies. Nobody approves or denies their own request, superusers included.
// Every step is in the audit log.
import { RISKS, fullChannelName, type Channel } from '../channel/channel.ts';
import { audit, type Actor, type PlatformContext } from '../platform/context.ts';
import { hasRole, type Role } from '../platform/http/access.ts';
import { fromDbTime, toDbTime } from '../platform/db/index.ts';
import type { PublishingService, StoreTarget } from './publishing.service.ts';
import { READ_ROLES, STORE_ADMIN_ROLES } from './publishing.service.ts';
import { StoreError } from './store.errors.ts';
import type { Snap, StoreDb } from './store.repo.ts';
import type { ReleaseInput } from './store.schemas.ts';

export const APPROVER_ROLES: readonly Role[] = ['approver'];
/** Who sees a store's controlled channels and requests: its readers and approvers. */
export const APPROVAL_SEE_ROLES: readonly Role[] = [...READ_ROLES, 'approver'];
const TRACK = /^[a-zA-Z0-9](?:[_.-]?[a-zA-Z0-9])*$/;

export interface ReleaseRequest {
  id: number;
  storeId: string;
  snapId: string;
  snap: string | null;
  revision: number;
  channels: string[];
  state: 'pending' | 'approved' | 'denied';
  requestedBy: string;
  requestedAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  reason: string | null;
}

/** Whether a controlled channel entry ("stable": every track's; "2.0/stable": one track's) covers a channel (branches are not controlled). */
export function controls(entry: string, c: Channel): boolean {
  if (c.branch) return false;
  const [a, b] = entry.split('/');
  return b === undefined ? c.risk === a : c.track === a && c.risk === b;
}

/** A controlled channel entry as a brand names it, checked: RISK or TRACK/RISK. */
export function parseControlled(entry: string): string {
  const parts = entry.split('/');
  const risk = parts.at(-1)!;
  if (parts.length > 2 || !(RISKS as readonly string[]).includes(risk) || (parts.length === 2 && !TRACK.test(parts[0]!))) {
    throw new StoreError('validation-failed', `a controlled channel is a risk (${RISKS.join(', ')}) or track/risk, not ${JSON.stringify(entry)}`);
  }
  return entry;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a selected row of store_release_requests (with the snap's name)
const toRequest = (r: any): ReleaseRequest => ({
  id: Number(r.id),
  storeId: r.store_id,
  snapId: r.snap_id,
  snap: r.name ?? null,
  revision: Number(r.revision),
  channels: JSON.parse(r.channels) as string[],
  state: r.state,
  requestedBy: r.requested_by,
  requestedAt: fromDbTime(r.requested_at).toISOString(),
  decidedBy: r.decided_by ?? null,
  decidedAt: r.decided_at ? fromDbTime(r.decided_at).toISOString() : null,
  reason: r.reason ?? null,
});

export class ApprovalService {
  constructor(
    private readonly ctx: PlatformContext,
    private readonly db: StoreDb,
    private readonly publishing: PublishingService,
  ) {
    // A release to controlled channels waits: the publishing service asks here first.
    publishing.approvalGate = (actor, snap, revision, channels, input) => this.gate(actor, snap, revision, channels, input);
    publishing.controlsAny = async (snap, channels) => (await this.controlledAmong(snap, channels)).length > 0;
  }

  async controlledChannels(actor: Actor, target: StoreTarget): Promise<{ channels: string[] }> {
    const store = this.publishing.authorizeStore(actor, target, APPROVAL_SEE_ROLES);
    return { channels: await this.controlledOf(store.storeId) };
  }

  /** Replaces the store's controlled channels (its brand's admins). */
  async setControlledChannels(actor: Actor, target: StoreTarget, channels: readonly string[]): Promise<{ channels: string[] }> {
    const store = this.publishing.authorizeStore(actor, target, STORE_ADMIN_ROLES);
    const list = [...new Set(channels.map(parseControlled))].sort();
    const now = toDbTime(this.ctx.now());
    await this.ctx.db.transaction(async (trx) => {
      const t = trx.withTables<{ store_controlled_channels: { store_id: string; channel: string; created_at: string } }>();
      await t.deleteFrom('store_controlled_channels').where('store_id', '=', store.storeId).execute();
      if (list.length) await t.insertInto('store_controlled_channels').values(list.map((channel) => ({ store_id: store.storeId, channel, created_at: now }))).execute();
    });
    await audit(this.ctx, actor, { action: 'store.approval.channels', target: store.storeId, accountId: store.brandId, details: { channels: list } });
    return { channels: list };
  }

  private async controlledOf(storeId: string): Promise<string[]> {
    return (await this.db.selectFrom('store_controlled_channels').select('channel').where('store_id', '=', storeId).orderBy('channel').execute()).map((r) => r.channel);
  }

  /** Before a release: when a channel is controlled by the snap's store, the release becomes a pending request. */
  /** The channels among `channels` that the snap's store controls. */
  private async controlledAmong(snap: Snap, channels: readonly Channel[]): Promise<Channel[]> {
    const controlled = await this.controlledOf(snap.storeId);
    return channels.filter((c) => controlled.some((e) => controls(e, c)));
  }

  private async gate(actor: Actor, snap: Snap, revision: number, channels: readonly Channel[], input: ReleaseInput): Promise<ReleaseRequest | undefined> {
    const hit = await this.controlledAmong(snap, channels);
    if (hit.length === 0) return undefined;
    const p = actor.principal!;
    const row = await this.db
      .insertInto('store_release_requests')
      .values({
        store_id: snap.storeId,
        snap_id: snap.snapId,
        revision,
        channels: JSON.stringify(channels.map(fullChannelName)),
        body: JSON.stringify(input),
        state: 'pending',
        requested_by: p.username,
        requested_by_user: p.userId,
        requested_at: toDbTime(this.ctx.now()),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const request = await this.byId(Number(row.id));
    await audit(this.ctx, actor, { action: 'store.approval.request', target: `${snap.name}/${revision}`, accountId: snap.publisherId, details: { id: request.id, channels: request.channels, controlled: hit.map(fullChannelName) } });
    return request;
  }

  private async byId(id: number): Promise<ReleaseRequest> {
    const r = Number.isSafeInteger(id) ? await this.db.selectFrom('store_release_requests as q').leftJoin('store_snaps as s', 's.snap_id', 'q.snap_id').selectAll('q').select('s.name').where('q.id', '=', id).executeTakeFirst() : undefined;
    if (!r) throw new StoreError('approval-not-found', `no release request ${id}`);
    return toRequest(r);
  }

  /** A store's release requests, newest first (pending only unless `all`). */
  async list(actor: Actor, target: StoreTarget, opts: { all?: boolean | undefined } = {}): Promise<{ requests: ReleaseRequest[] }> {
    const store = this.publishing.authorizeStore(actor, target, APPROVAL_SEE_ROLES);
    let q = this.db.selectFrom('store_release_requests as q').leftJoin('store_snaps as s', 's.snap_id', 'q.snap_id').selectAll('q').select('s.name').where('q.store_id', '=', store.storeId);
    if (!opts.all) q = q.where('q.state', '=', 'pending');
    return { requests: (await q.orderBy('q.id', 'desc').limit(500).execute()).map(toRequest) };
  }

  /** The store a request belongs to (routes check the caller's role on its brand). */
  async storeOf(id: number): Promise<string> {
    const r = Number.isSafeInteger(id) ? await this.db.selectFrom('store_release_requests').select('store_id').where('id', '=', id).executeTakeFirst() : undefined;
    return r?.store_id ?? '';
  }

  /**
   * Approves (the release is made as it was asked, recorded as the
   * requester's, approved by the caller) or denies a pending request. The
   * requester may not decide it; a decided request cannot be decided again.
   */
  async decide(actor: Actor, target: StoreTarget, id: number, approve: boolean, reason?: string): Promise<{ request: ReleaseRequest; released?: string[] }> {
    const request = await this.byId(id);
    const p = actor.principal;
    if (!p) throw new StoreError('unauthorized', 'authentication required');
    const store = target.store;
    if (!store || store.storeId !== request.storeId || !hasRole(p, store.brandId, APPROVER_ROLES)) throw new StoreError('forbidden', `requires role approver on account ${JSON.stringify(store?.brandId ?? request.storeId)}`);
    const row = await this.db.selectFrom('store_release_requests').select(['requested_by_user', 'body']).where('id', '=', id).executeTakeFirstOrThrow();
    if (row.requested_by_user === p.userId) throw new StoreError('approval-own-request', `release request ${id} is ${p.username}'s own: another approver decides it`);
    const now = this.ctx.now();
    const res = await this.db
      .updateTable('store_release_requests')
      .set({ state: approve ? 'approved' : 'denied', decided_by: p.username, decided_at: toDbTime(now), reason: reason ?? null })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new StoreError('approval-conflict', `release request ${id} is ${request.state} already`);
    let released: string[] | undefined;
    if (approve) released = await this.publishing.releaseApproved(request.snapId, JSON.parse(row.body) as ReleaseInput, `user:${request.requestedBy} approved by user:${p.username}`, now);
    await audit(this.ctx, actor, {
      action: approve ? 'store.approval.approve' : 'store.approval.deny',
      target: `${request.snap ?? request.snapId}/${request.revision}`,
      accountId: store.brandId,
      details: { id, channels: request.channels, requestedBy: request.requestedBy, ...(reason ? { reason } : {}), ...(released ? { released } : {}) },
    });
    return { request: await this.byId(id), ...(released ? { released } : {}) };
  }
}
