// The vault's administration, without HTTP: signing keys (generate, import,
// certify, disable), models and their serial policies, factory API keys, the
// signing log (search, export) and system-user assertions. Each change is
// audited with its actor and drops this process's registration caches.
// Callers (the admin routes, the web console, jobs) authorize the brand role
// first (docs/vault.md, Admin API); the rules that depend on more than that
// role (signing as another authority, what a factory operator may read of the
// log) are here.
import {
  AccountKeyType,
  AssertionError,
  SystemUserType,
  TrustDatabase,
  accountKeyInput,
  decode,
  encodeStream,
  formatTimestamp,
  parseRFC3339,
  type Assertion,
} from '../assertions/index.ts';
import { findAssertion, putAssertion, signingChain } from '../platform/assertions/index.ts';
import { getAccount } from '../platform/auth/index.ts';
import { ConflictError, platformView } from '../platform/db/index.ts';
import { hasRole } from '../platform/http/access.ts';
import { KeyCustodyError, signAssertion, type SigningKeyInfo } from '../platform/keys/index.ts';
import { audit, type Actor, type PlatformContext } from '../platform/context.ts';
import { VaultError } from './vault.errors.ts';
import { createApiKey, deleteModel, findModel, insertModel, listApiKeys, listLog, listModels, revokeApiKey, updateModel, type ApiKey, type LogEntry, type LogQuery, type VaultDb, type VaultModel } from './vault.repo.ts';
import type { AddModelInput, CreateApiKeyInput, CreateKeyInput, LogExportInput, LogSearchInput, SystemUserInput, UpdateModelInput } from './vault.schemas.ts';
import { checkTemplate } from './serials.ts';

/** Key custody names of vault keys: vault.<brand>.<name> (custody names allow no "/"). */
export const custodyName = (brandId: string, name: string) => `vault.${brandId}.${name}`;

/** A vault signing key as the admin API shows it: its public part, never the private one. */
export interface VaultKey {
  /** The name within the brand (without the custody prefix). */
  name: string;
  keyId: string;
  bits: number;
  createdAt: Date;
  disabledAt: Date | null;
  /** The public key, encoded as in an account-key body. */
  publicKey: string;
}

/** A page of the signing log, newest first; `nextBefore` asks for the next one. */
export interface LogPage {
  entries: LogEntry[];
  nextBefore: number | null;
}

/** A log export, ready to send or save. */
export interface LogExport {
  contentType: string;
  /** Suggested file name (CSV only). */
  fileName: string | undefined;
  body: string;
}

/** Caches a change must reach at once in this process (the registration service's). */
export interface VaultCaches {
  invalidate(): void;
}

/** The log's columns, in the order of the CSV export. */
const LOG_COLUMNS = ['id', 'brandId', 'model', 'serial', 'deviceKeyId', 'signedAt', 'apiKeyId', 'apiKeyName', 'requestId', 'origin', 'userAgent', 'remodelFrom', 'pending'] as const;

/** The most entries one export holds. */
const EXPORT_MAX = 1_000_000;

function keyView(k: SigningKeyInfo, brandId: string): VaultKey {
  return { name: k.name.slice(custodyName(brandId, '').length), keyId: k.keyId, bits: k.bits, createdAt: k.createdAt, disabledAt: k.disabledAt ?? null, publicKey: k.publicKey.encode() };
}

/** An optional RFC 3339 time of the input, parsed as snapd parses it. */
function timeField(value: string | undefined, what: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = parseRFC3339(value);
  if (!d) throw new VaultError('validation-failed', `${what} must be an RFC 3339 time`);
  return d;
}

function checkPattern(pattern: string | undefined): void {
  if (!pattern) return;
  try {
    new RegExp(pattern);
  } catch (err) {
    throw new VaultError('vault-invalid', `serialPattern: ${(err as Error).message}`);
  }
}

