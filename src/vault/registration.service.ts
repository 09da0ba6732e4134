// The vault's registration service (no HTTP): request-ids, the checks of a
// serial request in the order the device API documents, serial signing with
// the duplicate policy enforced by the database, remodel, and the caches
// that keep the per-registration cost at one RSA signature plus a few
// queries. device.routes.ts adapts it to snapd's device API.
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import {
  AssertionError,
  SerialType,
  TrustDatabase,
  decodeStream,
  encodeStream,
  formatTimestamp,
  verifySerialRequest,
  type Assertion,
  type ModelData,
  type SerialData,
  type SerialRequestData,
} from '../assertions/index.ts';
import { findAssertion, signingChain } from '../platform/assertions/index.ts';
import { hasRole as authHasRole, resolveToken, type Principal as AuthPrincipal } from '../platform/auth/index.ts';
import { ConflictError, platformView } from '../platform/db/index.ts';
import { KeyCustodyError, signAssertion, type Signer } from '../platform/keys/index.ts';
import type { PlatformContext } from '../platform/context.ts';
import { VaultError } from './vault.errors.ts';
import {
  consumeNonce,
  extendNonce,
  findApiKeyBySecret,
  findModel,
  findNonce,
  issueNonces,
  nextCounter,
  pruneNonces,
  reserveWithNonce,
  takeQuota,
  type ApiKey,
  type LogRow,
  type VaultDb,
  type VaultModel,
} from './vault.repo.ts';
import { TtlCache } from '../platform/cache/ttl-cache.ts';
import { NoncePool } from './nonce-pool.ts';
import { SERIAL_SYNTAX, render, usesCounter } from './serials.ts';
import type { VaultSigningLogTable, VaultTables } from './vault.tables.ts';
import type { Insertable } from 'kysely';
import { fromDbTime, toDbTime } from '../platform/db/index.ts';

/** A serial key stays open this long per process: a disabled key stops signing within it everywhere. */
const KEY_OPEN_MS = 10_000;
/** A reservation without its signature for this long was abandoned (its process stopped). */
const ABANDONED_MS = 30_000;

export interface VaultOptions {
  /** How long a request-id stays valid. */
  nonceTtlMs?: number;
  /** Signatures in flight beyond which serial requests get 202 (poll later). */
  maxPendingSignatures?: number;
  /** Signatures on libuv's pool at once (default: the number of cores). */
  signingConcurrency?: number;
  /** How long API keys, models, key chains and verified models are cached per process. */
  cacheMs?: number;
}

/** Who registers: a factory API key, or a factory operator's token (Authorization: Bearer). */
export interface DeviceCredentials {
  apiKey?: string | undefined;
  bearer?: string | undefined;
}

/** A checked caller of the device API. */
interface Caller {
  apiKey: ApiKey | undefined;
  /** The operator, when a token was used. */
  user: { id: number; name: string; may: (brandId: string) => boolean } | undefined;
  /** Logged as the API key name: the key's name, or "user:<username>". */
  name: string;
  /** Binds request-ids to their caller: "key:<id>" or "user:<id>". */
  owner: string;
}

export interface RegistrationInput extends DeviceCredentials {
  body: Buffer;
  origin: string;
  userAgent: string;
}

/** What the signing log records of a registration, besides the serial itself. */
interface Reservation {
  model: VaultModel;
  deviceKeyId: string;
  keyUnique: string | null;
  caller: Caller;
  requestId: string;
  input: RegistrationInput;
  remodelFrom: string;
  now: Date;
}

export type RegistrationResult = { status: 200; stream: Buffer; serial: string; reused: boolean } | { status: 202; retryAfterSeconds: number };

/**
 * At most `max` signatures on libuv's pool at once: as many as there are
 * cores. More would not sign faster (RSA is CPU-bound) and would leave the
 * event loop fewer CPU shares while it parses, verifies and answers.
 */
class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}
  acquire(): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

