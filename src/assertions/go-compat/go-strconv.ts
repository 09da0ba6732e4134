// Go's strconv conventions that show up in snapd's error messages: %q of a
// string or a rune, and Atoi's error texts.

const NAMED_ESCAPES: Readonly<Record<number, string>> = {
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
  0x5c: '\\\\',
};

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function escapeRune(r: number, quote: number): string {
  if (r === quote) return `\\${String.fromCodePoint(r)}`;
  const named = NAMED_ESCAPES[r];
  if (named) return named;
  const ch = String.fromCodePoint(r);
  if (PRINTABLE.test(ch)) return ch;
  if (r < 0x80) return `\\x${r.toString(16).padStart(2, '0')}`;
  if (r < 0x10000) return `\\u${r.toString(16).padStart(4, '0')}`;
  return `\\U${r.toString(16).padStart(8, '0')}`;
}

/** Go's %q of a string (strconv.Quote). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) out += escapeRune(ch.codePointAt(0)!, 0x22);
  return `${out}"`;
}

/** Go's %q of a rune (strconv.QuoteRune). */
export function goQuoteRune(r: number): string {
  return `'${escapeRune(r, 0x27)}'`;
}

/** Go's strconv.Atoi on a 64-bit platform; throws its error text (`strconv.Atoi: parsing "x": ...`). */
export function goAtoi(s: string): number {
  const body = s.startsWith('+') || s.startsWith('-') ? s.slice(1) : s;
  if (!/^[0-9]+$/.test(body)) throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`);
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) {
    throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: value out of range`);
  }
  return Number(n);
}
