// Small shared validators for header values (snapd asserts/header_checks.go).
// Each throws a HeaderError whose message names the header, like snapd's.
import { HeaderError, quote } from './errors.ts';
import { isHeaderList, isHeaderMap, type HeaderMap, type HeaderValue } from './headers.ts';

type Headers = HeaderMap;

/** How a value is named in messages ("header", `of snap "x"`); a function when costly to build. */
export type What = string | (() => string);
const w = (what: What): string => (typeof what === 'function' ? what() : what);

export function checkExistsString(h: Headers, name: string, what: What = 'header'): string {
  if (!Object.hasOwn(h, name)) throw new HeaderError(`${quote(name)} ${w(what)} is mandatory`);
  const v = h[name];
  if (typeof v !== 'string') throw new HeaderError(`${quote(name)} ${w(what)} must be a string`);
  return v;
}

export function checkNotEmptyString(h: Headers, name: string, what: What = 'header'): string {
  const s = checkExistsString(h, name, what);
  if (s.length === 0) throw new HeaderError(`${quote(name)} ${w(what)} should not be empty`);
  return s;
}

export function checkOptionalString(h: Headers, name: string, what: What = 'header'): string {
  if (!Object.hasOwn(h, name)) return '';
  const v = h[name];
  if (typeof v !== 'string') throw new HeaderError(`${quote(name)} ${w(what)} must be a string`);
  return v;
}

export function checkPrimaryKey(h: Headers, name: string): string {
  const v = checkNotEmptyString(h, name);
  if (v.includes('/')) throw new HeaderError(`${quote(name)} primary key header cannot contain '/'`);
  return v;
}

const GO_INT = /^[+-]?[0-9]+$/;

/** Go's strconv.Atoi on a 64-bit platform, plus snapd's rejection of prefix zeros. */
export function parseGoInt(value: string, which: string): number {
  if (!GO_INT.test(value)) throw new HeaderError(`${which} is not an integer: ${value}`);
  const n = BigInt(value);
  if (n > 9223372036854775807n || n < -9223372036854775808n) throw new HeaderError(`${which} is out of range: ${value}`);
  if (value.startsWith('0') && value !== '0') throw new HeaderError(`${which} has invalid prefix zeros: ${value}`);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
    // Beyond what a JS number holds exactly: no real header needs it.
    throw new HeaderError(`${which} is out of range: ${value}`);
  }
  return Number(n);
}

export function checkIntWithDefault(h: Headers, name: string, dflt: number): number {
  if (!Object.hasOwn(h, name)) return dflt;
  const v = h[name];
  if (typeof v !== 'string') throw new HeaderError(`${quote(name)} header is not an integer: ${describe(v)}`);
  return parseGoInt(v, `${quote(name)} header`);
}

export function checkInt(h: Headers, name: string, what: What = 'header'): number {
  return parseGoInt(checkNotEmptyString(h, name, what), `${quote(name)} ${w(what)}`);
}

export function checkUint(h: Headers, name: string): number {
  const v = checkNotEmptyString(h, name);
  if (!/^[0-9]+$/.test(v)) throw new HeaderError(`${quote(name)} header is not an unsigned integer: ${v}`);
  if (v.startsWith('0') && v !== '0') throw new HeaderError(`${quote(name)} header has invalid prefix zeros: ${v}`);
  const n = BigInt(v);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new HeaderError(`${quote(name)} header is out of range: ${v}`);
  return Number(n);
}


const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  if (month !== 2) return DAYS_IN_MONTH[month - 1]!;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

/** Reads `n` ASCII digits at `at`; -1 if any is not a digit. */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Parses an RFC 3339 date as Go's time.Parse(time.RFC3339) does; undefined if
 * invalid. Hand-scanned rather than a regular expression: every assertion has
 * a few dates, and this is on the decoding path of every one.
 */
export function parseRFC3339(s: string): Date | undefined {
  // YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm)
  if (s.length < 20 || s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':') return undefined;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const min = digits(s, 14, 2);
  const sec = digits(s, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 59) {
    return undefined;
  }
  let i = 19;
  let fracMs = 0;
  if (s[i] === '.') {
    const start = ++i;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    if (i === start) return undefined;
    fracMs = Math.floor(Number(`0.${s.slice(start, i)}`) * 1000);
  }
  let offset = 0;
  if (s[i] === 'Z' && i + 1 === s.length) {
    // UTC
  } else if ((s[i] === '+' || s[i] === '-') && i + 6 === s.length && s[i + 3] === ':') {
    const offH = digits(s, i + 1, 2);
    const offM = digits(s, i + 4, 2);
    if (offH < 0 || offM < 0 || offH > 23 || offM > 59) return undefined;
    offset = (offH * 60 + offM) * 60_000 * (s[i] === '+' ? -1 : 1);
  } else {
    return undefined;
  }
  let ms = Date.UTC(year, month - 1, day, hour, min, sec);
  if (year < 100) ms = new Date(ms).setUTCFullYear(year);
  return new Date(ms + fracMs + offset);
}

