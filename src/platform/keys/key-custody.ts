// Key custody: the server's signing keys (root, store, brand keys) kept in
// the database, sealed under a master key, and opened in memory only for the
// moment of a signature; or, with a PKCS#11 token, generated and kept in the
// token, the database row holding only the public part and the token's name.
import { createPrivateKey } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { PrivateKey, PublicKey, signWithRawRsa } from '../../assertions/index.ts';
import { ConflictError } from '../db/errors.ts';
import { fromDbTime, fromDbTimeOrNull, toDbTime } from '../db/values.ts';
import { KeyCustodyError } from './errors.ts';
import type { PlatformTables } from '../db/platform.tables.ts';
import type { SigningKeysTable } from './keys.tables.ts';
import type { MasterKeyRing } from './master-key.ts';
import { openSealedKey, sealKey, type SealedKey } from './sealed-key.ts';
import type { Signer } from './signer.ts';
import type { Pkcs11Token, TokenKey } from './pkcs11-token.ts';

/** snapd signs with RSA keys of at least this size; smaller ones are refused on import. */
export const MIN_KEY_BITS = 4096;

const KEY_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/;

/**
 * master_key_id of a row whose private key is in a PKCS#11 token (followed by
 * the token label); its iv, ciphertext and auth_tag are empty.
 */
export const TOKEN_KEY_PREFIX = 'pkcs11:';
/** master_key_id of a row holding only a public key: the private key is offline (the root key after an offline root ceremony). */
export const OFFLINE_KEY = 'offline';

/** Where a stored key's private part is. */
export function keyCustodyOf(info: Pick<SigningKeyInfo, 'masterKeyId'>): 'database' | 'pkcs11' | 'offline' {
  return info.masterKeyId === OFFLINE_KEY ? 'offline' : info.masterKeyId.startsWith(TOKEN_KEY_PREFIX) ? 'pkcs11' : 'database';
}

export interface KeyCustodyOptions {
  /** Generate and import keys in this token instead of sealing them in the database. */
  token?: Pkcs11Token;
}

/** A stored signing key, without its private part. */
export interface SigningKeyInfo {
  keyId: string;
  name: string;
  accountId: string | null;
  publicKey: PublicKey;
  bits: number;
  masterKeyId: string;
  createdAt: Date;
  disabledAt: Date | null;
}

/** Names a stored key by its name or its snapd key id. */
export type KeyRef = { name: string } | { keyId: string };

export interface AddKeyOptions {
  /** The account the key signs for (root id, brand id). */
  accountId?: string;
}

/** How a Signer handles the clear key. */
export interface SignerOptions {
  /**
   * Keep the opened key in memory (inside OpenSSL's key object) for this long
   * instead of opening it for every signature: for hot keys that sign many
   * times a second (the vault's serial keys). 0, the default: open per signature.
   */
  keepOpenMs?: number;
}

/** Outcome of a master key rotation run. */
export interface RotationResult {
  /** Rows re-sealed under the current master key by this run. */
  resealed: number;
}

type KeyRow = Selectable<SigningKeysTable>;

/** Signing keys sealed in the database; see docs/platform.md, "Key custody". */
export class KeyCustody {
  constructor(
    private readonly db: Kysely<PlatformTables>,
    private readonly masterKeys: MasterKeyRing,
    private readonly now: () => Date = () => new Date(),
    private readonly options: KeyCustodyOptions = {},
  ) {}

  /** The PKCS#11 token new keys go to, if any. */
  get token(): Pkcs11Token | undefined {
    return this.options.token;
  }

  /** Generates an RSA key (4096 bits), off the event loop, and stores it sealed (or in the token, which never lets it out). */
  async generate(name: string, options: AddKeyOptions = {}): Promise<SigningKeyInfo> {
    checkName(name);
    const token = this.options.token;
    if (token) {
      await this.checkFree(name);
      return this.storeInToken(token, name, await token.generate(name, MIN_KEY_BITS), options);
    }
    return this.store(name, await PrivateKey.generateAsync(MIN_KEY_BITS), options);
  }

  /**
   * Records a public key whose private part this server does not hold (the
   * root key of an offline root ceremony): listed and usable as a key id, but
   * its signer refuses to sign with key-not-found, explaining why.
   */
  async addOfflineKey(name: string, publicKey: PublicKey, options: AddKeyOptions = {}): Promise<SigningKeyInfo> {
    checkName(name);
    return this.insert(this.publicRow(name, publicKey, OFFLINE_KEY, options));
  }