/**
 * Device registration: `requestId` then `register`, as snapd's device
 * manager drives them. Throws VaultErrors with the codes of docs/vault.md.
 */
export class RegistrationService {
  readonly db: VaultDb;
  readonly nonceTtlMs: number;
  private readonly maxPending: number;
  private pending = 0;
  private readonly signing: Semaphore;
  private issued = 0;
  private readonly nonces: NoncePool;
  private readonly apiKeys: TtlCache<string, ApiKey | null>;
  private readonly operators: TtlCache<string, AuthPrincipal | null>;
  private readonly models: TtlCache<string, VaultModel | null>;
  private readonly trust: TtlCache<string, TrustDatabase>;
  private readonly verifiedModels: TtlCache<string, true>;
  private readonly chains: TtlCache<string, Assertion[]>;
  private readonly signers: TtlCache<string, Signer>;

  constructor(
    readonly ctx: PlatformContext,
    opts: VaultOptions = {},
  ) {
    this.db = ctx.db.kysely.withTables<VaultTables>();
    this.nonceTtlMs = opts.nonceTtlMs ?? 10 * 60_000;
    this.maxPending = opts.maxPendingSignatures ?? 512;
    this.signing = new Semaphore(opts.signingConcurrency ?? availableParallelism());
    // Other processes' changes show within these TTLs (docs/vault.md); this
    // process's own admin changes at once (invalidate). The per-request
    // lookups are reloaded in the background shortly before they expire, so
    // a busy line never waits for them.
    const ms = opts.cacheMs ?? 1000;
    const hot = { ttlMs: ms, refreshAheadMs: ms / 4 };
    this.apiKeys = new TtlCache(hot);
    this.operators = new TtlCache(hot);
    this.models = new TtlCache(hot);
    this.trust = new TtlCache({ ttlMs: Math.max(ms, 5000) });
    this.verifiedModels = new TtlCache({ ttlMs: 60_000 });
    this.chains = new TtlCache({ ttlMs: Math.max(ms, 5000) });
    this.signers = new TtlCache({ ttlMs: KEY_OPEN_MS });
    // Handed out within a tenth of their validity: a device always has at least 90% of it.
    this.nonces = new NoncePool(Math.min(this.nonceTtlMs / 10, 60_000));
  }

  /** Forgets cached keys, models and chains (after admin changes in this process). */
  invalidate(): void {
    for (const c of [this.apiKeys, this.operators, this.models, this.trust, this.chains, this.signers, this.nonces]) c.clear();
  }

  // ---- request-id

  /** A request-id for the caller (a factory API key or an operator's token), bound to it and single use. */
  async requestId(creds: DeviceCredentials): Promise<{ requestId: string; expiresAt: Date }> {
    const caller = await this.checkCaller(creds);
    const now = this.ctx.now();
    if (++this.issued % 1000 === 0) await pruneNonces(this.db, new Date(now.getTime() - 3600_000));
    const apiKeyId = caller.apiKey?.id ?? null;
    const n = await this.nonces.take(caller.owner, this.ctx.now, (count, at) => issueNonces(this.db, apiKeyId, caller.owner, count, at, this.nonceTtlMs));
    return { requestId: n.nonce, expiresAt: n.expiresAt };
  }

  private async checkCaller(creds: DeviceCredentials): Promise<Caller> {
    if (!creds.apiKey && creds.bearer) {
      const token = creds.bearer;
      const p = await this.operators.through(token, () => resolveToken(platformView(this.db), token, this.ctx.now()).catch(() => null));
      if (!p) throw new VaultError('api-key-invalid', 'invalid, expired or revoked token');
      const may = (brandId: string) => authHasRole(p, brandId, 'factory-operator', 'admin');
      if (!p.superuser && !Object.values(p.roles).some((roles) => roles.includes('factory-operator') || roles.includes('admin'))) {
        throw new VaultError('api-key-forbidden', 'only factory operators and brand admins may register devices with a token');
      }
      return { apiKey: undefined, user: { id: p.userId, name: p.username, may }, name: `user:${p.username}`, owner: `user:${p.userId}` };
    }
    const key = await this.checkApiKey(creds.apiKey);
    return { apiKey: key, user: undefined, name: key.name, owner: `key:${key.id}` };
  }

