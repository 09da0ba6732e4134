// The local keyring of the CLI: one folder, each key a passphrase-encrypted
// PKCS#8 PEM (`NAME.key`, mode 0600) plus its public key in snapd's encoding
// (`NAME.pub`) so that listing needs no passphrase.
import { mkdir, readdir, readFile, rm, writeFile, rename, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PrivateKey, PublicKey } from '../assertions/index.ts';

export class KeyringError extends Error {
  override readonly name = 'KeyringError';
  constructor(
    readonly code: 'key-not-found' | 'key-exists' | 'key-invalid-name' | 'key-bad-passphrase' | 'key-unreadable',
    message: string,
  ) {
    super(message);
  }
}

const KEY_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/;

export interface KeyInfo {
  name: string;
  id: string;
  bits: number;
}

/** The keyring folder: $SNAPLINE_KEYRING, else ~/.snapline/keyring. */
export function defaultKeyringDir(env: Readonly<Record<string, string | undefined>>): string {
  return env['SNAPLINE_KEYRING'] || join(homedir(), '.snapline', 'keyring');
}

export class Keyring {
  constructor(readonly dir: string) {}

  private paths(name: string): { key: string; pub: string } {
    if (!KEY_NAME.test(name)) {
      throw new KeyringError('key-invalid-name', `invalid key name ${JSON.stringify(name)}: use letters, digits, ".", "_" and "-"`);
    }
    return { key: join(this.dir, `${name}.key`), pub: join(this.dir, `${name}.pub`) };
  }

  async has(name: string): Promise<boolean> {
    try {
      await stat(this.paths(name).key);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Stores a key; refuses to overwrite one with the same name. */
  async add(name: string, key: PrivateKey, passphrase: string): Promise<KeyInfo> {
    const p = this.paths(name);
    if (passphrase === '') throw new KeyringError('key-bad-passphrase', 'an empty passphrase would leave the key unencrypted');
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    if (await this.has(name)) throw new KeyringError('key-exists', `key ${JSON.stringify(name)} already exists`);
    // Write to temporary names, then rename: a crash never leaves half a key.
    const tmp = `.${process.pid}.${Date.now()}`;
    await writeFile(p.pub + tmp, key.publicKey.encode() + '\n', { mode: 0o644 });
    await writeFile(p.key + tmp, key.toPem(passphrase), { mode: 0o600, flag: 'wx' });
    await rename(p.pub + tmp, p.pub);
    await rename(p.key + tmp, p.key);
    return { name, id: key.id, bits: key.publicKey.bits };
  }

  async publicKey(name: string): Promise<PublicKey> {
    const p = this.paths(name);
    try {
      return PublicKey.decode((await readFile(p.pub, 'utf8')).trim());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KeyringError('key-not-found', `no key named ${JSON.stringify(name)} in ${this.dir}`);
      throw err;
    }
  }

  async privateKey(name: string, passphrase: string): Promise<PrivateKey> {
    const p = this.paths(name);
    let pem: string;
    try {
      pem = await readFile(p.key, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KeyringError('key-not-found', `no key named ${JSON.stringify(name)} in ${this.dir}`);
      throw err;
    }
    try {
      return PrivateKey.fromPem(pem, passphrase);
    } catch {
      throw new KeyringError('key-bad-passphrase', `cannot decrypt key ${JSON.stringify(name)}: wrong passphrase or damaged key file`);
    }
  }

  async list(): Promise<KeyInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: KeyInfo[] = [];
    for (const file of names.sort()) {
      if (!file.endsWith('.key') || file.startsWith('.')) continue;
      const name = file.slice(0, -4);
      const pub = await this.publicKey(name);
      out.push({ name, id: pub.id, bits: pub.bits });
    }
    return out;
  }

  /** Finds a key by name or by its SHA3-384 id. */
  async resolve(nameOrId: string): Promise<KeyInfo> {
    for (const k of await this.list()) if (k.name === nameOrId || k.id === nameOrId) return k;
    throw new KeyringError('key-not-found', `no key named ${JSON.stringify(nameOrId)} in ${this.dir}`);
  }

  async delete(name: string): Promise<void> {
    const p = this.paths(name);
    if (!(await this.has(name))) throw new KeyringError('key-not-found', `no key named ${JSON.stringify(name)} in ${this.dir}`);
    await rm(p.key);
    await rm(p.pub, { force: true });
  }
}