  /** Stores an existing private key given as PEM (PKCS#1 or PKCS#8, optionally passphrase-encrypted). */
  async import(name: string, pem: string | Buffer, options: AddKeyOptions & { passphrase?: string } = {}): Promise<SigningKeyInfo> {
    checkName(name);
    let key: PrivateKey;
    try {
      key = PrivateKey.fromPem(pem, options.passphrase);
    } catch (err) {
      throw new KeyCustodyError('key-invalid', `cannot import key ${JSON.stringify(name)}: ${(err as Error).message}`, { cause: err });
    }
    if (key.publicKey.bits < MIN_KEY_BITS) {
      throw new KeyCustodyError('key-invalid', `cannot import key ${JSON.stringify(name)}: ${key.publicKey.bits}-bit RSA, at least ${MIN_KEY_BITS} bits are needed`);
    }
    const token = this.options.token;
    if (token) {
      await this.checkFree(name, key.id);
      return this.storeInToken(token, name, token.importKey(name, key), options);
    }
    return this.store(name, key, options);
  }

  /** key-exists early, before a key is made in the token only to be destroyed. */
  private async checkFree(name: string, keyId?: string): Promise<void> {
    const query = this.db.selectFrom('signing_keys').select('key_id');
    const row = await (keyId === undefined ? query.where('name', '=', name) : query.where((eb) => eb.or([eb('name', '=', name), eb('key_id', '=', keyId)]))).executeTakeFirst();
    if (row) throw new KeyCustodyError('key-exists', `a key named ${JSON.stringify(name)}${keyId ? ` or the key ${keyId}` : ''} is already stored`);
  }

  /** The row of a key made in (or imported into) the token; the token's objects are removed if the row cannot be written. */
  private async storeInToken(token: Pkcs11Token, name: string, key: TokenKey, options: AddKeyOptions): Promise<SigningKeyInfo> {
    try {
      return await this.insert(this.publicRow(name, key.publicKey, TOKEN_KEY_PREFIX + token.label, options));
    } catch (err) {
      token.destroy(key);
      throw err;
    }
  }

  private publicRow(name: string, publicKey: PublicKey, marker: string, options: AddKeyOptions): KeyRow {
    return {
      key_id: publicKey.id,
      name,
      account_id: options.accountId ?? null,
      public_key: publicKey.encode(),
      bits: publicKey.bits,
      master_key_id: marker,
      iv: '',
      ciphertext: '',
      auth_tag: '',
      created_at: toDbTime(this.now()),
      disabled_at: null,
    };
  }

  private async store(name: string, key: PrivateKey, options: AddKeyOptions): Promise<SigningKeyInfo> {
    const der = key.key.export({ type: 'pkcs8', format: 'der' });
    let sealed: SealedKey;
    try {
      sealed = sealKey(this.masterKeys, key.id, der);
    } finally {
      der.fill(0);
    }
    const row: KeyRow = {
      key_id: key.id,
      name,
      account_id: options.accountId ?? null,
      public_key: key.publicKey.encode(),
      bits: key.publicKey.bits,
      master_key_id: sealed.masterKeyId,
      iv: sealed.iv,
      ciphertext: sealed.ciphertext,
      auth_tag: sealed.authTag,
      created_at: toDbTime(this.now()),
      disabled_at: null,
    };
    return this.insert(row);
  }

  private async insert(row: KeyRow): Promise<SigningKeyInfo> {
    try {
      await this.db.insertInto('signing_keys').values(row).execute();
    } catch (err) {
      if (err instanceof ConflictError) {
        throw new KeyCustodyError('key-exists', `a key named ${JSON.stringify(row.name)} or the key ${row.key_id} is already stored`, { cause: err });
      }
      throw err;
    }
    return toInfo(row);
  }

  /** Every stored key, disabled ones included, by name. */
  async list(): Promise<SigningKeyInfo[]> {
    const rows = await this.db.selectFrom('signing_keys').selectAll().orderBy('name').execute();
    return rows.map(toInfo);
  }

  /** One key's info; key-not-found when there is none. */
  async get(ref: KeyRef): Promise<SigningKeyInfo> {
    return toInfo(await this.row(ref));
  }

