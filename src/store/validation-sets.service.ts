// Validation sets in the store (update control, docs/update-control.md): a
// brand pushes a validation-set it signed with its key (snapline
// validation-set create signs locally), or has the server sign it with a
// brand key in the server's custody (the vault's keys); the store checks it
// against the brand's chain, refuses a set that would make a snap one of
// the brand's models requires invalid, a revision pin the store does not
// have, or a sequence point pushed again with other snaps, each with the
// reason; then serves it (GET /v2/assertions, fetch-assertions). Listed by
// the brand's readers, pushed by its publishers; every push in the audit log.
import { decode, ModelType, TrustDatabase, ValidationSetType, formatTimestamp, type Assertion, type ModelData, type ValidationSetData } from '../assertions/index.ts';
import { findAssertion, putAssertion, signingChain } from '../platform/assertions/index.ts';
import { audit, type Actor, type PlatformContext } from '../platform/context.ts';
import { platformView } from '../platform/db/index.ts';
import { hasRole } from '../platform/http/access.ts';
import { signAssertion } from '../platform/keys/index.ts';
import { PUBLISH_ROLES, READ_ROLES } from './publishing.service.ts';
import { StoreError } from './store.errors.ts';
import type { StoreDb } from './store.repo.ts';

/** The name the vault gives a brand key in the server's custody (src/vault: custodyName). */
const custodyName = (brandId: string, name: string) => `vault.${brandId}.${name}`;

export interface ValidationSetView {
  accountId: string;
  name: string;
  sequence: number;
  revision: number;
  snaps: { name: string; id: string; presence: string; revision: number | null }[];
  assertion: string;
}

const view = (a: Assertion): ValidationSetView => {
  const d = a.data as ValidationSetData;
  return { accountId: d.accountId, name: d.name, sequence: d.sequence, revision: a.revision, snaps: d.snaps.map((s) => ({ name: s.name, id: s.snapId, presence: s.presence, revision: s.revision || null })), assertion: a.toString() };
};

/** What a set says about its snaps, comparable between two pushes of a sequence point. */
const content = (d: ValidationSetData) => JSON.stringify(d.snaps.map((s) => [s.snapId, s.name, s.presence, s.revision]).sort());

function authorize(actor: Actor, accountId: string, roles: readonly Parameters<typeof hasRole>[2][number][]): void {
  const p = actor.principal;
  if (!p) throw new StoreError('unauthorized', 'authentication required');
  if (!hasRole(p, accountId, roles)) throw new StoreError('forbidden', `requires role ${roles.join(' or ')} on account ${JSON.stringify(accountId)}`);
}

export class ValidationSetService {
  constructor(
    private readonly ctx: PlatformContext,
    private readonly db: StoreDb,
  ) {}

  /** An account's validation sets, the latest revision of each sequence point, by name and sequence. */
  async list(actor: Actor, accountId: string): Promise<{ validationSets: ValidationSetView[] }> {
    authorize(actor, accountId, READ_ROLES);
    const rows = await this.db.selectFrom('assertions').select(['primary_key', 'encoded', 'revision']).where('type', '=', 'validation-set').where('primary_key', 'like', `%/${accountId.replace(/[%_\\]/g, '')}/%`).execute();
    const latest = new Map<string, { revision: number; encoded: string }>();
    for (const r of rows) {
      const seen = latest.get(r.primary_key);
      if (!seen || Number(r.revision) > seen.revision) latest.set(r.primary_key, { revision: Number(r.revision), encoded: r.encoded });
    }
    const sets = [...latest.values()].map((r) => view(decode(r.encoded))).filter((v) => v.accountId === accountId);
    return { validationSets: sets.sort((a, b) => a.name.localeCompare(b.name) || a.sequence - b.sequence) };
  }

