// The trust database: trusted roots, assertions added only after their
// signature, signing key and consistency checks pass (snapd asserts/database.go).
// Pure: storage is behind the Backstore interface and the clock is passed in.
import type { Assertion} from './assertion.ts';
import { trimDefaultPrimaryKey, type AssertionType, type ConsistencyView, type Ref } from './assertion.ts';
import { AssertionError, quote } from './errors.ts';
import { assertionType } from './registry.ts';
import { formatTimestamp } from './checks.ts';
import { isValidAt, type SinceUntil } from './types/common.ts';
import type { AccountKeyData, AccountKeyRequestData } from './types/account-key.ts';
import type { SerialData, SerialRequestData } from './types/serial.ts';

/** Where a database keeps assertions. Implementations must keep the original bytes. */
export interface Backstore {
  /** The newest revision with format <= maxFormat, or undefined. */
  get(type: string, primaryKey: readonly string[], maxFormat: number): Assertion | undefined;
  /** Stores `a`; refuses (assertion-revision) when an equal or newer revision is stored. */
  put(a: Assertion): void;
  /** Every stored assertion of `type` whose headers equal the given strings (newest revision per key). */
  search(type: string, headers: Readonly<Record<string, string>>, maxFormat: number): Assertion[];
  /** For sequence-forming types: the assertion at `sequence`, or the highest one when undefined. */
  sequenceMember?(type: string, sequenceKey: readonly string[], sequence: number | undefined, maxFormat: number): Assertion | undefined;
}

const keyOf = (type: string, pk: readonly string[]) => `${type}\u0000${pk.join('\u0000')}`;

/** An in-memory Backstore: all revisions kept, newest served. */
export class MemoryBackstore implements Backstore {
  private readonly byKey = new Map<string, Assertion[]>();

  get(type: string, primaryKey: readonly string[], maxFormat: number): Assertion | undefined {
    const revs = this.byKey.get(keyOf(type, primaryKey));
    if (!revs) return undefined;
    for (let i = revs.length - 1; i >= 0; i--) if (revs[i]!.format <= maxFormat) return revs[i];
    return undefined;
  }

  put(a: Assertion): void {
    const k = keyOf(a.type, a.primaryKey);
    const revs = this.byKey.get(k) ?? [];
    const cur = revs[revs.length - 1];
    if (cur && cur.revision >= a.revision) throw revisionError(cur.revision, a.revision);
    revs.push(a);
    this.byKey.set(k, revs);
  }

  search(type: string, headers: Readonly<Record<string, string>>, maxFormat: number): Assertion[] {
    const out: Assertion[] = [];
    const prefix = `${type}\u0000`;
    for (const [k, revs] of this.byKey) {
      if (!k.startsWith(prefix)) continue;
      const a = [...revs].reverse().find((r) => r.format <= maxFormat);
      if (a && matches(a, headers)) out.push(a);
    }
    return out;
  }

  sequenceMember(type: string, sequenceKey: readonly string[], sequence: number | undefined, maxFormat: number): Assertion | undefined {
    if (sequence !== undefined) return this.get(type, [...sequenceKey, String(sequence)], maxFormat);
    let best: Assertion | undefined;
    const t = assertionType(type);
    if (!t) return undefined;
    for (const a of this.search(type, headersOf(t, sequenceKey), maxFormat)) {
      if (!best || Number(a.primaryKey.at(-1)) > Number(best.primaryKey.at(-1))) best = a;
    }
    return best;
  }
}

function headersOf(t: AssertionType, key: readonly string[]): Record<string, string> {
  const h: Record<string, string> = {};
  key.forEach((v, i) => (h[t.primaryKey[i]!] = v));
  return h;
}

function matches(a: Assertion, headers: Readonly<Record<string, string>>): boolean {
  return Object.entries(headers).every(([k, v]) => a.header(k) === v);
}

export function revisionError(current: number, used: number): AssertionError {
  const msg =
    used === current ? `revision ${used} is already the current revision` : `revision ${used} is older than current revision ${current}`;
  return new AssertionError('assertion-revision', msg);
}

/** What a checker sees: the assertion, its signing key (undefined for self-signed types) and the clock window. */
export interface CheckContext {
  readonly assertion: Assertion;
  readonly signingKey: Assertion<AccountKeyData> | undefined;
  readonly db: ConsistencyView;
  /** Earliest possible "now"; equals latest unless only a lower bound is known (seeding). */
  readonly earliest: Date;
  readonly latest: Date | undefined;
}

export type Checker = (ctx: CheckContext) => void;

