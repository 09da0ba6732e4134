// The header block of an assertion: parsing and encoding, exactly as snapd
// does it (snapd asserts/headers.go; format in docs/assertions.md). Values are
// strings, lists or maps; there are no other scalars on the wire.
import { HeaderError, quote } from './errors.ts';

export type HeaderValue = string | readonly HeaderValue[] | HeaderMap;
export interface HeaderMap {
  readonly [key: string]: HeaderValue;
}

/** Deepest nesting of lists and maps a decoder accepts (snapd has no limit; we bound recursion). */
export const MAX_HEADER_NESTING = 64;

const HEADER_NAME = /^[a-z](?:-?[a-z0-9])*$/;
/** Indentation of a nested entry, and of the lines of a multi-line string, past the base. */
const NESTED_INDENT = 2;
const MULTILINE_INDENT = 4;
const LIST_PREFIX = '  -';

export function isValidHeaderName(name: string): boolean {
  return HEADER_NAME.test(name);
}

export function isHeaderMap(v: HeaderValue | undefined): v is HeaderMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isHeaderList(v: HeaderValue | undefined): v is readonly HeaderValue[] {
  return Array.isArray(v);
}

const spaceCache: string[] = [];
/** `n` spaces; cached because the parser asks for the same few indentations over and over. */
function spaces(n: number): string {
  return (spaceCache[n] ??= ' '.repeat(n));
}

/**
 * A plain object: V8 keeps null-prototype objects in slow dictionary mode.
 * Header names cannot be `__proto__`, and every lookup of a name that may be
 * absent goes through Object.hasOwn, so inherited properties never leak in.
 */
const listIntroCache: string[] = [];
/** `n` spaces and the list intro "  -", cached like spaces(). */
function listIntro(n: number): string {
  return (listIntroCache[n] ??= spaces(n) + LIST_PREFIX);
}

function newMap(): Record<string, HeaderValue> {
  return {};
}

interface Cursor {
  lines: string[];
  i: number;
}

/** Parses a header block (without the trailing blank line). Throws HeaderError. */
export function parseHeaders(head: string): Record<string, HeaderValue> {
  const headers = newMap();
  const cur: Cursor = { lines: head.split('\n'), i: 0 };
  while (cur.i < cur.lines.length) {
    const entry = cur.lines[cur.i]!;
    const colon = entry.indexOf(':');
    if (colon === -1) throw new HeaderError(`header entry missing ':' separator: ${quote(entry)}`);
    const name = entry.slice(0, colon);
    if (!HEADER_NAME.test(name)) throw new HeaderError(`invalid header name: ${quote(name)}`);
    const value = parseEntry(cur, colon + 1, 0, 0);
    if (Object.hasOwn(headers, name)) throw new HeaderError(`repeated header: ${quote(name)}`);
    headers[name] = value;
  }
  return headers;
}

function parseEntry(cur: Cursor, consumed: number, base: number, depth: number): HeaderValue {
  const entry = cur.lines[cur.i]!;
  cur.i++;
  if (consumed === entry.length) {
    if (depth >= MAX_HEADER_NESTING) throw new HeaderError(`header nesting deeper than ${MAX_HEADER_NESTING} levels`);
    const next = cur.lines[cur.i];
    const basePrefix = spaces(base + NESTED_INDENT);
    if (next !== undefined && next.startsWith(basePrefix)) {
      const rest = next.slice(basePrefix.length);
      if (rest.startsWith('-')) return parseList(cur, base, depth + 1);
      if (rest.length > 0 && rest[0] !== ' ') return parseMap(cur, base, depth + 1);
    }
    return parseMultiline(cur, base);
  }
  if (entry[consumed] !== ' ') {
    throw new HeaderError(`header entry should have a space or newline (for multiline) before value: ${quote(entry)}`);
  }
  return entry.slice(consumed + 1);
}

function parseMultiline(cur: Cursor, base: number): string {
  const prefix = spaces(base + MULTILINE_INDENT);
  const first = cur.i;
  while (cur.i < cur.lines.length && cur.lines[cur.i]!.startsWith(prefix)) cur.i++;
  if (cur.i === first) {
    const at = first === cur.lines.length ? 'EOF' : quote(cur.lines[first]!);
    throw new HeaderError(
      `expected ${prefix.length} chars nesting prefix after multiline introduction ${quote(cur.lines[first - 1]!)}: ${at}`,
    );
  }
  const parts: string[] = [];
  for (let j = first; j < cur.i; j++) parts.push(cur.lines[j]!.slice(prefix.length));
  return parts.join('\n');
}

