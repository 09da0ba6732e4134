// Master keys: the AES-256 keys that seal signing keys at rest. One is
// current (seals new rows); older ones stay configured, decrypt-only, until
// `KeyCustody.rotate` has re-sealed every row (docs/platform.md).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyCustodyError } from './errors.ts';

const KEY_BYTES = 32;

/** A master key and its id (a fingerprint, stored in each row it seals). */
export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

/** The fingerprint of a master key: not secret, safe to store and log. */
export function masterKeyId(key: Buffer): string {
  // Domain-separated so the id is never the hash of the key used elsewhere.
  return 'mk1_' + createHash('sha256').update('snapline master key id\0').update(key).digest('base64url').slice(0, 22);
}

/** Parses a master key given as base64 (standard or url-safe) of 32 bytes. */
export function masterKeyFromBase64(text: string, source = 'master key'): MasterKey {
  const trimmed = text.trim();
  const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64') : Buffer.alloc(0);
  if (key.length !== KEY_BYTES) {
    throw new KeyCustodyError('master-key-invalid', `${source} is not base64 of ${KEY_BYTES} bytes (make one with: openssl rand -base64 32)`);
  }
  return { id: masterKeyId(key), key };
}

/** Reads a master key file: exactly 32 raw bytes, or their base64 text. */
export async function readMasterKeyFile(path: string): Promise<MasterKey> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw new KeyCustodyError('master-key-invalid', `cannot read master key file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (data.length === KEY_BYTES) return { id: masterKeyId(data), key: data };
  return masterKeyFromBase64(data.toString('latin1'), `master key file ${path}`);
}

/** A new random master key, as base64 text. */
export function generateMasterKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/** The configured master keys: one current, any number of decrypt-only ones. */
export class MasterKeyRing {
  readonly #byId = new Map<string, MasterKey>();

  constructor(
    readonly current: MasterKey,
    decryptOnly: readonly MasterKey[] = [],
  ) {
    for (const k of [current, ...decryptOnly]) if (!this.#byId.has(k.id)) this.#byId.set(k.id, k);
  }

  /** The key with this id, or undefined when it is not configured. */
  find(id: string): MasterKey | undefined {
    return this.#byId.get(id);
  }

  /** Ids of every configured key, current first. */
  get ids(): string[] {
    return [...this.#byId.keys()];
  }
}

/** Where the master keys come from; exactly one of `key` and `keyFile` names the current one. */
export interface MasterKeySources {
  /** base64 of 32 bytes */
  key?: string;
  keyFile?: string;
  /** decrypt-only keys (base64), during a rotation */
  previousKeys?: readonly string[];
  previousKeyFiles?: readonly string[];
}

/** The name of the systemd credential holding the master key (`LoadCredential=snapline-master-key:/path`). */
export const MASTER_KEY_CREDENTIAL = 'snapline-master-key';

/**
 * The sources named by the environment: SNAPLINE_MASTER_KEY or
 * SNAPLINE_MASTER_KEY_FILE for the current key, else the systemd credential
 * `$CREDENTIALS_DIRECTORY/snapline-master-key` when that file exists
 * (systemd's LoadCredential= or SetCredentialEncrypted=: the key stays out
 * of the environment and of the data folder); and comma-separated
 * SNAPLINE_MASTER_KEY_PREVIOUS / SNAPLINE_MASTER_KEY_PREVIOUS_FILES for
 * decrypt-only keys. Takes the environment as a parameter: config loading
 * decides where it comes from.
 */
export function masterKeySourcesFromEnv(env: Readonly<Record<string, string | undefined>>): MasterKeySources {
  const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const sources: MasterKeySources = {
    previousKeys: list(env['SNAPLINE_MASTER_KEY_PREVIOUS']),
    previousKeyFiles: list(env['SNAPLINE_MASTER_KEY_PREVIOUS_FILES']),
  };
  if (env['SNAPLINE_MASTER_KEY']) sources.key = env['SNAPLINE_MASTER_KEY'];
  if (env['SNAPLINE_MASTER_KEY_FILE']) sources.keyFile = env['SNAPLINE_MASTER_KEY_FILE'];
  const credentials = env['CREDENTIALS_DIRECTORY'];
  if (sources.key === undefined && sources.keyFile === undefined && credentials) {
    const file = join(credentials, MASTER_KEY_CREDENTIAL);
    if (existsSync(file)) sources.keyFile = file;
  }
  return sources;
}

/** Loads the master key ring from its sources; master-key-invalid when the current key is missing or ambiguous. */
export async function loadMasterKeyRing(sources: MasterKeySources): Promise<MasterKeyRing> {
  if (sources.key !== undefined && sources.keyFile !== undefined) {
    throw new KeyCustodyError('master-key-invalid', 'both a master key and a master key file are given: use one');
  }
  let current: MasterKey;
  if (sources.key !== undefined) current = masterKeyFromBase64(sources.key, 'SNAPLINE_MASTER_KEY');
  else if (sources.keyFile !== undefined) current = await readMasterKeyFile(sources.keyFile);
  else throw new KeyCustodyError('master-key-invalid', 'no master key: set SNAPLINE_MASTER_KEY (base64 of 32 bytes) or SNAPLINE_MASTER_KEY_FILE');
  const previous = [
    ...(sources.previousKeys ?? []).map((k, i) => masterKeyFromBase64(k, `previous master key #${i + 1}`)),
    ...(await Promise.all((sources.previousKeyFiles ?? []).map(readMasterKeyFile))),
  ];
  return new MasterKeyRing(current, previous);
}
