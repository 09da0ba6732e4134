// The assertion object, assertion types, decoding and signing (snapd
// asserts/asserts.go). Decoding checks structure only; signatures and trust
// are the database's job (database.ts).
import { isUtf8 } from 'node:buffer';
import { AssertionError, HeaderError, quote } from './errors.ts';
import { appendEntry, compareBytes, isHeaderList, isHeaderMap, normalizeHeaderValue, parseHeaders, sameHeaderValue } from './headers.ts';
import type { HeaderMap, HeaderValue } from './headers.ts';
import { checkDigest, checkIntWithDefault, checkNotEmptyString, checkPrimaryKey } from './checks.ts';
import type { PrivateKey } from './crypto.ts';
import { assertionType } from './registry.ts';

/** What a type's assembler receives: the decoded parts, already checked for the common headers. */
export interface AssertionParts {
  readonly type: string;
  readonly headers: HeaderMap;
  readonly body: Buffer | undefined;
  readonly format: number;
  readonly revision: number;
}

/** A reference to an assertion by type and primary key. */
export interface Ref {
  readonly type: string;
  readonly primaryKey: readonly string[];
}

/** Read-only view of a trust database, for per-type consistency checks. */
export interface ConsistencyView {
  /** Finds an assertion in the trusted, predefined or stored layers. */
  find(type: string, primaryKey: readonly string[]): Assertion | undefined;
  /** Every assertion of `type` whose headers have the given string values. */
  findMany(type: string, headers: Readonly<Record<string, string>>): Assertion[];
  /** Whether the account is in the trusted layer ("directly trusted"). */
  isDirectlyTrusted(accountId: string): boolean;
}

/** The description of one assertion type: its key, its rules and its typed data. */
export interface AssertionType<D = unknown> {
  readonly name: string;
  readonly primaryKey: readonly string[];
  /** Defaults of optional primary-key headers (a suffix of primaryKey). */
  readonly optionalPrimaryKeyDefaults?: Readonly<Record<string, string>>;
  /** No authority-id: self-signed or signed by a device key. */
  readonly noAuthority?: boolean;
  /** The last primary-key element is a sequence number >= 1. */
  readonly sequenceForming?: boolean;
  /** The highest format this implementation understands. */
  readonly maxFormat: number;
  /** Type-specific decode checks; returns the typed data or throws HeaderError. */
  assemble(parts: AssertionParts): D;
  /** The lowest format covering the features the headers use (snapd SuggestFormat). */
  suggestFormat?(headers: HeaderMap, body: Buffer | undefined): number;
  /** The signing key's validity must cover this time (snapd's "timestamped" types). */
  timestamp?(data: D): Date;
  /** Assertions that must be in the database before this one. */
  prerequisites?(a: Assertion<D>): Ref[];
  /** Database-aware checks, run after the signature is verified. */
  checkConsistency?(db: ConsistencyView, a: Assertion<D>, signer: Assertion): void;
}

export const MEDIA_TYPE = 'application/x.ubuntu.assertion';

/** Stream decoder limits (snapd asserts.go). */
export const MAX_HEADERS_SIZE = 128 * 1024;
export const MAX_SIGNATURE_SIZE = 128 * 1024;
export const MAX_BODY_SIZE = 2 * 1024 * 1024;

const NLNL = Buffer.from('\n\n');

/** A decoded (or freshly signed) assertion. Immutable; keeps its original bytes. */
export class Assertion<D = unknown> {
  constructor(
    readonly assertionType: AssertionType<D>,
    readonly headers: HeaderMap,
    readonly body: Buffer | undefined,
    /** The signed bytes: headers, plus "\n\n" and the body if any. */
    readonly content: Buffer,
    /** The signature block as it appeared, including snapd's trailing newline. */
    readonly signature: Buffer,
    readonly format: number,
    readonly revision: number,
    /** The type's typed view of the headers. */
    readonly data: D,
  ) {}

  get type(): string {
    return this.assertionType.name;
  }

  header(name: string): HeaderValue | undefined {
    return Object.hasOwn(this.headers, name) ? this.headers[name] : undefined;
  }

  headerString(name: string): string {
    const v = this.header(name);
    return typeof v === 'string' ? v : '';
  }

  get authorityId(): string {
    return this.headerString('authority-id');
  }

  get signKeyId(): string {
    return this.headerString('sign-key-sha3-384');
  }

  get primaryKey(): string[] {
    return this.assertionType.primaryKey.map((k) => this.headerString(k));
  }

  get ref(): Ref {
    return { type: this.type, primaryKey: this.primaryKey };
  }