  private async checkApiKey(secret: string | undefined): Promise<ApiKey> {
    if (!secret) throw new VaultError('api-key-missing', 'missing api-key header: set it in the gadget\'s device-service.headers (or send a factory operator\'s token)');
    const key = await this.apiKeys.through(secret, async () => (await findApiKeyBySecret(this.db, secret)) ?? null);
    if (!key) throw new VaultError('api-key-invalid', 'unknown api-key');
    const now = this.ctx.now();
    if (key.revokedAt) throw new VaultError('api-key-invalid', `api-key ${JSON.stringify(key.name)} was revoked`);
    if (key.validFrom && now < key.validFrom) throw new VaultError('api-key-expired', `api-key ${JSON.stringify(key.name)} is valid from ${key.validFrom.toISOString()}`);
    if (key.validUntil && now >= key.validUntil) throw new VaultError('api-key-expired', `api-key ${JSON.stringify(key.name)} expired at ${key.validUntil.toISOString()}`);
    if (key.maxSerials !== null && key.usedSerials >= key.maxSerials) throw new VaultError('api-key-quota', `api-key ${JSON.stringify(key.name)} has signed its ${key.maxSerials} serials`);
    return key;
  }

  // ---- serial

  /**
   * Checks a serial request (the stream serial-request, model, and on remodel
   * the old serial) and answers the device's serial with its key chain, or
   * 202 when the signing queue is full (the same request succeeds later).
   */
  async register(input: RegistrationInput): Promise<RegistrationResult> {
    // 1. the API key (scope checked once the request names brand and model)
    const caller = await this.checkCaller(input);
    const apiKey = caller.apiKey;

    // 2. the stream: serial-request, model, and on remodel the old serial
    let stream: Assertion[];
    try {
      stream = decodeStream(input.body, { maxAssertions: 3 });
    } catch (err) {
      if (err instanceof AssertionError) throw new VaultError('stream-invalid', `cannot decode the request: ${err.message}`);
      throw err;
    }
    const [request, modelAssertion, oldSerial] = stream;
    if (!request || request.type !== 'serial-request') throw new VaultError('stream-invalid', 'the request must start with a serial-request assertion');
    if (!modelAssertion || modelAssertion.type !== 'model') throw new VaultError('stream-invalid', 'the serial-request must be followed by the model assertion');
    if (oldSerial && oldSerial.type !== 'serial') throw new VaultError('stream-invalid', 'only a serial may follow the model (remodel)');
    const req = request.data as SerialRequestData;

    if (apiKey ? apiKey.brandId !== req.brandId || (apiKey.models.length > 0 && !apiKey.models.includes(req.model)) : !caller.user!.may(req.brandId)) {
      throw new VaultError('api-key-forbidden', `${apiKey ? 'api-key' : 'user'} ${JSON.stringify(apiKey ? apiKey.name : caller.user!.name)} may not register ${req.brandId}/${req.model}`);
    }

    // 3. the serial-request's signature, by the device key it carries
    try {
      verifySerialRequest(request);
    } catch (err) {
      if (err instanceof AssertionError) throw new VaultError('serial-request-bad-signature', `serial-request signature does not verify with its device key: ${err.message}`);
      throw err;
    }

    // 4. the request-id: known, for this API key, unused, unexpired (consumed with the log row)
    await this.checkNonce(req.requestId, caller);

    // 5. brand and model known here, matching the model assertion, which verifies against the brand's keys
    const model = await this.models.through(`${req.brandId}/${req.model}`, async () => (await findModel(this.db, req.brandId, req.model)) ?? null);
    if (!model) throw new VaultError('model-unknown', `the vault does not sign serials for model ${req.brandId}/${req.model}`);
    const md = modelAssertion.data as ModelData;
    if (md.brandId !== req.brandId || md.model !== req.model) {
      throw new VaultError('model-mismatch', `the model assertion is ${md.brandId}/${md.model}, the serial-request asks for ${req.brandId}/${req.model}`);
    }
    await this.verifyModel(modelAssertion);
    if (model.authorityId !== model.brandId && !md.serialAuthority.includes(model.authorityId)) {
      throw new VaultError('model-invalid', `the model does not list ${JSON.stringify(model.authorityId)} in serial-authority`);
    }

    // remodel: the old serial, its signature and its device key
    let remodelFrom = '';
    if (req.originalBrandId || req.originalModel || req.originalSerial || oldSerial) remodelFrom = await this.checkRemodel(request, oldSerial, model);

    // 6. the serial: the existing one for this device key, the proposed one, or a new one
    const deviceKeyId = req.deviceKey.id;
    const keyUnique = model.duplicates === 'new-serial' ? null : deviceKeyId;
    const proposes = req.serial !== '' && model.allowProposed;
    const signsFirst = !proposes && !(apiKey && apiKey.maxSerials !== null);
    // A device key registering again gets its serial (or a refusal). When the
    // serial is signed first (7a), the log's unique index on the device key
    // finds it instead, which spares every new device a read; but not for
    // counted serials, where a re-registration would use up a number.
    if (keyUnique && (!signsFirst || usesCounter(model.serialTemplate))) {
      const existing = await this.existingAnswer(model, req.requestId, request);
      if (existing) return existing;
    }
    if (this.pending >= this.maxPending) {
      // Queued: snapd re-posts the same request in 60 s; keep its request-id alive until then.
      await extendNonce(this.db, req.requestId, new Date(this.ctx.now().getTime() + this.nonceTtlMs));
      return { status: 202, retryAfterSeconds: 60 };
    }
    const proposed = proposes ? this.checkProposed(req.serial, model) : undefined;

    const now = this.ctx.now();
    const reservation = { model, deviceKeyId, keyUnique, caller, requestId: req.requestId, input, remodelFrom, now };
    // 7a. A generated serial is new by construction: sign it, then log it and
    // consume the request-id in one statement (a conflict there is this
    // device key's serial, logged before or by a twin request: it gets that one).
    if (signsFirst) return this.signThenLog(reservation, request);

    // 7b. A proposed serial, or an API key with a quota: reserve the serial
    // first (duplicate policy, request-id, quota: one transaction), so no
    // signature is ever made for a serial that belongs to another device.
    let row: LogRow | undefined;
    for (let attempt = 0; !row; attempt++) {
      const serial = proposed ?? (await this.generate(model, now));
      try {
        row = await this.reserve({ ...reservation, serial, assertion: null });
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        // Who holds it? This device key (a concurrent twin of this request), or another one.
        if (keyUnique) {
          const existing = await this.existingAnswer(model, req.requestId, request);
          if (existing) return existing;
        }
        const holder = await this.db.selectFrom('vault_signing_log').select('device_key_id').where('brand_id', '=', model.brandId).where('model', '=', model.model).where('serial', '=', serial).executeTakeFirst();
        if (holder && proposed !== undefined) throw new VaultError('serial-taken', `serial ${JSON.stringify(serial)} of ${model.brandId}/${model.model} belongs to another device`);
        if (attempt >= 3) throw new VaultError('vault-unavailable', 'could not allocate a unique serial; retry');
      }
    }
    // The cached key's count is stale now; the database holds the truth.
    if (apiKey && apiKey.maxSerials !== null) this.apiKeys.delete(input.apiKey!);
    return this.signReserved(row, model, request);
  }