const csvField = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  // Quote everything that could break a row or be read as a formula by a spreadsheet.
  return /[",\n\r]|^[=+\-@\t]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/** The log as CSV: a header row, then one row per entry; formula-like fields quoted. */
export function logCsv(entries: readonly LogEntry[]): string {
  const lines = [LOG_COLUMNS.join(',')];
  for (const e of entries) lines.push(LOG_COLUMNS.map((c) => csvField(c === 'signedAt' ? e.signedAt.toISOString() : e[c])).join(','));
  return lines.join('\n') + '\n';
}

export class VaultAdminService {
  private readonly db: VaultDb;

  constructor(
    private readonly ctx: PlatformContext,
    private readonly caches: VaultCaches,
  ) {
    this.db = ctx.db.kysely.withTables();
  }

  private get pdb() {
    return platformView(this.db);
  }

  // ---- signing keys

  /** The brand's vault keys, each with whether an account-key certifies it here. */
  async listKeys(brandId: string): Promise<(VaultKey & { registered: boolean })[]> {
    const out = [];
    for (const k of await this.brandKeys(brandId)) out.push({ ...keyView(k, brandId), registered: (await findAssertion(this.pdb, 'account-key', [k.keyId])) !== undefined });
    return out;
  }

  /**
   * Generates a key (or imports `pem`) for the brand. It is certified by an
   * uploaded `accountKey`, or else (unless `register` is false) by the root:
   * an account-key valid from an hour before now (or `since`).
   */
  async createKey(actor: Actor, brandId: string, input: CreateKeyInput): Promise<{ key: VaultKey; accountKey: Assertion | undefined }> {
    await getAccount(this.pdb, brandId);
    const name = custodyName(brandId, input.name);
    const key = input.pem
      ? await this.ctx.keys.import(name, input.pem, { accountId: brandId, ...(input.passphrase ? { passphrase: input.passphrase } : {}) })
      : await this.ctx.keys.generate(name, { accountId: brandId });
    let accountKey: Assertion | undefined;
    if (input.accountKey) accountKey = await this.acceptAccountKey(brandId, key, input.accountKey);
    else if (input.register ?? true) {
      const now = this.ctx.now();
      const since = timeField(input.since, 'since') ?? new Date(Math.floor((now.getTime() - 3600_000) / 1000) * 1000);
      const until = timeField(input.until, 'until');
      accountKey = await signAssertion(
        AccountKeyType,
        accountKeyInput({ rootId: this.ctx.root.rootId, accountId: brandId, name: input.name, publicKey: key.publicKey, since, ...(until ? { until } : {}) }),
        this.ctx.root.rootSigner,
        now,
      );
      this.ctx.metrics.signatures.inc({ type: 'account-key' });
      await putAssertion(this.pdb, accountKey, now);
      this.caches.invalidate();
    }
    await audit(this.ctx, actor, { action: 'vault.key.create', target: key.keyId, accountId: brandId, details: { name: input.name, imported: input.pem !== undefined, registered: accountKey !== undefined } });
    return { key: keyView(key, brandId), accountKey };
  }

  /** Certifies a vault key with an account-key signed elsewhere by this server's root. */
  async uploadAccountKey(actor: Actor, brandId: string, name: string, accountKeyText: string): Promise<Assertion> {
    const key = await this.brandKey(brandId, name);
    const a = await this.acceptAccountKey(brandId, key, accountKeyText);
    await audit(this.ctx, actor, { action: 'vault.key.account-key', target: key.keyId, accountId: brandId });
    return a;
  }

  /** Disables a key: it stays listed but signs nothing (other processes within their key cache time). */
  async disableKey(actor: Actor, brandId: string, name: string): Promise<VaultKey> {
    const key = await this.ctx.keys.disable({ keyId: (await this.brandKey(brandId, name)).keyId });
    this.caches.invalidate();
    await audit(this.ctx, actor, { action: 'vault.key.disable', target: key.keyId, accountId: brandId });
    return keyView(key, brandId);
  }

  private async brandKeys(brandId: string): Promise<SigningKeyInfo[]> {
    const prefix = custodyName(brandId, '');
    return (await this.ctx.keys.list()).filter((k) => k.accountId === brandId && k.name.startsWith(prefix));
  }

  private async brandKey(brandId: string, name: string): Promise<SigningKeyInfo> {
    try {
      const k = await this.ctx.keys.get({ name: custodyName(brandId, name) });
      if (k.accountId !== brandId) throw new VaultError('vault-key-not-found', `no vault key ${JSON.stringify(name)} for ${brandId}`);
      return k;
    } catch (err) {
      if (err instanceof KeyCustodyError && err.code === 'key-not-found') throw new VaultError('vault-key-not-found', `no vault key ${JSON.stringify(name)} for ${brandId}`);
      throw err;
    }
  }

  /** A usable (not disabled) key of `accountId` for signing serials. */
  private async signingKey(accountId: string, name: string): Promise<SigningKeyInfo> {
    const key = await this.brandKey(accountId, name);
    if (key.disabledAt) throw new VaultError('vault-invalid', `key ${JSON.stringify(name)} is disabled`);
    return key;
  }

  /** Checks an uploaded account-key against this server's root and stores it. */
  private async acceptAccountKey(brandId: string, key: SigningKeyInfo, text: string): Promise<Assertion> {
    let a: Assertion;
    try {
      a = decode(text);
    } catch (err) {
      if (err instanceof AssertionError) throw new VaultError('vault-invalid', `cannot decode the account-key: ${err.message}`);
      throw err;
    }
    if (a.type !== 'account-key') throw new VaultError('vault-invalid', `expected an account-key, got a ${a.type}`);
    if (a.headerString('account-id') !== brandId) throw new VaultError('vault-invalid', `the account-key is for ${a.headerString('account-id')}, not ${brandId}`);
    if (a.headerString('public-key-sha3-384') !== key.keyId) throw new VaultError('vault-invalid', `the account-key certifies ${a.headerString('public-key-sha3-384')}, not this key (${key.keyId})`);
    const trust = new TrustDatabase({ trusted: this.ctx.root.trusted, now: this.ctx.now });
    const account = await findAssertion(this.pdb, 'account', [brandId]);
    if (account) trust.addEach([account]);
    try {
      trust.check(a);
    } catch (err) {
      if (err instanceof AssertionError) throw new VaultError('vault-invalid', `the account-key does not verify against this server's root: ${err.message}`);
      throw err;
    }
    try {
      await putAssertion(this.pdb, a, this.ctx.now());
    } catch (err) {
      if (!(err instanceof ConflictError || (err instanceof AssertionError && err.code === 'assertion-revision'))) throw err;
    }
    this.caches.invalidate();
    return a;
  }

  // ---- models

  listModels(brandId: string): Promise<VaultModel[]> {
    return listModels(this.db, brandId);
  }

  async getModel(brandId: string, model: string): Promise<VaultModel> {
    const m = await findModel(this.db, brandId, model);
    if (!m) throw new VaultError('vault-model-not-found', `model ${brandId}/${model} is not in the vault`);
    return m;
  }

  /** Lets the vault sign serials for a model, with a key of the brand (or of its serial authority) and a policy. */
  async addModel(actor: Actor, brandId: string, input: AddModelInput): Promise<VaultModel> {
    await getAccount(this.pdb, brandId);
    const authorityId = input.serialAuthority ?? brandId;
    this.checkAuthority(actor, brandId, authorityId);
    const key = await this.signingKey(authorityId, input.key);
    const serialTemplate = input.serialTemplate ?? '{uuid}';
    checkTemplate(serialTemplate);
    checkPattern(input.serialPattern);
    let model: VaultModel;
    try {
      model = await insertModel(
        this.db,
        {
          brandId,
          model: input.model,
          keyId: key.keyId,
          authorityId,
          serialTemplate,
          serialPattern: input.serialPattern ?? '',
          allowProposed: input.allowProposed ?? false,
          duplicates: input.duplicates ?? 'idempotent',
          remodelFrom: input.remodelFrom ?? [],
        },
        this.ctx.now(),
      );
    } catch (err) {
      if (err instanceof ConflictError) throw new VaultError('vault-model-exists', `model ${brandId}/${input.model} is already in the vault`);
      throw err;
    }
    this.caches.invalidate();
    await audit(this.ctx, actor, { action: 'vault.model.add', target: `${brandId}/${input.model}`, accountId: brandId, details: { key: input.key, authorityId } });
    return model;
  }

  /**
   * Changes a model's signing key (key rotation: devices registered before
   * keep their serials as signed) or policy; its counter and log stay. A new
   * serial authority needs a key of that account.
   */
  async updateModel(actor: Actor, brandId: string, model: string, changes: UpdateModelInput): Promise<VaultModel> {
    const current = await this.getModel(brandId, model);
    const authorityId = changes.serialAuthority ?? current.authorityId;
    this.checkAuthority(actor, brandId, authorityId);
    let keyId: string | undefined;
    if (changes.key !== undefined || changes.serialAuthority !== undefined) {
      if (changes.key === undefined) throw new VaultError('vault-invalid', 'a new serialAuthority needs a key of that account');
      keyId = (await this.signingKey(authorityId, changes.key)).keyId;
    }
    if (changes.serialTemplate !== undefined) checkTemplate(changes.serialTemplate);
    checkPattern(changes.serialPattern);
    const updated = await updateModel(this.db, brandId, model, {
      ...(keyId !== undefined ? { keyId, authorityId } : {}),
      ...(changes.serialTemplate !== undefined ? { serialTemplate: changes.serialTemplate } : {}),
      ...(changes.serialPattern !== undefined ? { serialPattern: changes.serialPattern } : {}),
      ...(changes.allowProposed !== undefined ? { allowProposed: changes.allowProposed } : {}),
      ...(changes.duplicates !== undefined ? { duplicates: changes.duplicates } : {}),
      ...(changes.remodelFrom !== undefined ? { remodelFrom: changes.remodelFrom } : {}),
    });
    if (!updated) throw new VaultError('vault-model-not-found', `model ${brandId}/${model} is not in the vault`);
    this.caches.invalidate();
    await audit(this.ctx, actor, { action: 'vault.model.update', target: `${brandId}/${model}`, accountId: brandId, details: { ...changes } });
    return updated;
  }

  /** Stops signing serials for a model; its log stays. */
  async removeModel(actor: Actor, brandId: string, model: string): Promise<void> {
    if (!(await deleteModel(this.db, brandId, model))) throw new VaultError('vault-model-not-found', `model ${brandId}/${model} is not in the vault`);
    this.caches.invalidate();
    await audit(this.ctx, actor, { action: 'vault.model.remove', target: `${brandId}/${model}`, accountId: brandId });
  }

  /** Signing serials as another account than the brand needs the admin role on that account too. */
  private checkAuthority(actor: Actor, brandId: string, authorityId: string): void {
    if (authorityId === brandId) return;
    if (!actor.principal || !hasRole(actor.principal, authorityId, ['admin'])) {
      throw new VaultError('forbidden', `signing serials as ${JSON.stringify(authorityId)} requires the admin role on that account too`);
    }
  }

  // ---- factory API keys

  /** The brand's factory API keys (never their secrets: only their hashes are stored). */
  listApiKeys(brandId: string): Promise<ApiKey[]> {
    return listApiKeys(this.db, brandId);
  }

  /** A new factory API key; its secret is returned here once and never again. */
  async createApiKey(actor: Actor, brandId: string, input: CreateApiKeyInput): Promise<{ apiKey: ApiKey; secret: string }> {
    await getAccount(this.pdb, brandId);
    const validFrom = timeField(input.validFrom, 'validFrom') ?? null;
    const validUntil = timeField(input.validUntil, 'validUntil') ?? null;
    const created = await createApiKey(
      this.db,
      { brandId, name: input.name, models: input.models ?? [], maxSerials: input.maxSerials ?? null, validFrom, validUntil, createdBy: actor.principal?.username ?? 'anonymous' },
      this.ctx.now(),
    );
    await audit(this.ctx, actor, { action: 'vault.api-key.create', target: String(created.apiKey.id), accountId: brandId, details: { name: input.name, models: created.apiKey.models, maxSerials: created.apiKey.maxSerials } });
    return created;
  }

  /** Revokes a factory API key: at once in this process, within a second in others. */
  async revokeApiKey(actor: Actor, brandId: string, id: number): Promise<ApiKey> {
    const apiKey = await revokeApiKey(this.db, brandId, id, this.ctx.now());
    this.caches.invalidate();
    await audit(this.ctx, actor, { action: 'vault.api-key.revoke', target: String(id), accountId: brandId });
    return apiKey;
  }

  // ---- signing log

  /** One page of the brand's signing log, as far as the actor may see it. */
  searchLog(actor: Actor, brandId: string, input: LogSearchInput): Promise<LogPage> {
    return listLog(this.db, brandId, { ...this.logQuery(input), ...this.visibleTo(actor, brandId) });
  }

  /** The whole (filtered) log, as far as the actor may see it, as CSV (the default) or JSON. */
  async exportLog(actor: Actor, brandId: string, input: LogExportInput): Promise<LogExport> {
    const { limit, format, ...filters } = input;
    const max = limit ?? EXPORT_MAX;
    const base = { ...this.logQuery(filters), ...this.visibleTo(actor, brandId) };
    const all: LogEntry[] = [];
    let before: number | undefined;
    while (all.length < max) {
      const page = await listLog(this.db, brandId, { ...base, limit: Math.min(1000, max - all.length), ...(before !== undefined ? { before } : {}) });
      all.push(...page.entries);
      if (page.nextBefore === null) break;
      before = page.nextBefore;
    }
    if (format === 'json') return { contentType: 'application/json', fileName: undefined, body: JSON.stringify(all) };
    return { contentType: 'text/csv; charset=utf-8', fileName: `${brandId}-signing-log.csv`, body: logCsv(all) };
  }

  private logQuery(input: LogSearchInput): LogQuery {
    const since = timeField(input.since, 'since');
    const until = timeField(input.until, 'until');
    return {
      ...(input.model !== undefined ? { model: input.model } : {}),
      ...(input.serial !== undefined ? { serial: input.serial } : {}),
      ...(input.deviceKey !== undefined ? { deviceKey: input.deviceKey } : {}),
      ...(input.apiKey !== undefined ? { apiKeyId: input.apiKey } : {}),
      ...(input.before !== undefined ? { before: input.before } : {}),
      ...(input.limit !== undefined ? { limit: input.limit } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
    };
  }

  /** Brand admins and viewers see the whole log; factory operators what they registered with their own token. */
  private visibleTo(actor: Actor, brandId: string): Partial<LogQuery> {
    const p = actor.principal;
    if (!p) throw new VaultError('unauthorized', 'the signing log needs an authenticated caller');
    return hasRole(p, brandId, ['admin', 'viewer']) ? {} : { apiKeyName: `user:${p.username}` };
  }

  // ---- system-user assertions

  /**
   * Signs a system-user assertion for the brand's models (and optionally
   * serials, format 1), valid from `since` (now) until `until` (or
   * `validHours`, default 24), with the named key or the first model's key.
   * Returned with its signing key's chain, as a device needs it.
   */
  async signSystemUser(actor: Actor, brandId: string, input: SystemUserInput): Promise<{ assertion: Assertion; stream: Buffer }> {
    const now = this.ctx.now();
    const since = timeField(input.since, 'since') ?? new Date(Math.floor(now.getTime() / 1000) * 1000);
    const until = timeField(input.until, 'until') ?? new Date(since.getTime() + (input.validHours ?? 24) * 3600_000);
    let keyId: string;
    if (input.key) keyId = (await this.brandKey(brandId, input.key)).keyId;
    else {
      const m = await findModel(this.db, brandId, input.models[0]!);
      if (!m || m.authorityId !== brandId) throw new VaultError('vault-invalid', `name a key: model ${brandId}/${input.models[0]} has no brand key in the vault`);
      keyId = m.keyId;
    }
    const serials = input.serials ?? [];
    if (serials.length > 0 && input.models.length !== 1) throw new VaultError('vault-invalid', 'serials need exactly one model');
    const signer = await this.ctx.keys.signer({ keyId });
    const assertion = await signAssertion(
      SystemUserType,
      {
        headers: {
          'authority-id': brandId,
          'brand-id': brandId,
          email: input.email,
          series: ['16'],
          models: input.models,
          ...(serials.length > 0 ? { serials, format: '1' } : {}),
          ...(input.name ? { name: input.name } : {}),
          username: input.username,
          ...(input.password ? { password: input.password } : {}),
          ...(input.forcePasswordChange ? { 'force-password-change': 'true' } : {}),
          ...(input.sshKeys?.length ? { 'ssh-keys': input.sshKeys } : {}),
          since: formatTimestamp(since),
          until: formatTimestamp(until),
        },
      },
      signer,
      now,
    );
    this.ctx.metrics.signatures.inc({ type: 'system-user' });
    const chain = await signingChain(this.pdb, [assertion], new Set([this.ctx.root.rootSigner.keyId, this.ctx.root.storeSigner.keyId]));
    await audit(this.ctx, actor, { action: 'vault.system-user.sign', target: input.email, accountId: brandId, details: { username: input.username, models: input.models, serials: serials.length, until: until.toISOString() } });
    return { assertion, stream: encodeStream([assertion, ...chain]) };
  }
}
