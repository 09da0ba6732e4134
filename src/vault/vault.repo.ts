// The vault's data access: models, factory API keys, request-id nonces and
// the signing log. Functions take a Kysely (or a transaction) over the
// platform's and the vault's tables.
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import { fromDbBool, fromDbJson, fromDbTime, fromDbTimeOrNull, toDbBool, toDbJson, toDbTime, type PlatformTables } from '../platform/db/index.ts';
import type { VaultApiKeysTable, VaultModelsTable, VaultSigningLogTable, VaultTables } from './vault.tables.ts';
import { VaultError } from './vault.errors.ts';

export type VaultDb = Kysely<PlatformTables & VaultTables>;

export const DUPLICATE_POLICIES = ['idempotent', 'refuse', 'new-serial'] as const;
export type DuplicatePolicy = (typeof DUPLICATE_POLICIES)[number];

export interface VaultModel {
  id: number;
  brandId: string;
  model: string;
  keyId: string;
  authorityId: string;
  serialTemplate: string;
  serialPattern: string;
  allowProposed: boolean;
  duplicates: DuplicatePolicy;
  remodelFrom: string[];
  createdAt: Date;
}

export function toModel(r: Selectable<VaultModelsTable>): VaultModel {
  return {
    id: Number(r.id),
    brandId: r.brand_id,
    model: r.model,
    keyId: r.key_id,
    authorityId: r.authority_id,
    serialTemplate: r.serial_template,
    serialPattern: r.serial_pattern,
    allowProposed: fromDbBool(r.allow_proposed),
    duplicates: r.duplicates as DuplicatePolicy,
    remodelFrom: fromDbJson<string[]>(r.remodel_from),
    createdAt: fromDbTime(r.created_at),
  };
}

/** A model as stored, before the database gives it an id and a creation time. */
export type ModelInput = Omit<VaultModel, 'id' | 'createdAt'>;