  /** The primary key as snapd's URLs and file names use it: default-valued optional suffix dropped. */
  get shortPrimaryKey(): string[] {
    return trimDefaultPrimaryKey(this.assertionType, this.primaryKey);
  }

  is<T>(type: AssertionType<T>): this is Assertion<T> {
    return this.assertionType === (type as unknown);
  }

  /** The signature block text, as given to the verifier. */
  get signatureText(): string {
    return this.signature.toString('latin1');
  }

  /** The assertion's bytes: content, blank line, signature (ends with "\n"). */
  encode(): Buffer {
    return Buffer.concat([this.content, NLNL, this.signature]);
  }

  toString(): string {
    return this.encode().toString('utf8');
  }
}

export function trimDefaultPrimaryKey(type: AssertionType, key: readonly string[]): string[] {
  const out = [...key];
  const defaults = type.optionalPrimaryKeyDefaults ?? {};
  for (let i = type.primaryKey.length - 1; i >= 0 && out.length === i + 1; i--) {
    const name = type.primaryKey[i]!;
    if (defaults[name] !== undefined && out[i] === defaults[name]) out.pop();
    else break;
  }
  return out;
}

function malformed(msg: string): never {
  throw new AssertionError('assertion-malformed', msg);
}

function wrapHeaderError<T>(prefix: string, code: AssertionError['code'], fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof HeaderError) throw new AssertionError(code, `${prefix}${err.message}`);
    throw err;
  }
}

function parseHeaderBlock(head: Buffer): Record<string, HeaderValue> {
  if (!isUtf8(head)) malformed('parsing assertion headers: header is not utf8');
  return wrapHeaderError('parsing assertion headers: ', 'assertion-malformed', () => parseHeaders(head.toString('utf8')));
}

/**
 * Common checks and the type's assembler (snapd's assemble). One try block
 * with a `stage` names what failed, instead of a closure per check: this runs
 * for every decoded assertion.
 */
function assemble(headers: Record<string, HeaderValue>, body: Buffer | undefined, content: Buffer, signature: Buffer): Assertion {
  let prefix = 'assertion: ';
  let code: AssertionError['code'] = 'assertion-malformed';
  try {
    const length = checkIntWithDefault(headers, 'body-length', 0);
    const bodyLen = body?.length ?? 0;
    if (length !== bodyLen) malformed(`assertion body length and declared body-length don't match: ${bodyLen} != ${length}`);
    if (body && !isUtf8(body)) malformed('assertion body is not utf8');
    checkDigest(headers, 'sign-key-sha3-384');
    const typeName = checkNotEmptyString(headers, 'type');
    const type = assertionType(typeName);
    if (!type) throw new AssertionError('assertion-unknown-type', `unknown assertion type: ${quote(typeName)}`);
    code = 'assertion-invalid';
    checkAuthorityPresence(type, headers, prefix);
    const format = checkIteration(headers, 'format');
    prefix = `assertion ${type.name}: `;
    for (const name of type.primaryKey) {
      const dflt = type.optionalPrimaryKeyDefaults?.[name];
      if (dflt !== undefined && !Object.hasOwn(headers, name)) headers[name] = dflt;
      checkPrimaryKey(headers, name);
    }
    prefix = 'assertion: ';
    const revision = checkIteration(headers, 'revision');
    if (signature.length === 0) throw new AssertionError('assertion-malformed', 'empty assertion signature');
    // Headers are immutable by type (HeaderMap is readonly); freezing them at
    // run time cost a sixth of decoding time, so it is left out.
    prefix = `assertion ${type.name}: `;
    const data = type.assemble({ type: type.name, headers, body, format, revision });
    return new Assertion(type, headers, body, content, signature, format, revision, data);
  } catch (err) {
    if (err instanceof HeaderError) throw new AssertionError(code, `${prefix}${err.message}`);
    throw err;
  }
}

function checkAuthorityPresence(type: AssertionType, headers: HeaderMap, prefix: string): void {
  if (!type.noAuthority) {
    wrapHeaderError(prefix, 'assertion-invalid', () => {
      checkNotEmptyString(headers, 'authority-id');
      if (Object.hasOwn(headers, 'signatory-id')) checkNotEmptyString(headers, 'signatory-id');
    });
    return;
  }
  for (const h of ['authority-id', 'signatory-id']) {
    if (Object.hasOwn(headers, h)) throw new AssertionError('assertion-invalid', `${quote(type.name)} assertion cannot have ${h} set`);
  }
}