/** Go's RFC 3339 rendering of a time in UTC, fractional seconds dropped (what snapd writes). */
export function formatTimestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function checkRFC3339Date(h: Headers, name: string, what: What = 'header'): Date {
  const s = checkNotEmptyString(h, name, what);
  const d = parseRFC3339(s);
  if (!d) throw new HeaderError(`${quote(name)} ${w(what)} is not a RFC3339 date: ${quote(s)}`);
  return d;
}

export function checkOptionalRFC3339Date(h: Headers, name: string, what: What = 'header'): Date | undefined {
  if (!Object.hasOwn(h, name)) return undefined;
  const v = h[name];
  if (typeof v !== 'string') throw new HeaderError(`${quote(name)} ${w(what)} must be a string`);
  const d = parseRFC3339(v);
  if (!d) throw new HeaderError(`${quote(name)} ${w(what)} is not a RFC3339 date: ${quote(v)}`);
  return d;
}

const BASE64URL_ALPHABET = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') BASE64URL_ALPHABET[c.charCodeAt(0)] = 1;

/**
 * Decodes unpadded base64url as Go's base64.RawURLEncoding does: line breaks
 * are skipped, trailing bits are ignored; returns the error text Go gives.
 */
export function decodeRawBase64Url(s: string): Buffer | string {
  let n = 0;
  let last = -1;
  let breaks = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10 || c === 13) {
      breaks = true;
      continue;
    }
    if (c >= 128 || BASE64URL_ALPHABET[c] !== 1) return `illegal base64 data at input byte ${i}`;
    n++;
    last = i;
  }
  if (n % 4 === 1) return `illegal base64 data at input byte ${last}`;
  return Buffer.from(breaks ? s.replace(/[\r\n]/g, '') : s, 'base64url');
}

/** A SHA3-384 digest header: base64url without padding of 48 bytes. */
export function checkDigest(h: Headers, name: string, size = 48): string {
  const s = checkNotEmptyString(h, name);
  const b = decodeRawBase64Url(s);
  if (typeof b === 'string') throw new HeaderError(`${quote(name)} header cannot be decoded: ${b}`);
  if (b.length !== size) throw new HeaderError(`${quote(name)} header does not have the expected bit length: ${b.length * 8}`);
  return s;
}

export function checkStringListInMap(m: Headers, name: string, what: What, pattern?: RegExp): string[] {
  if (!Object.hasOwn(m, name)) return [];
  const v = m[name];
  if (!isHeaderList(v)) throw new HeaderError(`${w(what)} must be a list of strings`);
  return v.map((s) => {
    if (typeof s !== 'string') throw new HeaderError(`${w(what)} must be a list of strings`);
    if (pattern && !pattern.test(s)) throw new HeaderError(`${w(what)} contains an invalid element: ${quote(s)}`);
    return s;
  });
}

export function checkStringList(h: Headers, name: string, pattern?: RegExp): string[] {
  return checkStringListInMap(h, name, `${quote(name)} header`, pattern);
}

export function checkStringMatches(h: Headers, name: string, pattern: RegExp, what: What = 'header'): string {
  const s = checkNotEmptyString(h, name, what);
  if (!pattern.test(s)) throw new HeaderError(`${quote(name)} ${w(what)} contains invalid characters: ${quote(s)}`);
  return s;
}

export function checkOptionalBool(h: Headers, name: string, what: What = 'header'): boolean {
  if (!Object.hasOwn(h, name)) return false;
  const v = h[name];
  if (v !== 'true' && v !== 'false') throw new HeaderError(`${quote(name)} ${w(what)} must be 'true' or 'false'`);
  return v === 'true';
}

export function checkMap(h: Headers, name: string, what: What = 'header'): HeaderMap | undefined {
  if (!Object.hasOwn(h, name)) return undefined;
  const v = h[name];
  if (!isHeaderMap(v)) throw new HeaderError(`${quote(name)} ${w(what)} must be a map`);
  return v;
}

/** A list of maps, as several types carry (model snaps, validation-set snaps, ...). */
export function checkListOfMaps(h: Headers, name: string, what: What = 'header'): HeaderMap[] {
  if (!Object.hasOwn(h, name)) return [];
  const v = h[name];
  if (!isHeaderList(v)) throw new HeaderError(`${quote(name)} ${w(what)} must be a list of maps`);
  return v.map((e) => {
    if (!isHeaderMap(e)) throw new HeaderError(`${quote(name)} ${w(what)} must be a list of maps`);
    return e;
  });
}

function describe(v: HeaderValue | undefined): string {
  if (isHeaderList(v)) return `[${v.map(describe).join(' ')}]`;
  if (isHeaderMap(v)) return 'map[...]';
  return String(v);
}