  /**
   * Pushes a validation set: a signed assertion, or headers the server signs
   * with the account's key `key` in its custody. Checked, then stored.
   */
  async push(actor: Actor, accountId: string, input: { assertion?: string | undefined; headers?: object | undefined; key?: string | undefined }): Promise<{ validationSet: ValidationSetView; unchanged: boolean }> {
    authorize(actor, accountId, PUBLISH_ROLES);
    const now = this.ctx.now();
    let a: Assertion;
    if (input.assertion !== undefined) {
      try {
        a = decode(input.assertion);
      } catch (err) {
        throw new StoreError('validation-set-invalid', `cannot decode the validation set: ${(err as Error).message}`);
      }
      if (a.type !== 'validation-set') throw new StoreError('validation-set-invalid', `the assertion is a ${a.type}, not a validation-set`);
      if (a.headerString('account-id') !== accountId) throw new StoreError('validation-set-invalid', `the validation set is account ${a.headerString('account-id')}'s, not ${accountId}'s`);
    } else {
      const headers: Record<string, unknown> = { ...(input.headers ?? {}), 'account-id': accountId };
      if (!input.key) throw new StoreError('validation-failed', 'give a signed assertion, or headers and the name of a key in the server’s custody');
      const key = (await this.ctx.keys.list()).find((k) => k.name === custodyName(accountId, input.key!) && k.accountId === accountId && !k.disabledAt);
      if (!key) throw new StoreError('validation-set-invalid', `account ${accountId} has no usable key ${JSON.stringify(input.key)} in the server's custody`);
      headers['type'] = 'validation-set';
      headers['authority-id'] ??= accountId;
      headers['series'] ??= '16';
      headers['timestamp'] ??= formatTimestamp(now);
      try {
        a = await signAssertion(ValidationSetType, { headers: headers as never }, await this.ctx.keys.signer({ keyId: key.keyId }), now);
      } catch (err) {
        if (err instanceof StoreError) throw err;
        throw new StoreError('validation-set-invalid', `cannot sign the validation set: ${(err as Error).message}`);
      }
    }
    const d = a.data as ValidationSetData;
    await this.verify(a, now);
    const where = `validation set ${d.accountId}/${d.name} sequence ${d.sequence}`;
    const before = await findAssertion(platformView(this.db), 'validation-set', a.primaryKey);
    if (before) {
      if (content(before.data as ValidationSetData) !== content(d)) {
        throw new StoreError('validation-set-conflict', `${where} exists with other snaps (revision ${before.revision}): a sequence point says one thing; push sequence ${(await this.nextSequence(d)).toString()} instead`);
      }
      if (before.revision >= a.revision) return { validationSet: view(before), unchanged: true };
    }
    await this.checkModels(d, where);
    await this.checkRevisions(d, where);
    await putAssertion(platformView(this.db), a, now);
    await audit(this.ctx, actor, { action: 'store.validation-set.push', target: `${d.accountId}/${d.name}/${d.sequence}`, accountId: d.accountId, details: { revision: a.revision, snaps: d.snaps.length, signedBy: input.assertion !== undefined ? 'client' : `server:${input.key}` } });
    return { validationSet: view(a), unchanged: false };
  }

  /** Its signature and the account's chain, up to this server's root. */
  private async verify(a: Assertion, now: Date): Promise<void> {
    const root = this.ctx.root;
    const tdb = new TrustDatabase({ trusted: root.trusted, now: () => now });
    try {
      const chain = await signingChain(platformView(this.db), [a], new Set(root.trusted.filter((t) => t.type === 'account-key').map((t) => t.primaryKey[0]!)));
      tdb.addBatch([...chain.filter((c) => !root.trusted.some((t) => t.type === c.type && t.primaryKey.join('/') === c.primaryKey.join('/'))), a]);
    } catch (err) {
      throw new StoreError('validation-set-invalid', `cannot verify the validation set: ${(err as Error).message}`);
    }
  }

  private async nextSequence(d: ValidationSetData): Promise<number> {
    const prefix = `${d.series}/${d.accountId}/${d.name}/`;
    const rows = await this.db.selectFrom('assertions').select('primary_key').where('type', '=', 'validation-set').where('primary_key', 'like', `${prefix}%`).execute();
    return Math.max(0, ...rows.map((r) => Number(r.primary_key.slice(prefix.length))).filter(Number.isInteger)) + 1;
  }

  /** A set may not make invalid a snap one of the account's models requires. */
  private async checkModels(d: ValidationSetData, where: string): Promise<void> {
    const invalid = d.snaps.filter((s) => s.presence === 'invalid');
    if (invalid.length === 0) return;
    const rows = await this.db.selectFrom('assertions').select(['primary_key', 'encoded']).where('type', '=', 'model').where('primary_key', 'like', `${d.series}/${d.accountId.replace(/[%_\\]/g, '')}/%`).execute();
    for (const r of rows) {
      const m = decode(r.encoded);
      if (m.type !== ModelType.name) continue;
      const md = m.data as ModelData;
      for (const s of [...md.essentialSnaps, ...md.snaps]) {
        if (s.presence === 'optional') continue;
        const hit = invalid.find((i) => (s.snapId !== '' && i.snapId === s.snapId) || i.name === s.name);
        if (hit) throw new StoreError('validation-set-breaks-model', `${where} makes ${hit.name} invalid, which model ${md.brandId}/${md.model} requires: its devices could not satisfy both (mark it optional in the model, or drop it from the set)`);
      }
    }
  }

  /** A pinned revision of a snap this store has must exist in it. */
  private async checkRevisions(d: ValidationSetData, where: string): Promise<void> {
    for (const s of d.snaps.filter((x) => x.revision > 0)) {
      const known = await this.db.selectFrom('store_snaps').select('snap_id').where('snap_id', '=', s.snapId).executeTakeFirst();
      if (!known) continue;
      const rev = await this.db.selectFrom('store_revisions').select('revision').where('snap_id', '=', s.snapId).where('revision', '=', s.revision).executeTakeFirst();
      if (!rev) throw new StoreError('validation-set-invalid', `${where} pins ${s.name} at revision ${s.revision}, which was never uploaded to this store: devices enforcing it could not install it`);
    }
  }
}