function checkIteration(headers: HeaderMap, name: string): number {
  const n = checkIntWithDefault(headers, name, 0);
  if (n < 0) throw new HeaderError(`${name} should be positive: ${n}`);
  return n;
}

/**
 * Decodes one assertion (snapd's Decode): the content ends at the last blank
 * line, the headers at the first. Throws AssertionError with a stable code.
 */
export function decode(input: Buffer | string): Assertion {
  const buf = Buffer.from(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
  const split = buf.lastIndexOf(NLNL);
  if (split === -1) malformed('assertion content/signature separator not found');
  const content = buf.subarray(0, split);
  const signature = buf.subarray(split + 2);
  const hb = content.indexOf(NLNL);
  let head = content;
  let body: Buffer | undefined;
  if (hb !== -1) {
    head = content.subarray(0, hb);
    body = content.subarray(hb + 2);
    if (body.length === 0) body = undefined;
  }
  return assemble(parseHeaderBlock(head), body, content, signature);
}

/** Options of the stream decoder. */
export interface StreamOptions {
  /** Per-type body limits above the default 2 MiB (snapd lets `repair` have 24 MiB). */
  maxBodySize?: Readonly<Record<string, number>>;
  /** Stop after this many assertions (guards against huge streams). */
  maxAssertions?: number;
}

/**
 * Decodes a stream of assertions separated by one empty line (snapd's Decoder),
 * with its size limits. Returns every assertion; throws on the first error.
 */
export function decodeStream(input: Buffer | string, opts: StreamOptions = {}): Assertion[] {
  const out: Assertion[] = [];
  for (const a of iterateStream(input, opts)) out.push(a);
  return out;
}

/** Like decodeStream, one assertion at a time. */
export function* iterateStream(input: Buffer | string, opts: StreamOptions = {}): Generator<Assertion> {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const max = opts.maxAssertions ?? Number.POSITIVE_INFINITY;
  let pos = 0;
  let count = 0;
  // snapd's readUntil: find the delimiter within maxSize bytes of pos, else fail.
  const readUntil = (from: number, maxSize: number, what: string): { end: number; found: boolean } => {
    const i = buf.indexOf(NLNL, from);
    if (i === -1) {
      if (buf.length - from > maxSize) tooLarge(what);
      return { end: buf.length, found: false };
    }
    if (i + 2 - from > maxSize) tooLarge(what);
    return { end: i + 2, found: true };
  };
  const tooLarge = (what: string): never => {
    throw new AssertionError('assertion-too-large', `error reading assertion ${what}: maximum size exceeded while looking for delimiter "\\n\\n"`);
  };
  while (pos < buf.length) {
    if (count >= max) throw new AssertionError('assertion-too-large', `assertion stream has more than ${max} assertions`);
    const head = readUntil(pos, MAX_HEADERS_SIZE, 'headers');
    if (!head.found) {
      // Trailing bytes without a header terminator: EOF in the middle of an assertion.
      malformed('unexpected EOF');
    }
    const headLen = head.end - 2 - pos;
    const headers = parseHeaderBlock(buf.subarray(pos, pos + headLen));
    const typeName = typeof headers['type'] === 'string' ? headers['type'] : '';
    const length = wrapHeaderError('assertion: ', 'assertion-malformed', () => checkIntWithDefault(headers, 'body-length', 0));
    const typeMax = opts.maxBodySize?.[typeName];
    if (typeMax !== undefined && length > typeMax) {
      throw new AssertionError('assertion-too-large', `assertion body length ${length} exceeds maximum body size ${typeMax} for ${quote(typeName)} assertions`);
    } else if (typeMax === undefined && length > MAX_BODY_SIZE) {
      throw new AssertionError('assertion-too-large', `assertion body length ${length} exceeds maximum body size`);
    }
    let cursor = head.end;
    if (length > 0) {
      if (cursor + length > buf.length) malformed('unexpected EOF');
      cursor += length;
    }
    const trailer = readUntil(cursor, MAX_SIGNATURE_SIZE, 'trailer');
    let sigStart: number;
    let sigEnd: number;
    if (trailer.end - cursor === 2 && trailer.found) {
      const sig = readUntil(trailer.end, MAX_SIGNATURE_SIZE, 'signature');
      sigStart = trailer.end;
      sigEnd = sig.end;
    } else {
      if (length > 0) malformed('missing content/signature separator');
      sigStart = cursor;
      sigEnd = trailer.end;
    }
    let signature = buf.subarray(sigStart, sigEnd);
    if (signature.length >= 2 && signature[signature.length - 1] === 0x0a && signature[signature.length - 2] === 0x0a) {
      signature = signature.subarray(0, signature.length - 1);
    }
    const contentEnd = length > 0 ? pos + headLen + 2 + length : pos + headLen;
    const content = Buffer.from(buf.subarray(pos, contentEnd));
    const finalBody = length > 0 ? content.subarray(headLen + 2) : undefined;
    pos = sigEnd;
    count++;
    yield assemble(headers, finalBody, content, Buffer.from(signature));
  }
}

/** Encodes assertions as a stream: exactly one empty line between them. */
export function encodeStream(assertions: Iterable<Assertion>): Buffer {
  const parts: Buffer[] = [];
  let first = true;
  for (const a of assertions) {
    if (!first) parts.push(Buffer.from('\n'));
    const enc = a.encode();
    parts.push(enc);
    if (enc[enc.length - 1] !== 0x0a) parts.push(Buffer.from('\n'));
    first = false;
  }
  return Buffer.concat(parts);
}

/** Input for signing: headers as `snap sign` takes them (strings, lists, maps) and an optional body. */
export interface SignInput {
  headers: Record<string, unknown>;
  body?: Buffer | string;
}

/**
 * Builds the content in snapd's header order for `type` and validates it
 * with the type's assembler; returns the content and the final headers.
 */
export function buildContent(type: AssertionType, input: SignInput, signKeyId: string): { content: Buffer; headers: Record<string, HeaderValue>; body: Buffer | undefined } {
  const refuse = (msg: string): never => {
    throw new AssertionError('assertion-sign-refused', msg);
  };
  const headers = Object.create(null) as Record<string, HeaderValue>;
  for (const [name, value] of Object.entries(input.headers)) {
    if (value === undefined) continue;
    if (!/^[a-z](?:-?[a-z0-9])*$/.test(name)) refuse(`invalid header name: ${quote(name)}`);
    headers[name] = wrapHeaderError('', 'assertion-sign-refused', () => normalizeHeaderValue(value, name));
  }
  const body = input.body === undefined ? Buffer.alloc(0) : Buffer.from(input.body);
  if (!isUtf8(body)) refuse('assertion body is not utf8');
  headers['type'] = type.name;
  headers['body-length'] = String(body.length);
  headers['sign-key-sha3-384'] = signKeyId;
  try {
    checkAuthorityPresence(type, headers, '');
  } catch (err) {
    if (err instanceof AssertionError) refuse(err.message);
    throw err;
  }
  const format = wrapHeaderError('', 'assertion-sign-refused', () => checkIteration(headers, 'format'));
  if (format > type.maxFormat) refuse(`cannot sign ${quote(type.name)} assertion with format ${format} higher than max supported format ${type.maxFormat}`);
  const suggested = wrapHeaderError('', 'assertion-sign-refused', () => type.suggestFormat?.(headers, body) ?? 0);
  if (suggested > format) refuse(`cannot sign ${quote(type.name)} assertion with format set to ${format} lower than min format ${suggested} covering included features`);
  const revision = wrapHeaderError('', 'assertion-sign-refused', () => checkIteration(headers, 'revision'));

  const out: string[] = [`type: ${type.name}`];
  const write = (name: string) => appendEntry(out, `${name}:`, headers[name]!, 0);
  if (format > 0) write('format');
  else delete headers['format'];
  if (!type.noAuthority) {
    write('authority-id');
    if (Object.hasOwn(headers, 'signatory-id') && headers['signatory-id'] !== headers['authority-id']) write('signatory-id');
  }
  if (revision > 0) write('revision');
  else delete headers['revision'];
  const written = new Set(['type', 'format', 'authority-id', 'signatory-id', 'revision', 'body-length', 'sign-key-sha3-384']);
  for (const name of type.primaryKey) {
    const dflt = type.optionalPrimaryKeyDefaults?.[name];
    if (!Object.hasOwn(headers, name) && dflt !== undefined) {
      // Like snapd: the default is filled in but not marked written, so it is
      // emitted among the other headers in name order.
      headers[name] = dflt;
      continue;
    }
    const value = wrapHeaderError('', 'assertion-sign-refused', () => checkPrimaryKey(headers, name));
    if (value !== dflt) write(name);
    written.add(name);
  }
  for (const name of Object.keys(headers).filter((n) => !written.has(n)).sort(compareBytes)) write(name);
  if (body.length > 0) write('body-length');
  else delete headers['body-length'];
  write('sign-key-sha3-384');
  let text = out.join('');
  checkDecodesAsSigned(type, text, headers, body, refuse);
  if (body.length > 0) text += '\n\n';
  const content = Buffer.concat([Buffer.from(text, 'utf8'), body]);
  return { content, headers, body: body.length > 0 ? body : undefined };
}

/**
 * What is about to be signed must read back exactly as given with snapd's
 * decoder (ours follows it): within its size limits, and every header equal
 * after a round trip (a value with leading or trailing blanks, or a
 * multi-line value ending in a newline, would come back changed).
 */
function checkDecodesAsSigned(type: AssertionType, head: string, headers: Record<string, HeaderValue>, body: Buffer, refuse: (msg: string) => never): void {
  if (Buffer.byteLength(head) > MAX_HEADERS_SIZE) refuse(`headers are larger than snapd's limit of ${MAX_HEADERS_SIZE} bytes`);
  const bodyLimit = SIGNING_BODY_LIMITS[type.name] ?? MAX_BODY_SIZE;
  if (body.length > bodyLimit) refuse(`body is larger than snapd's limit of ${bodyLimit} bytes`);
  let decoded: Record<string, HeaderValue>;
  try {
    decoded = parseHeaders(head);
  } catch (err) {
    if (err instanceof HeaderError) refuse(`the headers would not decode: ${err.message}`);
    throw err;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (Object.hasOwn(decoded, name) ? sameHeaderValue(decoded[name]!, asWritten(value)) : isLeftOut(type, name, value)) continue;
    refuse(`header ${quote(name)} would not decode as given (leading or trailing blanks, or a trailing newline?)`);
  }
}

/** A value as snapd's encoder writes it: empty lists and maps inside lists and maps are left out, like empty headers. */
function asWritten(value: HeaderValue): HeaderValue {
  const isEmpty = (v: HeaderValue) => typeof v !== 'string' && (isHeaderList(v) ? v.length === 0 : Object.keys(v).length === 0);
  if (typeof value === 'string') return value;
  if (isHeaderList(value)) return value.filter((v) => !isEmpty(v)).map(asWritten);
  return Object.fromEntries(Object.entries(value).filter(([, v]) => !isEmpty(v)).map(([k, v]) => [k, asWritten(v)]));
}

/** Bodies larger than the stream default that snapd reads for a type (snap-repair's scripts). */
const SIGNING_BODY_LIMITS: Readonly<Record<string, number>> = { repair: 24 * 1024 * 1024 };

/** Headers snapd leaves out of the text: empty lists and maps, and a primary key equal to its default. */
function isLeftOut(type: AssertionType, name: string, value: HeaderValue): boolean {
  if (isHeaderList(value)) return value.length === 0;
  if (isHeaderMap(value)) return Object.keys(value).length === 0;
  return type.optionalPrimaryKeyDefaults?.[name] === value;
}

/**
 * Signs an assertion of `type` with `key` (snapd's assembleAndSign). The
 * signature's creation time is `when`; the `timestamp` header is whatever the
 * caller put in the headers.
 */
export function sign(type: AssertionType, input: SignInput, key: PrivateKey, when: Date): Assertion {
  const { content, headers, body } = buildContent(type, input, key.id);
  const signature = Buffer.from(key.sign(content, when) + '\n');
  return assembleSigned(type, headers, body, content, signature);
}

/** Like sign, with the RSA work off the event loop. */
export function signAsync(type: AssertionType, input: SignInput, key: PrivateKey, when: Date): Promise<Assertion> {
  return signWith(type, input, key.id, (content) => key.signAsync(content, when));
}

/**
 * Like signAsync, for a key held elsewhere: `signContent` returns the
 * signature block of the key `keyId` over the content (as PrivateKey.sign does).
 */
export async function signWith(type: AssertionType, input: SignInput, keyId: string, signContent: (content: Buffer) => Promise<string>): Promise<Assertion> {
  const { content, headers, body } = buildContent(type, input, keyId);
  const signature = Buffer.from((await signContent(content)) + '\n');
  return assembleSigned(type, headers, body, content, signature);
}

function assembleSigned(type: AssertionType, headers: Record<string, HeaderValue>, body: Buffer | undefined, content: Buffer, signature: Buffer): Assertion {
  try {
    return assemble(headers, body, content, signature);
  } catch (err) {
    if (err instanceof AssertionError) {
      const msg = err.message.startsWith(`assertion ${type.name}: `) ? err.message.slice(`assertion ${type.name}: `.length) : err.message;
      throw new AssertionError('assertion-sign-refused', `cannot assemble assertion ${type.name}: ${msg}`);
    }
    throw err;
  }
}

/** Whether a header value is a list (type guard re-exported for type modules). */
export { isHeaderList, isHeaderMap };