  private async signThenLog(r: Reservation, request: Assertion): Promise<RegistrationResult> {
    for (let attempt = 0; ; attempt++) {
      const serial = await this.generate(r.model, r.now);
      const signed = await this.signSerial(r.model, serial, request);
      try {
        await this.reserve({ ...r, serial, assertion: signed.toString() });
        return await this.answer(signed, false);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        if (r.keyUnique) {
          const existing = await this.existingAnswer(r.model, r.requestId, request);
          if (existing) return existing;
        }
        // Another device's serial: a generator collision (a reset counter, say); sign a new one.
        if (attempt >= 2) throw new VaultError('vault-unavailable', 'could not allocate a unique serial; retry');
      }
    }
  }

  private async checkNonce(nonce: string, caller: Caller): Promise<void> {
    // Handed out by this process to this caller and still valid: known good
    // without a read (it is consumed with the log row, atomically, in any case).
    const mine = this.nonces.claim(nonce);
    if (mine && mine.owner === caller.owner && mine.expiresAt > this.ctx.now()) return;
    const n = await findNonce(this.db, nonce);
    if (!n || n.issued_to !== caller.owner) throw new VaultError('request-id-unknown', 'request-id was not issued by this vault to this caller');
    if (n.used_at !== null) throw new VaultError('request-id-used', 'request-id was already used: ask for a new one');
    if (n.expires_at <= toDbTime(this.ctx.now())) throw new VaultError('request-id-expired', 'request-id expired: ask for a new one');
  }