  /**
   * A Signer for the key. Each signature re-reads the row and opens the key
   * for that signature only, so disabling takes effect at once and the clear
   * key never outlives the call; unless `keepOpenMs` is given (see SignerOptions).
   */
  async signer(ref: KeyRef, options: SignerOptions = {}): Promise<Signer> {
    const row = await this.row(ref);
    if (row.disabled_at !== null) throw disabled(row);
    const keyId = row.key_id;
    const publicKey = PublicKey.decode(row.public_key);
    const keepOpenMs = options.keepOpenMs ?? 0;
    if (row.master_key_id === OFFLINE_KEY) return { keyId, publicKey, sign: () => Promise.reject(offline(row)) };
    if (row.master_key_id.startsWith(TOKEN_KEY_PREFIX)) return this.tokenSigner(row, publicKey, keepOpenMs);
    // selfChecking: openKey checks the key against keyId; OpenSSL checks each signature.
    if (keepOpenMs <= 0) return { keyId, publicKey, selfChecking: true, sign: async (content, when) => (await this.openKey(keyId)).signAsync(content, when) };
    // Opened at most once per keepOpenMs (each opening re-reads the row, so a
    // disable takes effect within that time). Opening costs a query, an
    // AES-GCM open and a PKCS#8 parse on the event loop, and a fresh OpenSSL
    // key object adds about a third to the RSA work of its first signature.
    let open: { key: Promise<PrivateKey>; until: number } | undefined;
    return {
      keyId,
      publicKey,
      selfChecking: true,
      sign: async (content, when) => {
        const now = Date.now();
        if (!open || open.until <= now) {
          const key = this.openKey(keyId);
          open = { key, until: now + keepOpenMs };
          key.catch(() => {
            if (open?.key === key) open = undefined;
          });
        }
        return (await open.key).signAsync(content, when);
      },
    };
  }

  /**
   * A Signer over a key in the token: the token signs (CKM_SHA512_RSA_PKCS) and
   * each signature is verified before use (selfChecking false). The row is
   * re-read for each signature, or at most once per keepOpenMs, so a disable
   * takes effect as for sealed keys.
   */
  private tokenSigner(row: KeyRow, publicKey: PublicKey, keepOpenMs: number): Signer {
    const label = row.master_key_id.slice(TOKEN_KEY_PREFIX.length);
    const token = this.options.token;
    if (!token || token.label !== label) {
      throw new KeyCustodyError(
        'key-unusable',
        `signing key ${JSON.stringify(row.name)} (${row.key_id}) is in PKCS#11 token ${JSON.stringify(label)}, ` +
          (token ? `but this server uses token ${JSON.stringify(token.label)}` : 'but this server runs with database key custody: configure keys.custody pkcs11 with that token'),
      );
    }
    const keyId = row.key_id;
    const find = (): TokenKey => {
      const key = token.find(keyId);
      if (!key) throw new KeyCustodyError('key-not-found', `signing key ${JSON.stringify(row.name)} (${keyId}) is not in PKCS#11 token ${JSON.stringify(label)}`);
      // The key id is computed from the public key read from the token.
      if (key.publicKey.id !== keyId) throw new KeyCustodyError('key-unusable', `the token's object with id ${keyId} holds another key (${key.publicKey.id})`);
      return key;
    };
    let key = find();
    let checkedUntil = Date.now() + keepOpenMs;
    return {
      keyId,
      publicKey,
      selfChecking: false,
      sign: async (content, when) => {
        if (keepOpenMs <= 0 || checkedUntil <= Date.now()) {
          const current = await this.row({ keyId });
          if (current.disabled_at !== null) throw disabled(current);
          key = find();
          checkedUntil = Date.now() + keepOpenMs;
        }
        const k = key;
        return signWithRawRsa(content, when, (signed) => token.sign(k, signed));
      },
    };
  }

  /** Disables a key: it stays listed (its public part is still needed) but signs nothing. */
  async disable(ref: KeyRef): Promise<SigningKeyInfo> {
    const row = await this.row(ref);
    if (row.disabled_at === null) {
      const at = toDbTime(this.now());
      await this.db.updateTable('signing_keys').set({ disabled_at: at }).where('key_id', '=', row.key_id).where('disabled_at', 'is', null).execute();
    }
    return this.get({ keyId: row.key_id });
  }