const rfc3339 = formatTimestamp;
/** Go's time.Time String() for UTC times, as snapd's %q prints them. */
function goTimeString(d: Date): string {
  const iso = d.toISOString();
  const ms = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${ms ? '.' + ms : ''} +0000 UTC`;
}

function possiblyCurrent(w: SinceUntil, earliest: Date, latest: Date | undefined): boolean {
  if (latest) {
    if (latest < earliest) return false;
    if (latest < w.since) return false;
  }
  return !(w.until && earliest >= w.until);
}

export const checkSigningKeyIsNotExpired: Checker = ({ assertion: a, signingKey, earliest, latest }) => {
  if (!signingKey) return;
  const k = signingKey.data;
  if (possiblyCurrent(k, earliest, latest)) return;
  const now =
    latest && latest.getTime() !== earliest.getTime()
      ? `current time range is [${rfc3339(earliest)}, ${rfc3339(latest)}]`
      : `current time is ${rfc3339(earliest)}`;
  const valid = k.until ? `valid during [${rfc3339(k.since)}, ${rfc3339(k.until)})` : `valid from ${rfc3339(k.since)}`;
  throw new AssertionError(
    'assertion-key-expired',
    `assertion is signed with expired public key ${quote(a.signKeyId)} from ${quote(a.authorityId)}: ${now} but key is ${valid}`,
  );
};

export const checkSignature: Checker = ({ assertion: a, signingKey }) => {
  let key;
  if (signingKey) {
    if (a.authorityId !== signingKey.data.accountId) {
      throw new AssertionError('assertion-key-not-found', `assertion authority ${quote(a.authorityId)} does not match public key from ${quote(signingKey.data.accountId)}`);
    }
    key = signingKey.data.publicKey;
  } else if (a.type === 'account-key-request') {
    key = (a.data as AccountKeyRequestData).publicKey;
  } else {
    throw new AssertionError('assertion-inconsistent', `cannot check no-authority assertion type ${quote(a.type)}`);
  }
  key.verify(a.content, a.signatureText);
};

export const checkTimestampVsSigningKeyValidity: Checker = ({ assertion: a, signingKey }) => {
  if (!signingKey || !a.assertionType.timestamp) return;
  const ts = a.assertionType.timestamp(a.data);
  const k = signingKey.data;
  if (isValidAt(k, ts)) return;
  const until = k.until ? ` until "${goTimeString(k.until)}"` : '';
  throw new AssertionError(
    'assertion-key-expired',
    `${a.type} assertion timestamp "${goTimeString(ts)}" outside of signing key validity (key valid since "${goTimeString(k.since)}"${until})`,
  );
};

export const checkCrossConsistency: Checker = ({ assertion: a, signingKey, db }) => {
  a.assertionType.checkConsistency?.(db, a, signingKey as Assertion);
};

/** snapd's DefaultCheckers, in order. */
export const DEFAULT_CHECKERS: readonly Checker[] = [
  checkSigningKeyIsNotExpired,
  checkSignature,
  checkTimestampVsSigningKeyValidity,
  checkCrossConsistency,
];

export interface DatabaseOptions {
  /** Directly trusted assertions: the root account(s) and their account-keys. */
  trusted?: readonly Assertion[];
  /** Usable but not roots (snapd's "predefined"). */
  predefined?: readonly Assertion[];
  backstore?: Backstore;
  /** The clock; checks use it for key validity. */
  now: () => Date;
  checkers?: readonly Checker[];
}

/** A trust database: every assertion in it chains back to a trusted root. */
export class TrustDatabase implements ConsistencyView {
  private readonly trusted = new MemoryBackstore();
  private readonly predefined = new MemoryBackstore();
  private readonly bs: Backstore;
  private readonly now: () => Date;
  private readonly checkers: readonly Checker[];
  private earliestTime: Date | undefined;

  constructor(opts: DatabaseOptions) {
    for (const a of opts.trusted ?? []) this.putLayer(this.trusted, a, 'trusted');
    for (const a of opts.predefined ?? []) this.putLayer(this.predefined, a, 'predefined');
    this.bs = opts.backstore ?? new MemoryBackstore();
    this.now = opts.now;
    this.checkers = opts.checkers ?? DEFAULT_CHECKERS;
  }

  private putLayer(layer: MemoryBackstore, a: Assertion, what: string): void {
    if (a.type !== 'account' && a.type !== 'account-key') {
      throw new AssertionError('assertion-invalid', `cannot add ${what} assertion of type ${quote(a.type)}: only accounts and account-keys`);
    }
    layer.put(a);
  }

  /** Checks against "now >= earliest" only, as snapd does while seeding with an unreliable clock. */
  setEarliestTime(earliest: Date | undefined): void {
    this.earliestTime = earliest;
  }

  isDirectlyTrusted(accountId: string): boolean {
    return accountId !== '' && this.trusted.get('account', [accountId], 0) !== undefined;
  }

  private layers(): Backstore[] {
    return [this.trusted, this.predefined, this.bs];
  }

  find(type: string, primaryKey: readonly string[]): Assertion | undefined {
    const t = assertionType(type);
    if (!t) return undefined;
    const full = fillPrimaryKey(t, primaryKey);
    if (!full) return undefined;
    for (const layer of this.layers()) {
      const a = layer.get(type, full, t.maxFormat);
      if (a) return a;
    }
    return undefined;
  }

  /** Like find, but throws assertion-not-found. */
  get(type: string, primaryKey: readonly string[]): Assertion {
    const a = this.find(type, primaryKey);
    if (!a) throw new AssertionError('assertion-not-found', `${type} (${primaryKey.join('; ')}) not found`);
    return a;
  }

  findTrusted(type: string, primaryKey: readonly string[]): Assertion | undefined {
    return this.trusted.get(type, primaryKey, assertionType(type)?.maxFormat ?? 0);
  }

  findMany(type: string, headers: Readonly<Record<string, string>>): Assertion[] {
    const t = assertionType(type);
    if (!t) return [];
    return this.layers().flatMap((l) => l.search(type, headers, t.maxFormat));
  }

  /** The newest member of a sequence (validation-set, repair), or the given sequence point. */
  findSequence(type: string, sequenceKey: readonly string[], sequence?: number): Assertion | undefined {
    const t = assertionType(type);
    if (!t?.sequenceForming) return undefined;
    return this.bs.sequenceMember?.(type, sequenceKey, sequence, t.maxFormat);
  }

  private findAccountKey(authorityId: string, keyId: string): Assertion<AccountKeyData> {
    for (const layer of this.layers()) {
      const a = layer.get('account-key', [keyId], 0) as Assertion<AccountKeyData> | undefined;
      if (!a) continue;
      if (a.data.accountId !== authorityId) {
        throw new AssertionError(
          'assertion-key-not-found',
          `error finding matching public key for signature: found public key ${quote(keyId)} from ${quote(a.data.accountId)} but expected it from: ${authorityId}`,
        );
      }
      return a;
    }
    throw new AssertionError('assertion-key-not-found', `no matching public key ${quote(keyId)} for signature by ${quote(authorityId)}`);
  }

  /** Runs every checker on `a` without adding it. Throws AssertionError. */
  check(a: Assertion): void {
    if (a.format > a.assertionType.maxFormat) {
      throw new AssertionError(
        'assertion-unsupported-format',
        `proposed ${quote(a.type)} assertion has format ${a.format} but ${a.assertionType.maxFormat} is latest supported`,
      );
    }
    const signingKey = a.assertionType.noAuthority ? undefined : this.findAccountKey(a.authorityId, a.signKeyId);
    const earliest = this.earliestTime ?? this.now();
    const latest = this.earliestTime ? undefined : earliest;
    for (const checker of this.checkers) checker({ assertion: a, signingKey, db: this, earliest, latest });
  }

  /** Checks and stores `a`. */
  add(a: Assertion): void {
    if (a.assertionType.primaryKey.length === 0) {
      throw new AssertionError('assertion-invalid', `internal error: assertion type ${quote(a.type)} has no primary key`);
    }
    this.check(a);
    const pk = a.primaryKey;
    if (this.trusted.get(a.type, pk, Number.MAX_SAFE_INTEGER)) {
      throw new AssertionError('assertion-inconsistent', `cannot add ${quote(a.type)} assertion with primary key clashing with a trusted assertion: [${pk.join(' ')}]`);
    }
    if (this.predefined.get(a.type, pk, Number.MAX_SAFE_INTEGER)) {
      throw new AssertionError('assertion-inconsistent', `cannot add ${quote(a.type)} assertion with primary key clashing with a predefined assertion: [${pk.join(' ')}]`);
    }
    this.bs.put(a);
  }

  /** Whether `a` (same type, key and revision) is already known in any layer. */
  has(a: Assertion): boolean {
    const cur = this.find(a.type, a.primaryKey);
    return cur !== undefined && cur.revision >= a.revision;
  }

  /**
   * Adds many assertions in dependency order: signing keys and prerequisites
   * first, wherever they sit in the input (snapd's Batch). Assertions already
   * present at the same revision are skipped. Returns what was added.
   */
  addBatch(assertions: readonly Assertion[]): Assertion[] {
    const unique = assertions.filter((a, i) => assertions.findIndex((b) => sameRef(a, b) && b.revision === a.revision) === i);
    const added: Assertion[] = [];
    this.inDependencyOrder(unique, (a) => {
      if (this.has(a)) return;
      this.add(a);
      added.push(a);
    });
    return added;
  }

  /**
   * Calls `visit` on each assertion once its signing key and prerequisites are
   * no longer waiting among the others; then on what is left (it waits on
   * something missing, and visiting it reports exactly what).
   */
  private inDependencyOrder(assertions: readonly Assertion[], visit: (a: Assertion) => void): void {
    const pending = [...assertions];
    let progress = true;
    while (pending.length > 0 && progress) {
      progress = false;
      for (let i = 0; i < pending.length; i++) {
        const a = pending[i]!;
        if (!this.ready(a, pending)) continue;
        pending.splice(i--, 1);
        progress = true;
        visit(a);
      }
    }
    for (const a of pending) visit(a);
  }

  /**
   * Verifies and adds every assertion it can, in dependency order, and reports
   * each outcome instead of stopping at the first failure. Serial-requests are
   * checked against their own device key and device-session-requests against
   * the device key of their serial, since no database can hold them.
   */
  addEach(assertions: readonly Assertion[]): { assertion: Assertion; error?: AssertionError }[] {
    const outcome = new Map<Assertion, AssertionError | undefined>();
    const attempt = (a: Assertion) => {
      try {
        if (a.type === 'serial-request') verifySerialRequest(a);
        else if (a.type === 'device-session-request') {
          const serial = this.find('serial', a.primaryKey);
          if (!serial) throw new AssertionError('assertion-inconsistent', `no serial ${a.primaryKey.join('/')} to check the device-session-request against`);
          verifyDeviceSessionRequest(a, serial);
        } else if (!this.has(a) || !this.isSameAsStored(a)) this.add(a);
        outcome.set(a, undefined);
      } catch (err) {
        if (!(err instanceof AssertionError)) throw err;
        outcome.set(a, err);
      }
    };
    this.inDependencyOrder(assertions, attempt);
    return assertions.map((assertion) => {
      const error = outcome.get(assertion);
      return error ? { assertion, error } : { assertion };
    });
  }

  /** Whether the stored assertion with a's key and revision has a's exact bytes. */
  private isSameAsStored(a: Assertion): boolean {
    const cur = this.find(a.type, a.primaryKey);
    return cur !== undefined && cur.revision === a.revision && cur.encode().equals(a.encode());
  }

  /** Whether everything `a` needs is in the database and not still pending. */
  private ready(a: Assertion, pending: readonly Assertion[]): boolean {
    const needs: Ref[] = [...(a.assertionType.prerequisites?.(a) ?? [])];
    if (!a.assertionType.noAuthority) needs.push({ type: 'account-key', primaryKey: [a.signKeyId] });
    return needs.every((r) => {
      const waiting = pending.some((p) => p !== a && p.type === r.type && samePk(p.primaryKey, r.primaryKey));
      return !waiting;
    });
  }
}

function sameRef(a: Assertion, b: Assertion): boolean {
  return a.type === b.type && samePk(a.primaryKey, b.primaryKey);
}

function samePk(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Completes a primary key whose optional default-valued suffix was left out. */
export function fillPrimaryKey(t: AssertionType, key: readonly string[]): string[] | undefined {
  const n = t.primaryKey.length;
  const defaults = t.optionalPrimaryKeyDefaults ?? {};
  const nOpt = Object.keys(defaults).length;
  if (key.length > n || key.length < n - nOpt) return undefined;
  const out = [...key];
  for (let i = key.length; i < n; i++) out.push(defaults[t.primaryKey[i]!]!);
  return out;
}

/** The file/URL form of a primary key (default-valued optional suffix dropped). */
export function shortPrimaryKey(t: AssertionType, key: readonly string[]): string[] {
  return trimDefaultPrimaryKey(t, key);
}

/** Verifies a serial-request's self-signature (databases cannot hold this type). */
export function verifySerialRequest(req: Assertion): void {
  if (req.type !== 'serial-request') throw new AssertionError('assertion-invalid', `expected a serial-request, got ${quote(req.type)}`);
  (req.data as SerialRequestData).deviceKey.verify(req.content, req.signatureText);
}

/** Verifies a device-session-request against the device key of its serial. */
export function verifyDeviceSessionRequest(req: Assertion, serial: Assertion): void {
  if (req.type !== 'device-session-request' || serial.type !== 'serial') {
    throw new AssertionError('assertion-invalid', 'expected a device-session-request and a serial');
  }
  for (const h of ['brand-id', 'model', 'serial']) {
    if (req.headerString(h) !== serial.headerString(h)) {
      throw new AssertionError('assertion-inconsistent', `device-session-request ${h} ${quote(req.headerString(h))} does not match the serial's ${quote(serial.headerString(h))}`);
    }
  }
  (serial.data as SerialData).deviceKey.verify(req.content, req.signatureText);
}