  private async verifyModel(model: Assertion): Promise<void> {
    const digest = createHash('sha256').update(model.encode()).digest('base64url');
    if (this.verifiedModels.get(digest)) return;
    const brandId = (model.data as ModelData).brandId;
    const trust = await this.trustFor(brandId);
    try {
      trust.check(model);
    } catch (err) {
      if (err instanceof AssertionError) throw new VaultError('model-invalid', `the model assertion does not verify against the brand's keys: ${err.message}`);
      throw err;
    }
    this.verifiedModels.set(digest, true);
  }

  /** The root plus the brand's account and account-keys, checked. */
  private trustFor(brandId: string): Promise<TrustDatabase> | TrustDatabase {
    return this.trust.through(brandId, async () => {
      const trust = new TrustDatabase({ trusted: this.ctx.root.trusted, now: this.ctx.now });
      const db = platformView(this.db);
      const rows = await db.selectFrom('assertions').select(['primary_key', 'revision', 'encoded']).where('type', '=', 'account-key').orderBy('revision', 'desc').execute();
      const keys = decodeStream(rows.map((r) => r.encoded).join('\n')).filter((a) => a.headerString('account-id') === brandId);
      const account = await findAssertion(db, 'account', [brandId]);
      trust.addEach([...(account ? [account] : []), ...keys]);
      return trust;
    });
  }

  private async checkRemodel(request: Assertion, oldSerial: Assertion | undefined, target: VaultModel): Promise<string> {
    const req = request.data as SerialRequestData;
    if (!req.originalBrandId || !req.originalModel || !req.originalSerial) throw new VaultError('remodel-invalid', 'a remodel needs original-brand-id, original-model and original-serial');
    if (!oldSerial) throw new VaultError('remodel-invalid', 'a remodel request must carry the old serial after the model');
    const old = oldSerial.data as SerialData;
    if (old.brandId !== req.originalBrandId || old.model !== req.originalModel || old.serial !== req.originalSerial) {
      throw new VaultError('remodel-invalid', `the old serial is ${old.brandId}/${old.model}/${old.serial}, the request says ${req.originalBrandId}/${req.originalModel}/${req.originalSerial}`);
    }
    if (old.deviceKeyId !== req.deviceKey.id) throw new VaultError('remodel-invalid', 'the old serial was issued to another device key');
    const trust = await this.trustFor(old.brandId);
    try {
      trust.check(oldSerial);
    } catch (err) {
      if (err instanceof AssertionError) throw new VaultError('remodel-invalid', `the old serial does not verify: ${err.message}`);
      throw err;
    }
    const from = `${old.brandId}/${old.model}`;
    if (!target.remodelFrom.includes(from)) throw new VaultError('remodel-forbidden', `${target.brandId}/${target.model} does not accept devices remodelled from ${from}`);
    return `${from}/${old.serial}`;
  }