  /**
   * Re-seals, in batches of `batchSize` rows per transaction, every key not
   * sealed under the current master key. Safe to run while keys are in use
   * and from several processes at once (each row is updated only if it is
   * still sealed as read); safe to re-run after an interruption.
   */
  async rotate(options: { batchSize?: number } = {}): Promise<RotationResult> {
    const batchSize = options.batchSize ?? 100;
    const current = this.masterKeys.current.id;
    let resealed = 0;
    // Rows this run could not update (another process re-sealed them first) are skipped by key id.
    let after = '';
    while (true) {
      const batch = await this.db.transaction().execute(async (trx) => {
        const rows = await trx
          .selectFrom('signing_keys')
          .select(['key_id', 'master_key_id', 'iv', 'ciphertext', 'auth_tag'])
          .where('master_key_id', '<>', current)
          .where('master_key_id', 'not like', `${TOKEN_KEY_PREFIX}%`)
          .where('master_key_id', '<>', OFFLINE_KEY)
          .where('key_id', '>', after)
          .orderBy('key_id')
          .limit(batchSize)
          .execute();
        let updated = 0;
        for (const row of rows) {
          const secret = openSealedKey(this.masterKeys, row.key_id, fromRow(row));
          let sealed: SealedKey;
          try {
            sealed = sealKey(this.masterKeys, row.key_id, secret);
          } finally {
            secret.fill(0);
          }
          const result = await trx
            .updateTable('signing_keys')
            .set({ master_key_id: sealed.masterKeyId, iv: sealed.iv, ciphertext: sealed.ciphertext, auth_tag: sealed.authTag })
            .where('key_id', '=', row.key_id)
            .where('master_key_id', '=', row.master_key_id)
            .where('ciphertext', '=', row.ciphertext)
            .executeTakeFirst();
          updated += Number(result.numUpdatedRows);
        }
        return { count: rows.length, last: rows.at(-1)?.key_id, updated };
      });
      resealed += batch.updated;
      if (batch.last === undefined || batch.count < batchSize) return { resealed };
      after = batch.last;
    }
  }

  /** How many stored keys each master key seals: rotation is done when only the current one is left. Keys in a token or offline are not counted. */
  async countByMasterKey(): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('signing_keys')
      .select((eb) => ['master_key_id', eb.fn.countAll<number>().as('n')])
      .where('master_key_id', 'not like', `${TOKEN_KEY_PREFIX}%`)
      .where('master_key_id', '<>', OFFLINE_KEY)
      .groupBy('master_key_id')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.master_key_id, Number(r.n)]));
  }

  private async row(ref: KeyRef): Promise<KeyRow> {
    const query = this.db.selectFrom('signing_keys').selectAll();
    const row = await ('keyId' in ref ? query.where('key_id', '=', ref.keyId) : query.where('name', '=', ref.name)).executeTakeFirst();
    if (!row) throw new KeyCustodyError('key-not-found', `no signing key ${'keyId' in ref ? ref.keyId : JSON.stringify(ref.name)}`);
    return row;
  }

  private async openKey(keyId: string): Promise<PrivateKey> {
    const row = await this.row({ keyId });
    if (row.disabled_at !== null) throw disabled(row);
    if (row.master_key_id === OFFLINE_KEY) throw offline(row);
    const der = openSealedKey(this.masterKeys, keyId, fromRow(row));
    let key: PrivateKey;
    try {
      key = new PrivateKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
    } catch (err) {
      throw new KeyCustodyError('key-decrypt-failed', `signing key ${keyId} decrypted to something that is not a private key`, { cause: err });
    } finally {
      der.fill(0);
    }
    if (key.id !== keyId) throw new KeyCustodyError('key-decrypt-failed', `signing key ${keyId} decrypted to another key (${key.id})`);
    return key;
  }
}

function checkName(name: string): void {
  if (!KEY_NAME.test(name)) throw new KeyCustodyError('key-invalid', `invalid key name ${JSON.stringify(name)}: use letters, digits, ".", "_" and "-"`);
}

function disabled(row: KeyRow): KeyCustodyError {
  return new KeyCustodyError('key-disabled', `signing key ${JSON.stringify(row.name)} (${row.key_id}) is disabled`);
}

function offline(row: KeyRow): KeyCustodyError {
  return new KeyCustodyError(
    'key-not-found',
    `signing key ${JSON.stringify(row.name)} (${row.key_id}) is kept offline: this server holds only its public part. ` +
      (row.name === 'root'
        ? 'Certify keys on the offline root machine instead (docs/root-ceremony.md): `snapline root certify REQUEST --root ROOT-ID` there ' +
          '(or `--public-key FILE --account ACCOUNT --name NAME` for a vault key), then give the account-key to its owner or upload it to the vault key.'
        : 'Sign with it where its private key is.'),
    { details: { offline: true, keyId: row.key_id } },
  );
}

function fromRow(row: Pick<KeyRow, 'master_key_id' | 'iv' | 'ciphertext' | 'auth_tag'>): SealedKey {
  return { masterKeyId: row.master_key_id, iv: row.iv, ciphertext: row.ciphertext, authTag: row.auth_tag };
}

function toInfo(row: KeyRow): SigningKeyInfo {
  return {
    keyId: row.key_id,
    name: row.name,
    accountId: row.account_id,
    publicKey: PublicKey.decode(row.public_key),
    bits: row.bits,
    masterKeyId: row.master_key_id,
    createdAt: fromDbTime(row.created_at),
    disabledAt: fromDbTimeOrNull(row.disabled_at),
  };
}
