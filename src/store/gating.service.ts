// Classic gating (update control, docs/update-control.md): a snap's
// publisher sets `refresh-control` in its snap-declaration (the store signs
// a new revision of it) to name the snaps whose refreshes it gates; snapd
// then refreshes those only to revisions approved by a `validation`
// assertion of the gating snap, signed by its publisher
// (overlord/assertstate/assertstate.go, ValidateRefreshes). The store checks
// and keeps the validations pushed, and serves both to devices.
import { decode, formatTimestamp, SnapDeclarationType, SNAP_SERIES, TrustDatabase, type Assertion, type ValidationData } from '../assertions/index.ts';
import { findAssertion, putAssertion, signingChain } from '../platform/assertions/index.ts';
import { audit, type Actor, type PlatformContext } from '../platform/context.ts';
import { platformView } from '../platform/db/index.ts';
import { hasRole } from '../platform/http/access.ts';
import { signAssertion } from '../platform/keys/index.ts';
import type { Catalog } from './catalog.repo.ts';
import { PUBLISH_ROLES, type PublishingService, type SnapTarget } from './publishing.service.ts';
import { StoreError } from './store.errors.ts';
import type { StoreDb } from './store.repo.ts';

export class GatingService {
  constructor(
    private readonly ctx: PlatformContext,
    private readonly db: StoreDb,
    private readonly catalog: Catalog,
    private readonly publishing: PublishingService,
  ) {}

  /** Sets the snaps (by name in the snap's store, or snap-id) whose refreshes this snap gates: a new revision of its snap-declaration. */
  async setRefreshControl(actor: Actor, target: SnapTarget, snaps: readonly string[]): Promise<{ refreshControl: string[]; assertion: string }> {
    const snap = this.publishing.authorizePublished(actor, target);
    const ids: string[] = [];
    for (const ref of [...new Set(snaps)]) {
      const row = await this.db.selectFrom('store_snaps').select(['snap_id', 'store_id']).where((eb) => eb.or([eb('snap_id', '=', ref), eb('name', '=', ref)])).orderBy('snap_id').execute();
      const pick = row.find((r) => r.store_id === snap.storeId) ?? row[0];
      if (!pick) throw new StoreError('not-found', `no snap ${JSON.stringify(ref)} to gate`);
      if (pick.snap_id === snap.snapId) throw new StoreError('validation-failed', `${snap.name} cannot gate itself`);
      ids.push(pick.snap_id);
    }
    const current = await findAssertion(platformView(this.db), 'snap-declaration', [SNAP_SERIES, snap.snapId]);
    if (!current) throw new StoreError('not-found', `${snap.name} has no snap-declaration`);
    const now = this.ctx.now();
    const headers: Record<string, unknown> = { ...current.headers, revision: String(current.revision + 1), timestamp: formatTimestamp(now) };
    delete headers['type'];
    delete headers['sign-key-sha3-384'];
    delete headers['body-length'];
    if (ids.length) headers['refresh-control'] = ids.sort();
    else delete headers['refresh-control'];
    const a = await signAssertion(SnapDeclarationType, { headers: headers as never }, this.ctx.root.storeSigner, now);
    this.ctx.metrics.signatures.inc({ type: 'snap-declaration' });
    await putAssertion(platformView(this.db), a, now);
    this.catalog.invalidate();
    await audit(this.ctx, actor, { action: 'store.gating.refresh-control', target: snap.name, accountId: snap.publisherId, details: { refreshControl: ids, revision: a.revision } });
    return { refreshControl: ids.sort(), assertion: a.toString() };
  }

  /**
   * A validation (approval or revocation of a gated snap's revision) signed
   * by the gating snap's publisher: checked against both snap-declarations
   * and the publisher's chain, and kept for devices.
   */
  async pushValidation(actor: Actor, accountId: string, text: string): Promise<{ validation: { snapId: string; approvedSnapId: string; approvedRevision: number; revoked: boolean; revision: number } }> {
    const p = actor.principal;
    if (!p) throw new StoreError('unauthorized', 'authentication required');
    if (!hasRole(p, accountId, PUBLISH_ROLES)) throw new StoreError('forbidden', `requires role ${PUBLISH_ROLES.join(' or ')} on account ${JSON.stringify(accountId)}`);
    let a: Assertion;
    try {
      a = decode(text);
    } catch (err) {
      throw new StoreError('validation-invalid', `cannot decode the validation: ${(err as Error).message}`);
    }
    if (a.type !== 'validation') throw new StoreError('validation-invalid', `the assertion is a ${a.type}, not a validation`);
    if (a.authorityId !== accountId) throw new StoreError('validation-invalid', `the validation is signed for ${a.authorityId}, not ${accountId}`);
    const d = a.data as ValidationData;
    const view = platformView(this.db);
    const gating = await findAssertion(view, 'snap-declaration', [d.series, d.snapId]);
    const approved = await findAssertion(view, 'snap-declaration', [d.series, d.approvedSnapId]);
    if (!gating || !approved) throw new StoreError('validation-invalid', `no snap-declaration for ${!gating ? `the gating snap ${d.snapId}` : `the approved snap ${d.approvedSnapId}`}`);
    const decls = [gating, approved];
    const gated = gating.headers['refresh-control'];
    if (!Array.isArray(gated) || !gated.includes(d.approvedSnapId)) throw new StoreError('validation-invalid', `${gating.headerString('snap-name')} does not gate ${approved.headerString('snap-name')}: set its refresh-control first (snapline gate)`);
    const now = this.ctx.now();
    const root = this.ctx.root;
    try {
      const chain = await signingChain(view, [a, ...decls], new Set(root.trusted.filter((t) => t.type === 'account-key').map((t) => t.primaryKey[0]!)));
      const known = (x: Assertion) => root.trusted.some((t) => t.type === x.type && t.primaryKey.join('/') === x.primaryKey.join('/'));
      new TrustDatabase({ trusted: root.trusted, now: () => now }).addBatch([...chain.filter((c) => !known(c)), ...decls, a]);
    } catch (err) {
      throw new StoreError('validation-invalid', `cannot verify the validation: ${(err as Error).message}`);
    }
    const rev = await this.db.selectFrom('store_revisions').select('revision').where('snap_id', '=', d.approvedSnapId).where('revision', '=', d.approvedSnapRevision).executeTakeFirst();
    if (!rev && !d.revoked) throw new StoreError('validation-invalid', `${approved.headerString('snap-name')} has no revision ${d.approvedSnapRevision} in this store`);
    try {
      await putAssertion(view, a, now);
    } catch (err) {
      throw new StoreError('validation-invalid', `cannot keep the validation: ${(err as Error).message} (a revocation or change needs a higher revision)`);
    }
    await audit(this.ctx, actor, { action: d.revoked ? 'store.gating.revoke' : 'store.gating.validate', target: `${d.snapId}/${d.approvedSnapId}/${d.approvedSnapRevision}`, accountId, details: { revision: a.revision } });
    return { validation: { snapId: d.snapId, approvedSnapId: d.approvedSnapId, approvedRevision: d.approvedSnapRevision, revoked: d.revoked, revision: a.revision } };
  }
}