function parseList(cur: Cursor, base: number, depth: number): HeaderValue[] {
  const list: HeaderValue[] = [];
  const prefix = listIntro(base);
  while (cur.i < cur.lines.length && cur.lines[cur.i]!.startsWith(prefix)) {
    list.push(parseEntry(cur, prefix.length, base + LIST_PREFIX.length - 1, depth));
  }
  return list;
}

function parseMap(cur: Cursor, base: number, depth: number): HeaderMap {
  const map = newMap();
  const prefix = spaces(base + NESTED_INDENT);
  while (cur.i < cur.lines.length && cur.lines[cur.i]!.startsWith(prefix)) {
    const entry = cur.lines[cur.i]!.slice(prefix.length);
    const colon = entry.indexOf(':');
    if (colon === -1) throw new HeaderError(`map entry missing ':' separator: ${quote(entry)}`);
    const key = entry.slice(0, colon);
    if (!HEADER_NAME.test(key)) throw new HeaderError(`invalid map entry key: ${quote(key)}`);
    const value = parseEntry(cur, prefix.length + colon + 1, prefix.length, depth);
    if (Object.hasOwn(map, key)) throw new HeaderError(`repeated map entry: ${quote(key)}`);
    map[key] = value;
  }
  return map;
}

/**
 * Appends one header entry as snapd writes it: `intro` is `name:`, `  -` or `  key:`
 * already indented. Empty lists and maps are dropped, like snapd does.
 */
export function appendEntry(out: string[], intro: string, value: HeaderValue, base: number): void {
  if (typeof value === 'string') {
    if (value.includes('\n')) {
      const prefix = spaces(base + MULTILINE_INDENT);
      out.push(`\n${intro}\n${prefix}${value.replaceAll('\n', '\n' + prefix)}`);
    } else {
      out.push(`\n${intro} ${value}`);
    }
    return;
  }
  if (isHeaderList(value)) {
    if (value.length === 0) return;
    out.push(`\n${intro}`);
    const prefix = listIntro(base);
    for (const elem of value) appendEntry(out, prefix, elem, base + LIST_PREFIX.length - 1);
    return;
  }
  const keys = Object.keys(value).sort(compareBytes);
  if (keys.length === 0) return;
  out.push(`\n${intro}`);
  const prefix = spaces(base + NESTED_INDENT);
  for (const key of keys) appendEntry(out, `${prefix}${key}:`, value[key]!, prefix.length);
}

/** Whether two header values are equal (strings, lists and maps, deeply). */
export function sameHeaderValue(a: HeaderValue, b: HeaderValue): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (isHeaderList(a) || isHeaderList(b)) return isHeaderList(a) && isHeaderList(b) && a.length === b.length && a.every((x, i) => sameHeaderValue(x, b[i]!));
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && sameHeaderValue(a[k]!, b[k]!));
}

/** Byte-order comparison of ASCII strings (Go's sort.Strings). */
export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * C0 and C1 control characters and DEL, except the newline of multi-line
 * values and the tab (plain text, harmless on a terminal, and written as it
 * is by snap sign).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A string that may go into a signed header: well-formed Unicode (a lone
 * surrogate would be written as U+FFFD, not as given) and no control
 * character but the newline and the tab. snapd's decoder takes a NUL or an escape
 * sequence as it is, so nothing downstream would stop a signed assertion that
 * puts them in front of an operator's terminal or a device's logs.
 */
function checkSignableText(value: string, where: string): string {
  if (LONE_SURROGATE.test(value)) throw new HeaderError(`header ${quote(where)}: not valid UTF-8 (a lone surrogate)`);
  const bad = CONTROL_CHARACTER.exec(value);
  if (bad) throw new HeaderError(`header ${quote(where)}: control character U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} not allowed`);
  return value;
}

/**
 * Checks that a value given for signing is made only of strings, lists and maps
 * with valid names, as snapd requires (`snap sign` JSON input; a null anywhere
 * is refused like `snap sign` refuses it), and returns a copy.
 */
export function normalizeHeaderValue(value: unknown, where: string, depth = 0): HeaderValue {
  if (depth > MAX_HEADER_NESTING) throw new HeaderError(`header ${quote(where)}: nesting deeper than ${MAX_HEADER_NESTING} levels`);
  if (typeof value === 'string') return checkSignableText(value, where);
  if (Array.isArray(value)) return value.map((v) => normalizeHeaderValue(v, where, depth + 1));
  if (typeof value === 'object' && value !== null) {
    const map = newMap();
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (!HEADER_NAME.test(k)) throw new HeaderError(`header ${quote(where)}: invalid map entry key: ${quote(k)}`);
      map[k] = normalizeHeaderValue(v, where, depth + 1);
    }
    return map;
  }
  throw new HeaderError(
    `header ${quote(where)}: header values must be strings or nested lists or maps with strings as the only scalars: ${value === null ? '<nil>' : String(value)}`,
  );
}