  private checkProposed(serial: string, model: VaultModel): string {
    if (!SERIAL_SYNTAX.test(serial)) throw new VaultError('serial-invalid', `proposed serial ${JSON.stringify(serial)} is not allowed: use up to 128 of [A-Za-z0-9._:+=@~-]`);
    if (model.serialPattern && !new RegExp(`^(?:${model.serialPattern})$`).test(serial)) {
      throw new VaultError('serial-invalid', `proposed serial ${JSON.stringify(serial)} does not match the model's pattern`);
    }
    return serial;
  }

  private async generate(model: VaultModel, now: Date): Promise<string> {
    const counter = usesCounter(model.serialTemplate) ? await nextCounter(this.db, model.id) : 0;
    return render(model.serialTemplate, counter, now);
  }

  private async existingFor(model: VaultModel, deviceKeyId: string): Promise<LogRow | undefined> {
    return this.db.selectFrom('vault_signing_log').selectAll().where('brand_id', '=', model.brandId).where('model', '=', model.model).where('device_key_unique', '=', deviceKeyId).executeTakeFirst();
  }

  /** The answer for a device key that already has a serial of this model, if it has one. */
  private async existingAnswer(model: VaultModel, requestId: string, request: Assertion): Promise<RegistrationResult | undefined> {
    const existing = await this.existingFor(model, (request.data as SerialRequestData).deviceKey.id);
    return existing && this.answerExisting(existing, model, requestId, request);
  }

  /** A serial as the device gets it: the serial, then its signing key's chain. */
  private async answer(serial: Assertion, reused: boolean): Promise<RegistrationResult> {
    return { status: 200, stream: encodeStream([serial, ...(await this.chainFor(serial))]), serial: serial.headerString('serial'), reused };
  }

  /** A device key registering again: its serial (idempotent), a refusal, or "poll" while its twin signs. */
  private async answerExisting(row: LogRow, model: VaultModel, requestId: string, request: Assertion): Promise<RegistrationResult> {
    if (row.assertion === null) {
      // A twin request is signing it (poll again), or a process stopped
      // between reservation and signature: then this device key, whose
      // serial it is, completes it.
      if (this.ctx.now().getTime() - fromDbTime(row.signed_at).getTime() < ABANDONED_MS) return { status: 202, retryAfterSeconds: 60 };
      if (!(await consumeNonce(this.db, requestId, this.ctx.now()))) throw await this.nonceRefusal(requestId);
      return this.signReserved(row, model, request);
    }
    if (model.duplicates === 'refuse') throw new VaultError('device-registered', `this device key already has serial ${JSON.stringify(row.serial)} of ${model.brandId}/${model.model}`);
    if (!(await consumeNonce(this.db, requestId, this.ctx.now()))) throw await this.nonceRefusal(requestId);
    return this.answer(decodeStream(row.assertion)[0]!, true);
  }

