// A PKCS#11 token (an HSM, SoftHSM2) holding signing keys that never leave it:
// RSA-4096 pairs generated inside the token (or imported once), private parts
// CKA_SENSITIVE and not CKA_EXTRACTABLE, addressed by CKA_ID (the snapd key id,
// SHA3-384 of the public key) with the custody name as CKA_LABEL. Signatures
// are CKM_SHA512_RSA_PKCS (RSASSA-PKCS1-v1_5 over SHA-512) on libuv's thread
// pool, through a small pool of sessions, one operation per session at a time.
//
// The binding is the optional dependency pkcs11js (a node-gyp addon), loaded
// only when a server is configured with pkcs11 custody.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PublicKey, type PrivateKey } from '../../assertions/index.ts';
import { KeyCustodyError } from './errors.ts';

/** Where the token is and how to log in; the PIN comes from the environment or a file, never the config file. */
export interface Pkcs11Options {
  /** Path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  module: string;
  /** Token label; the first token with this label is used. */
  token?: string;
  /** Slot id, when no token label is given (default: the first slot with a token). */
  slot?: number;
  /** User PIN. */
  pin: string;
  /** Sessions kept for signing at once (default 4, libuv's thread pool size). */
  sessions?: number;
}

// PKCS#11 constants (PKCS #11 v2.40 base specification).
export const CKO_PUBLIC_KEY = 2;
export const CKO_PRIVATE_KEY = 3;
const CKK_RSA = 0;
export const CKA = {
  CLASS: 0x0,
  TOKEN: 0x1,
  PRIVATE: 0x2,
  LABEL: 0x3,
  VALUE: 0x11,
  KEY_TYPE: 0x100,
  ID: 0x102,
  SENSITIVE: 0x103,
  ENCRYPT: 0x104,
  DECRYPT: 0x105,
  WRAP: 0x106,
  UNWRAP: 0x107,
  SIGN: 0x108,
  VERIFY: 0x10a,
  MODULUS: 0x120,
  MODULUS_BITS: 0x121,
  PUBLIC_EXPONENT: 0x122,
  PRIVATE_EXPONENT: 0x123,
  PRIME_1: 0x124,
  PRIME_2: 0x125,
  EXPONENT_1: 0x126,
  EXPONENT_2: 0x127,
  COEFFICIENT: 0x128,
  EXTRACTABLE: 0x162,
} as const;
const CKM_RSA_PKCS_KEY_PAIR_GEN = 0x0;
const CKM_SHA512_RSA_PKCS = 0x42;
const CKF_RW_SESSION = 0x2;
const CKF_SERIAL_SESSION = 0x4;
const CKF_OS_LOCKING_OK = 0x2;
const CKU_USER = 1;
const CKR_USER_ALREADY_LOGGED_IN = 0x100;
const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;

/** The part of pkcs11js used here (typed locally: the binding is optional). */
type Handle = Buffer;
interface Attribute {
  type: number;
  value?: number | boolean | string | Buffer;
}
interface Binding {
  load(path: string): void;
  C_Initialize(options?: { flags?: number }): void;
  C_Finalize(): void;
  close(): void;
  C_GetSlotList(tokenPresent?: boolean): Handle[];
  C_GetTokenInfo(slot: Handle): { label: string };
  C_OpenSession(slot: Handle, flags: number): Handle;
  C_CloseSession(session: Handle): void;
  C_Login(session: Handle, userType: number, pin?: string): void;
  C_FindObjectsInit(session: Handle, template: Attribute[]): void;
  C_FindObjects(session: Handle, max: number): Handle[];
  C_FindObjectsFinal(session: Handle): void;
  C_GetAttributeValue(session: Handle, object: Handle, template: Attribute[]): Attribute[];
  C_SetAttributeValue(session: Handle, object: Handle, template: Attribute[]): void;
  C_CreateObject(session: Handle, template: Attribute[]): Handle;
  C_DestroyObject(session: Handle, object: Handle): void;
  C_GenerateKeyPairAsync(session: Handle, mechanism: { mechanism: number }, pub: Attribute[], priv: Attribute[]): Promise<{ privateKey: Handle; publicKey: Handle }>;
  C_SignInit(session: Handle, mechanism: { mechanism: number }, key: Handle): void;
  C_SignAsync(session: Handle, data: Buffer, out: Buffer): Promise<Buffer>;
}