export async function insertModel(db: VaultDb, m: ModelInput, now: Date): Promise<VaultModel> {
  const row = await db
    .insertInto('vault_models')
    .values({
      brand_id: m.brandId,
      model: m.model,
      key_id: m.keyId,
      authority_id: m.authorityId,
      serial_template: m.serialTemplate,
      serial_pattern: m.serialPattern,
      allow_proposed: toDbBool(m.allowProposed),
      duplicates: m.duplicates,
      remodel_from: toDbJson(m.remodelFrom),
      next_counter: 1,
      created_at: toDbTime(now),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toModel(row);
}

export async function findModel(db: VaultDb, brandId: string, model: string): Promise<VaultModel | undefined> {
  const r = await db.selectFrom('vault_models').selectAll().where('brand_id', '=', brandId).where('model', '=', model).executeTakeFirst();
  return r ? toModel(r) : undefined;
}

export async function listModels(db: VaultDb, brandId: string): Promise<VaultModel[]> {
  return (await db.selectFrom('vault_models').selectAll().where('brand_id', '=', brandId).orderBy('model').execute()).map(toModel);
}

/** Changes a model's key and policies (its counter and log stay). */
export async function updateModel(db: VaultDb, brandId: string, model: string, m: Partial<Omit<ModelInput, 'brandId' | 'model'>>): Promise<VaultModel | undefined> {
  const set = {
    ...(m.keyId !== undefined ? { key_id: m.keyId } : {}),
    ...(m.authorityId !== undefined ? { authority_id: m.authorityId } : {}),
    ...(m.serialTemplate !== undefined ? { serial_template: m.serialTemplate } : {}),
    ...(m.serialPattern !== undefined ? { serial_pattern: m.serialPattern } : {}),
    ...(m.allowProposed !== undefined ? { allow_proposed: toDbBool(m.allowProposed) } : {}),
    ...(m.duplicates !== undefined ? { duplicates: m.duplicates } : {}),
    ...(m.remodelFrom !== undefined ? { remodel_from: toDbJson(m.remodelFrom) } : {}),
  };
  if (Object.keys(set).length > 0) await db.updateTable('vault_models').set(set).where('brand_id', '=', brandId).where('model', '=', model).execute();
  return findModel(db, brandId, model);
}

export async function deleteModel(db: VaultDb, brandId: string, model: string): Promise<boolean> {
  const r = await db.deleteFrom('vault_models').where('brand_id', '=', brandId).where('model', '=', model).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** The next value of the model's serial counter (atomic across processes). */
export async function nextCounter(db: VaultDb, modelId: number): Promise<number> {
  const r = await db
    .updateTable('vault_models')
    .set((eb) => ({ next_counter: eb('next_counter', '+', 1) }))
    .where('id', '=', modelId)
    .returning('next_counter')
    .executeTakeFirstOrThrow();
  return Number(r.next_counter) - 1;
}

// ---- factory API keys

export interface ApiKey {
  id: number;
  brandId: string;
  name: string;
  models: string[];
  maxSerials: number | null;
  usedSerials: number;
  validFrom: Date | null;
  validUntil: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
  createdBy: string;
}

export function toApiKey(r: Selectable<VaultApiKeysTable>): ApiKey {
  return {
    id: Number(r.id),
    brandId: r.brand_id,
    name: r.name,
    models: fromDbJson<string[]>(r.models),
    maxSerials: r.max_serials === null ? null : Number(r.max_serials),
    usedSerials: Number(r.used_serials),
    validFrom: fromDbTimeOrNull(r.valid_from),
    validUntil: fromDbTimeOrNull(r.valid_until),
    revokedAt: fromDbTimeOrNull(r.revoked_at),
    createdAt: fromDbTime(r.created_at),
    createdBy: r.created_by,
  };
}

export const hashApiKey = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

export async function createApiKey(
  db: VaultDb,
  k: { brandId: string; name: string; models: string[]; maxSerials?: number | null; validFrom?: Date | null; validUntil?: Date | null; createdBy: string },
  now: Date,
): Promise<{ apiKey: ApiKey; secret: string }> {
  // 256 random bits: a plain SHA-256 at rest is enough and lets a request find its key by index.
  const secret = `svk_${randomBytes(32).toString('base64url')}`;
  const row = await db
    .insertInto('vault_api_keys')
    .values({
      brand_id: k.brandId,
      name: k.name,
      key_hash: hashApiKey(secret),
      models: toDbJson(k.models),
      max_serials: k.maxSerials ?? null,
      used_serials: 0,
      valid_from: k.validFrom ? toDbTime(k.validFrom) : null,
      valid_until: k.validUntil ? toDbTime(k.validUntil) : null,
      revoked_at: null,
      created_at: toDbTime(now),
      created_by: k.createdBy,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { apiKey: toApiKey(row), secret };
}

export async function findApiKeyBySecret(db: VaultDb, secret: string): Promise<ApiKey | undefined> {
  const r = await db.selectFrom('vault_api_keys').selectAll().where('key_hash', '=', hashApiKey(secret)).executeTakeFirst();
  return r ? toApiKey(r) : undefined;
}

export async function listApiKeys(db: VaultDb, brandId: string): Promise<ApiKey[]> {
  return (await db.selectFrom('vault_api_keys').selectAll().where('brand_id', '=', brandId).orderBy('id').execute()).map(toApiKey);
}

export async function revokeApiKey(db: VaultDb, brandId: string, id: number, now: Date): Promise<ApiKey> {
  await db.updateTable('vault_api_keys').set({ revoked_at: toDbTime(now) }).where('brand_id', '=', brandId).where('id', '=', id).where('revoked_at', 'is', null).execute();
  const r = await db.selectFrom('vault_api_keys').selectAll().where('brand_id', '=', brandId).where('id', '=', id).executeTakeFirst();
  if (!r) throw new VaultError('vault-api-key-not-found', `no API key ${id} for brand ${JSON.stringify(brandId)}`);
  return toApiKey(r);
}

/** Counts one serial against the key's quota; false when the quota is used up. */
export async function takeQuota(db: VaultDb, apiKeyId: number): Promise<boolean> {
  const r = await db
    .updateTable('vault_api_keys')
    .set((eb) => ({ used_serials: eb('used_serials', '+', 1) }))
    .where('id', '=', apiKeyId)
    .where((eb) => eb.or([eb('max_serials', 'is', null), eb('used_serials', '<', eb.ref('max_serials'))]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

// ---- nonces

export interface IssuedNonce {
  nonce: string;
  createdAt: Date;
  expiresAt: Date;
}

/** Stores `count` fresh nonces for one caller in one statement. */
export async function issueNonces(db: VaultDb, apiKeyId: number | null, issuedTo: string, count: number, now: Date, ttlMs: number): Promise<IssuedNonce[]> {
  const expiresAt = new Date(now.getTime() + ttlMs);
  // 256 bits each from the CSPRNG: unpredictable, unlike a time-based generator.
  const issued = Array.from({ length: count }, () => ({ nonce: randomBytes(32).toString('base64url'), createdAt: now, expiresAt }));
  const [created, expires] = [toDbTime(now), toDbTime(expiresAt)];
  await db
    .insertInto('vault_nonces')
    .values(issued.map((n) => ({ nonce: n.nonce, api_key_id: apiKeyId, issued_to: issuedTo, created_at: created, expires_at: expires, used_at: null })))
    .execute();
  return issued;
}

export async function findNonce(db: VaultDb, nonce: string) {
  return db.selectFrom('vault_nonces').selectAll().where('nonce', '=', nonce).executeTakeFirst();
}

/** Marks the nonce used if it is unused and unexpired; false otherwise (another request won). */
export async function consumeNonce(db: VaultDb, nonce: string, now: Date): Promise<boolean> {
  const r = await db
    .updateTable('vault_nonces')
    .set({ used_at: toDbTime(now) })
    .where('nonce', '=', nonce)
    .where('used_at', 'is', null)
    .where('expires_at', '>', toDbTime(now))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function extendNonce(db: VaultDb, nonce: string, until: Date): Promise<void> {
  await db.updateTable('vault_nonces').set({ expires_at: toDbTime(until) }).where('nonce', '=', nonce).where('used_at', 'is', null).execute();
}

/** Deletes nonces that expired before `before`. */
export async function pruneNonces(db: VaultDb, before: Date): Promise<number> {
  const r = await db.deleteFrom('vault_nonces').where('expires_at', '<', toDbTime(before)).executeTakeFirst();
  return Number(r.numDeletedRows);
}

// ---- signing log

export interface LogEntry {
  id: number;
  brandId: string;
  model: string;
  serial: string;
  deviceKeyId: string;
  signedAt: Date;
  apiKeyId: number | null;
  apiKeyName: string;
  requestId: string;
  origin: string;
  userAgent: string;
  remodelFrom: string;
  pending: boolean;
}

export type LogRow = Selectable<VaultSigningLogTable>;

export function toLogEntry(r: LogRow): LogEntry {
  return {
    id: Number(r.id),
    brandId: r.brand_id,
    model: r.model,
    serial: r.serial,
    deviceKeyId: r.device_key_id,
    signedAt: fromDbTime(r.signed_at),
    apiKeyId: r.api_key_id === null ? null : Number(r.api_key_id),
    apiKeyName: r.api_key_name,
    requestId: r.request_id,
    origin: r.origin,
    userAgent: r.user_agent,
    remodelFrom: r.remodel_from,
    pending: r.assertion === null,
  };
}

export interface LogQuery {
  model?: string;
  /** Entries registered under this API key name (or "user:<username>"). */
  apiKeyName?: string;
  serial?: string;
  deviceKey?: string;
  apiKeyId?: number;
  since?: Date;
  until?: Date;
  before?: number;
  limit?: number;
}

/** Log entries of a brand, newest first, keyset-paged on id. */
export async function listLog(db: VaultDb, brandId: string, q: LogQuery): Promise<{ entries: LogEntry[]; nextBefore: number | null }> {
  const limit = q.limit ?? 100;
  let query = db.selectFrom('vault_signing_log').selectAll().where('brand_id', '=', brandId);
  if (q.model !== undefined) query = query.where('model', '=', q.model);
  if (q.serial !== undefined) query = query.where('serial', '=', q.serial);
  if (q.deviceKey !== undefined) query = query.where('device_key_id', '=', q.deviceKey);
  if (q.apiKeyId !== undefined) query = query.where('api_key_id', '=', q.apiKeyId);
  if (q.apiKeyName !== undefined) query = query.where('api_key_name', '=', q.apiKeyName);
  if (q.since !== undefined) query = query.where('signed_at', '>=', toDbTime(q.since));
  if (q.until !== undefined) query = query.where('signed_at', '<', toDbTime(q.until));
  if (q.before !== undefined) query = query.where('id', '<', q.before);
  const rows = await query.orderBy('id', 'desc').limit(limit + 1).execute();
  const entries = rows.slice(0, limit).map(toLogEntry);
  return { entries, nextBefore: rows.length > limit ? entries.at(-1)!.id : null };
}

/**
 * PostgreSQL only: consumes the nonce and inserts the log row in one
 * statement (a data-modifying CTE), so the reservation costs one round trip
 * instead of four (BEGIN, UPDATE, INSERT, COMMIT). Returns undefined when the
 * nonce was not consumable; a unique violation fails the whole statement, so
 * the nonce stays unused. SQLite has no data-modifying CTEs: it uses a
 * transaction, which costs nothing there (no network).
 */
export async function reserveWithNonce(db: VaultDb, v: Insertable<VaultSigningLogTable>, now: Date): Promise<LogRow | undefined> {
  const at = toDbTime(now);
  const r = await sql<LogRow>`
    with n as (
      update vault_nonces set used_at = ${at}
      where nonce = ${v.request_id} and used_at is null and expires_at > ${at}
      returning nonce
    )
    insert into vault_signing_log (brand_id, model, serial, device_key_id, device_key_unique, assertion, signed_at, api_key_id, api_key_name, request_id, origin, user_agent, remodel_from)
    select ${v.brand_id}::text, ${v.model}::text, ${v.serial}::text, ${v.device_key_id}::text, ${v.device_key_unique ?? null}::text, ${v.assertion ?? null}::text, ${v.signed_at}::text,
      ${v.api_key_id ?? null}::bigint, ${v.api_key_name}::text, n.nonce, ${v.origin}::text, ${v.user_agent}::text, ${v.remodel_from}::text
    from n
    returning *`.execute(db);
  return r.rows[0];
}