  /** Logs the serial (signed, or reserved to be signed) and consumes the request-id, atomically. */
  private async reserve(r: Reservation & { serial: string; assertion: string | null }): Promise<LogRow> {
    const values: Insertable<VaultSigningLogTable> = {
      brand_id: r.model.brandId,
      model: r.model.model,
      serial: r.serial,
      device_key_id: r.deviceKeyId,
      device_key_unique: r.keyUnique,
      assertion: r.assertion,
      signed_at: toDbTime(r.now),
      api_key_id: r.caller.apiKey?.id ?? null,
      api_key_name: r.caller.name,
      request_id: r.requestId,
      origin: r.input.origin.slice(0, 200),
      user_agent: r.input.userAgent.slice(0, 500),
      remodel_from: r.remodelFrom,
    };
    const quota = r.caller.apiKey && r.caller.apiKey.maxSerials !== null ? r.caller.apiKey : undefined;
    if (this.ctx.db.engine === 'postgres' && !quota) {
      // One statement, one round trip: the nonce is consumed only if the row goes in.
      const row = await reserveWithNonce(this.db, values, r.now);
      if (!row) throw await this.nonceRefusal(r.requestId);
      return row;
    }
    const row = await this.ctx.db.transaction(async (t) => {
      const trx = t.withTables<VaultTables>();
      if (!(await consumeNonce(trx, r.requestId, r.now))) return undefined;
      if (quota && !(await takeQuota(trx, quota.id))) throw new VaultError('api-key-quota', `api-key ${JSON.stringify(quota.name)} has signed its ${quota.maxSerials} serials`);
      return trx.insertInto('vault_signing_log').values(values).returningAll().executeTakeFirstOrThrow();
    });
    if (!row) throw await this.nonceRefusal(r.requestId);
    return row;
  }

  /**
   * Why a request-id checked good could not be consumed with the log row: a
   * twin request used it, or it expired meanwhile (while the serial was
   * signed, say). Read only on this failure path.
   */
  private async nonceRefusal(requestId: string): Promise<VaultError> {
    const n = await findNonce(this.db, requestId);
    if (n && n.used_at === null && n.expires_at <= toDbTime(this.ctx.now())) return new VaultError('request-id-expired', 'request-id expired: ask for a new one');
    return new VaultError('request-id-used', 'request-id was already used: ask for a new one');
  }

  private async signReserved(row: LogRow, model: VaultModel, request: Assertion): Promise<RegistrationResult> {
    let serial: Assertion;
    try {
      serial = await this.signSerial(model, row.serial, request);
    } catch (err) {
      // Give the serial back: the device retries from a new request-id (503).
      await this.db.deleteFrom('vault_signing_log').where('id', '=', row.id).where('assertion', 'is', null).execute().catch(() => undefined);
      throw err;
    }
    await this.db.updateTable('vault_signing_log').set({ assertion: serial.toString() }).where('id', '=', row.id).execute();
    return this.answer(serial, false);
  }

  /** The serial assertion for the device key of `request`, signed with the model's key on libuv's pool. */
  private async signSerial(model: VaultModel, serial: string, request: Assertion): Promise<Assertion> {
    this.pending++;
    try {
      const signer = await this.signers.through(model.keyId, () => this.ctx.keys.signer({ keyId: model.keyId }, { keepOpenMs: KEY_OPEN_MS }));
      await this.signing.acquire();
      const now = this.ctx.now();
      const signed = await signAssertion(
        SerialType,
        {
          headers: {
            'authority-id': model.authorityId,
            'brand-id': model.brandId,
            model: model.model,
            serial,
            'device-key': request.headerString('device-key'),
            'device-key-sha3-384': (request.data as SerialRequestData).deviceKey.id,
            timestamp: formatTimestamp(now),
          },
          ...(request.body ? { body: request.body } : {}),
        },
        signer,
        now,
      ).finally(() => this.signing.release());
      this.ctx.metrics.signatures.inc({ type: 'serial' });
      return signed;
    } catch (err) {
      this.signers.clear();
      if (err instanceof KeyCustodyError) throw new VaultError('key-unusable', `the model's signing key cannot sign: ${err.message}`, { cause: err });
      throw err;
    } finally {
      this.pending--;
    }
  }

  /** The account-key chain of a serial's signing key up to (not including) the root. */
  private chainFor(serial: Assertion): Promise<Assertion[]> | Assertion[] {
    return this.chains.through(serial.signKeyId, () => signingChain(platformView(this.db), [serial], new Set([this.ctx.root.rootSigner.keyId, this.ctx.root.storeSigner.keyId])));
  }
}