/** The PKCS#11 return value of a binding error, when it is one. */
export function pkcs11Code(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

let bindingModule: { PKCS11: new () => Binding } | undefined;

/** Loads pkcs11js; a clear error when the optional dependency is missing or did not build. */
export function loadPkcs11Binding(): { PKCS11: new () => Binding } {
  if (bindingModule) return bindingModule;
  try {
    bindingModule = createRequire(import.meta.url)('pkcs11js') as { PKCS11: new () => Binding };
  } catch (err) {
    throw new KeyCustodyError(
      'key-unusable',
      `PKCS#11 key custody needs the optional package pkcs11js (a native addon built with node-gyp at install time), which is not usable here: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return bindingModule;
}

/** One loaded module per path per process: C_Initialize may run only once. */
const modules = new Map<string, { lib: Binding; users: number }>();

function acquireModule(path: string): Binding {
  const held = modules.get(path);
  if (held) {
    held.users++;
    return held.lib;
  }
  const { PKCS11 } = loadPkcs11Binding();
  const lib = new PKCS11();
  try {
    lib.load(path);
  } catch (err) {
    throw new KeyCustodyError('key-unusable', `cannot load the PKCS#11 module ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    lib.C_Initialize({ flags: CKF_OS_LOCKING_OK });
  } catch (err) {
    if (pkcs11Code(err) !== CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      lib.close();
      throw new KeyCustodyError('key-unusable', `cannot initialize the PKCS#11 module ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
  modules.set(path, { lib, users: 1 });
  return lib;
}

function releaseModule(path: string): void {
  const held = modules.get(path);
  if (!held || --held.users > 0) return;
  modules.delete(path);
  try {
    held.lib.C_Finalize();
  } finally {
    held.lib.close();
  }
}

/** A key pair in the token: handles of its objects and its public key. */
export interface TokenKey {
  readonly privateKey: Handle;
  /** The public key object, when the token has one. */
  readonly publicObject: Handle | undefined;
  readonly publicKey: PublicKey;
}

/** An open, logged-in PKCS#11 token. */
export class Pkcs11Token {
  /** Token label (or "slot N"), for messages and row markers. */
  readonly label: string;
  private readonly idle: Handle[] = [];
  private readonly waiting: ((session: Handle) => void)[] = [];
  private open = 0;
  private closed = false;
  private readonly maxSessions: number;

  private constructor(
    private readonly lib: Binding,
    private readonly modulePath: string,
    private readonly slot: Handle,
    /** Stays open while the token is: the login lasts as long as one session does. */
    private readonly anchor: Handle,
    label: string,
    maxSessions: number,
  ) {
    this.label = label;
    this.maxSessions = maxSessions;
  }

  /** Loads the module, finds the token, opens a session and logs in. */
  static open(options: Pkcs11Options): Pkcs11Token {
    const lib = acquireModule(options.module);
    try {
      const slots = lib.C_GetSlotList(true);
      let slot: Handle | undefined;
      let label = '';
      for (const s of slots) {
        const tokenLabel = lib.C_GetTokenInfo(s).label.replace(/[\s\0]+$/, '');
        const matches = options.token !== undefined ? tokenLabel === options.token : options.slot === undefined || s.readUIntLE(0, Math.min(6, s.length)) === options.slot;
        if (matches) {
          slot = s;
          label = tokenLabel;
          break;
        }
      }
      if (!slot) {
        const wanted = options.token !== undefined ? `token labelled ${JSON.stringify(options.token)}` : options.slot !== undefined ? `token in slot ${options.slot}` : 'token';
        throw new KeyCustodyError('key-unusable', `the PKCS#11 module ${options.module} has no ${wanted} (${slots.length} slot(s) with a token)`);
      }
      const anchor = lib.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
      try {
        lib.C_Login(anchor, CKU_USER, options.pin);
      } catch (err) {
        if (pkcs11Code(err) !== CKR_USER_ALREADY_LOGGED_IN) {
          lib.C_CloseSession(anchor);
          throw new KeyCustodyError('key-unusable', `cannot log in to PKCS#11 token ${JSON.stringify(label)}: ${(err as Error).message}`, { cause: err });
        }
      }
      return new Pkcs11Token(lib, options.module, slot, anchor, label, options.sessions ?? 4);
    } catch (err) {
      releaseModule(options.module);
      throw err;
    }
  }

  /** Generates an RSA key pair inside the token (private part sensitive, not extractable); labels it `name`, ids it by snapd key id. */
  async generate(name: string, bits: number): Promise<TokenKey> {
    const tempId = randomBytes(16);
    const pair = await this.withSession((s) =>
      this.lib.C_GenerateKeyPairAsync(
        s,
        { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
        [
          { type: CKA.CLASS, value: CKO_PUBLIC_KEY },
          { type: CKA.KEY_TYPE, value: CKK_RSA },
          { type: CKA.TOKEN, value: true },
          { type: CKA.LABEL, value: name },
          { type: CKA.ID, value: tempId },
          { type: CKA.VERIFY, value: true },
          { type: CKA.ENCRYPT, value: false },
          { type: CKA.WRAP, value: false },
          { type: CKA.MODULUS_BITS, value: bits },
          { type: CKA.PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
        ],
        [
          { type: CKA.CLASS, value: CKO_PRIVATE_KEY },
          { type: CKA.KEY_TYPE, value: CKK_RSA },
          { type: CKA.TOKEN, value: true },
          { type: CKA.PRIVATE, value: true },
          { type: CKA.LABEL, value: name },
          { type: CKA.ID, value: tempId },
          { type: CKA.SIGN, value: true },
          { type: CKA.DECRYPT, value: false },
          { type: CKA.UNWRAP, value: false },
          { type: CKA.SENSITIVE, value: true },
          { type: CKA.EXTRACTABLE, value: false },
        ],
      ),
    );
    try {
      const publicKey = this.readPublicKey(pair.publicKey);
      const id = Buffer.from(publicKey.id, 'base64url');
      this.withSessionSync((s) => {
        this.lib.C_SetAttributeValue(s, pair.publicKey, [{ type: CKA.ID, value: id }]);
        this.lib.C_SetAttributeValue(s, pair.privateKey, [{ type: CKA.ID, value: id }]);
      });
      return { privateKey: pair.privateKey, publicObject: pair.publicKey, publicKey };
    } catch (err) {
      this.destroyHandles([pair.privateKey, pair.publicKey]);
      throw this.failure('cannot finish a key generated in the token', err);
    }
  }

  /** Imports a private key once: the token keeps it sensitive and not extractable from then on. */
  importKey(name: string, key: PrivateKey): TokenKey {
    const jwk = key.key.export({ format: 'jwk' });
    const part = (v: string | undefined) => Buffer.from(v ?? '', 'base64url');
    const id = Buffer.from(key.id, 'base64url');
    const common = [
      { type: CKA.KEY_TYPE, value: CKK_RSA },
      { type: CKA.TOKEN, value: true },
      { type: CKA.LABEL, value: name },
      { type: CKA.ID, value: id },
      { type: CKA.MODULUS, value: part(jwk.n) },
      { type: CKA.PUBLIC_EXPONENT, value: part(jwk.e) },
    ];
    const secret = [jwk.d, jwk.p, jwk.q, jwk.dp, jwk.dq, jwk.qi].map(part);
    try {
      return this.withSessionSync((s) => {
        const privateKey = this.lib.C_CreateObject(s, [
          { type: CKA.CLASS, value: CKO_PRIVATE_KEY },
          ...common,
          { type: CKA.PRIVATE, value: true },
          { type: CKA.SIGN, value: true },
          { type: CKA.DECRYPT, value: false },
          { type: CKA.UNWRAP, value: false },
          { type: CKA.SENSITIVE, value: true },
          { type: CKA.EXTRACTABLE, value: false },
          { type: CKA.PRIVATE_EXPONENT, value: secret[0]! },
          { type: CKA.PRIME_1, value: secret[1]! },
          { type: CKA.PRIME_2, value: secret[2]! },
          { type: CKA.EXPONENT_1, value: secret[3]! },
          { type: CKA.EXPONENT_2, value: secret[4]! },
          { type: CKA.COEFFICIENT, value: secret[5]! },
        ]);
        let publicObject: Handle;
        try {
          publicObject = this.lib.C_CreateObject(s, [{ type: CKA.CLASS, value: CKO_PUBLIC_KEY }, ...common, { type: CKA.VERIFY, value: true }, { type: CKA.ENCRYPT, value: false }]);
        } catch (err) {
          this.lib.C_DestroyObject(s, privateKey);
          throw err;
        }
        return { privateKey, publicObject, publicKey: key.publicKey };
      });
    } catch (err) {
      throw this.failure(`cannot import key ${JSON.stringify(name)} into the token`, err);
    } finally {
      for (const b of secret) b.fill(0);
    }
  }

  /** The key pair whose CKA_ID is this snapd key id, or undefined; its public key is read from the token. */
  find(keyId: string): TokenKey | undefined {
    const id = Buffer.from(keyId, 'base64url');
    const privateKey = this.findObject([{ type: CKA.CLASS, value: CKO_PRIVATE_KEY }, { type: CKA.ID, value: id }]);
    if (!privateKey) return undefined;
    const pub = this.findObject([{ type: CKA.CLASS, value: CKO_PUBLIC_KEY }, { type: CKA.ID, value: id }]);
    return { privateKey, publicObject: pub, publicKey: this.readPublicKey(pub ?? privateKey) };
  }

  /** Objects labelled `label` (private key first), for keys made in the token by other tools. */
  findByLabel(label: string): TokenKey | undefined {
    const privateKey = this.findObject([{ type: CKA.CLASS, value: CKO_PRIVATE_KEY }, { type: CKA.LABEL, value: label }]);
    if (!privateKey) return undefined;
    const pub = this.findObject([{ type: CKA.CLASS, value: CKO_PUBLIC_KEY }, { type: CKA.LABEL, value: label }]);
    return { privateKey, publicObject: pub, publicKey: this.readPublicKey(pub ?? privateKey) };
  }

  /** Removes the objects of a key (one whose custody row could not be written). */
  destroy(key: TokenKey): void {
    this.destroyHandles(key.publicObject ? [key.privateKey, key.publicObject] : [key.privateKey]);
  }

  /** RSASSA-PKCS1-v1_5 with SHA-512 over `data` (the token hashes it), off the event loop. */
  async sign(key: TokenKey, data: Buffer): Promise<Buffer> {
    try {
      return await this.withSession(async (s) => {
        this.lib.C_SignInit(s, { mechanism: CKM_SHA512_RSA_PKCS }, key.privateKey);
        return this.lib.C_SignAsync(s, data, Buffer.alloc(key.publicKey.n.length));
      });
    } catch (err) {
      throw this.failure(`the token could not sign with key ${key.publicKey.id}`, err);
    }
  }

  /** Attribute values, or the binding's error (tests check that secrets are refused). */
  attributes(object: Handle, types: number[]): Attribute[] {
    return this.withSessionSync((s) => this.lib.C_GetAttributeValue(s, object, types.map((type) => ({ type }))));
  }

  /** Closes the sessions and, when no other user holds it, finalizes the module. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.idle.splice(0)) this.lib.C_CloseSession(s);
    try {
      this.lib.C_CloseSession(this.anchor);
    } finally {
      releaseModule(this.modulePath);
    }
  }

  private readPublicKey(object: Handle): PublicKey {
    const [n, e] = this.attributes(object, [CKA.MODULUS, CKA.PUBLIC_EXPONENT]);
    const strip = (b: Buffer) => {
      let i = 0;
      while (i < b.length - 1 && b[i] === 0) i++;
      return b.subarray(i);
    };
    return new PublicKey(strip(n!.value as Buffer), strip(e!.value as Buffer));
  }

  private findObject(template: Attribute[]): Handle | undefined {
    return this.withSessionSync((s) => {
      this.lib.C_FindObjectsInit(s, template);
      try {
        return this.lib.C_FindObjects(s, 1)[0];
      } finally {
        this.lib.C_FindObjectsFinal(s);
      }
    });
  }

  private destroyHandles(handles: Handle[]): void {
    this.withSessionSync((s) => {
      for (const h of handles) {
        try {
          this.lib.C_DestroyObject(s, h);
        } catch {
          // best effort: the object may already be gone
        }
      }
    });
  }

  private failure(what: string, err: unknown): KeyCustodyError {
    if (err instanceof KeyCustodyError) return err;
    return new KeyCustodyError('key-unusable', `${what} (PKCS#11 token ${JSON.stringify(this.label)}): ${(err as Error).message}`, { cause: err });
  }

  /** Synchronous calls run on the anchor session: nothing else uses it concurrently on this thread. */
  private withSessionSync<T>(fn: (session: Handle) => T): T {
    if (this.closed) throw new KeyCustodyError('key-unusable', `PKCS#11 token ${JSON.stringify(this.label)} is closed`);
    return fn(this.anchor);
  }

  /** Asynchronous operations each take a session of their own from the pool. */
  private async withSession<T>(fn: (session: Handle) => Promise<T>): Promise<T> {
    if (this.closed) throw new KeyCustodyError('key-unusable', `PKCS#11 token ${JSON.stringify(this.label)} is closed`);
    const session = await this.acquire();
    try {
      return await fn(session);
    } finally {
      this.release(session);
    }
  }

  private acquire(): Promise<Handle> {
    const s = this.idle.pop();
    if (s) return Promise.resolve(s);
    if (this.open < this.maxSessions) {
      this.open++;
      try {
        return Promise.resolve(this.lib.C_OpenSession(this.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION));
      } catch (err) {
        this.open--;
        return Promise.reject(err);
      }
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(session: Handle): void {
    const next = this.waiting.shift();
    if (next) return next(session);
    if (this.closed) {
      this.lib.C_CloseSession(session);
      return;
    }
    this.idle.push(session);
  }
}

/**
 * Opens the token of a server's configuration; the PIN comes from
 * SNAPLINE_PKCS11_PIN in `env` (the CLI passes the environment) or from the
 * configured PIN file, never from the configuration itself.
 */
export function openConfiguredToken(settings: { module: string; token?: string; slot?: number; pinFile?: string }, env: Readonly<Record<string, string | undefined>>): Pkcs11Token {
  let pin = env['SNAPLINE_PKCS11_PIN'];
  if (!pin && settings.pinFile) {
    try {
      pin = readFileSync(settings.pinFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new KeyCustodyError('key-unusable', `cannot read the PKCS#11 PIN file ${settings.pinFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if (!pin) throw new KeyCustodyError('key-unusable', 'pkcs11 key custody needs the token PIN: set SNAPLINE_PKCS11_PIN or SNAPLINE_PKCS11_PIN_FILE (keys.pkcs11.pinFile)');
  return Pkcs11Token.open({ module: settings.module, pin, ...(settings.token !== undefined ? { token: settings.token } : {}), ...(settings.slot !== undefined ? { slot: settings.slot } : {}) });
}
