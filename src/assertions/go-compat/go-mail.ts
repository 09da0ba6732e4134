// RFC 5322 address parsing as Go 1.19's net/mail.ParseAddress does it:
// snapd validates the system-user "email" header with it and puts its error
// text in the assertion error ("mail: missing @ in addr-spec", ...). Go's
// parser is its own dialect (permissive phrases, no domain literals, no
// obsolete syntax, RFC 2047 encoded words in display names), so we follow
// it step by step rather than a generic RFC 5322 grammar.
import { goQuote, goQuoteRune } from './go-strconv.ts';

export interface MailAddress {
  /** Display name ("" when absent). */
  readonly name: string;
  /** local@domain */
  readonly address: string;
}

export class MailAddressError extends Error {
  override readonly name = 'MailAddressError';
}

function fail(msg: string): never {
  throw new MailAddressError(msg);
}

function isVchar(r: number): boolean {
  return (r >= 0x21 && r <= 0x7e) || r >= 0x80;
}

function isWSP(r: number): boolean {
  return r === 0x20 || r === 0x09;
}

function isQtext(r: number): boolean {
  return r !== 0x5c && r !== 0x22 && isVchar(r);
}

/** atext; with dot, "." too; permissive admits the specials except < > " :. */
function isAtext(r: number, dot: boolean, permissive: boolean): boolean {
  switch (String.fromCodePoint(r)) {
    case '.':
      return dot;
    case '(':
    case ')':
    case '[':
    case ']':
    case ';':
    case '@':
    case '\\':
    case ',':
      return permissive;
    case '<':
    case '>':
    case '"':
    case ':':
      return false;
  }
  return isVchar(r);
}

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Go's mime Q decoding validity. */
function qDecodes(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3d) {
      if (i + 2 >= s.length) return false;
      if (!/^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) return false;
      i += 2;
    } else if (c !== 0x5f && !((c >= 0x20 && c <= 0x7e) || c === 0x0a || c === 0x0d || c === 0x09)) {
      return false;
    }
  }
  return true;
}

/**
 * Go's decodeRFC2047Word with net/mail's default decoder: only utf-8,
 * iso-8859-1 and us-ascii are supported; a well-formed encoded word in
 * another charset is an error, anything malformed is just text.
 */
function decodeRFC2047Word(s: string): { word: string; encoded: boolean; error?: string } {
  const questionMarks = s.split('?').length - 1;
  if (s.length < 8 || !s.startsWith('=?') || !s.endsWith('?=') || questionMarks !== 4) return { word: s, encoded: false };
  const [charset = '', encoding = '', text = ''] = s.slice(2, -2).split('?');
  if (charset === '' || encoding.length !== 1) return { word: s, encoded: false };
  let content: Buffer;
  if (encoding === 'B' || encoding === 'b') {
    if (!STD_BASE64.test(text)) return { word: s, encoded: false };
    content = Buffer.from(text, 'base64');
  } else if (encoding === 'Q' || encoding === 'q') {
    if (!qDecodes(text)) return { word: s, encoded: false };
    content = Buffer.from(
      text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    );
  } else {
    return { word: s, encoded: false };
  }
  switch (charset.toLowerCase()) {
    case 'utf-8':
      return { word: content.toString('utf8'), encoded: true };
    case 'iso-8859-1':
      return { word: content.toString('latin1'), encoded: true };
    case 'us-ascii':
      return { word: [...content].map((b) => (b < 0x80 ? String.fromCharCode(b) : '\ufffd')).join(''), encoded: true };
    default:
      return { word: s, encoded: true, error: `charset not supported: ${goQuote(charset.toLowerCase())}` };
  }
}

class AddrParser {
  constructor(public s: string) {}

  private empty(): boolean {
    return this.s.length === 0;
  }

  private peek(): string {
    return this.s[0]!;
  }

  private consume(c: string): boolean {
    if (this.empty() || this.peek() !== c) return false;
    this.s = this.s.slice(1);
    return true;
  }

  private skipSpace(): void {
    this.s = this.s.replace(/^[ \t]+/, '');
  }

  skipCFWS(): boolean {
    this.skipSpace();
    while (this.consume('(')) {
      if (!this.consumeComment().ok) return false;
      this.skipSpace();
    }
    return true;
  }

  private consumeComment(): { comment: string; ok: boolean } {
    let depth = 1;
    let comment = '';
    while (!this.empty() && depth !== 0) {
      if (this.peek() === '\\' && this.s.length > 1) this.s = this.s.slice(1);
      else if (this.peek() === '(') depth++;
      else if (this.peek() === ')') depth--;
      if (depth > 0) comment += this.s[0];
      this.s = this.s.slice(1);
    }
    return { comment, ok: depth === 0 };
  }

  parseSingleAddress(): MailAddress {
    const addrs = this.parseAddress(true);
    if (!this.skipCFWS()) fail('mail: misformatted parenthetical comment');
    if (!this.empty()) fail(`mail: expected single address, got ${goQuote(this.s)}`);
    if (addrs.length === 0) fail('mail: empty group');
    if (addrs.length > 1) fail('mail: group with multiple addresses');
    return addrs[0]!;
  }

  private parseAddress(handleGroup: boolean): MailAddress[] {
    this.skipSpace();
    if (this.empty()) fail('mail: no address');
    const spec = this.tryAddrSpec();
    if (spec !== undefined) {
      let name = '';
      this.skipSpace();
      if (!this.empty() && this.peek() === '(') name = this.consumeDisplayNameComment();
      return [{ name, address: spec }];
    }
    let name = '';
    if (this.peek() !== '<') name = this.consumePhrase();
    this.skipSpace();
    if (handleGroup && this.consume(':')) return this.consumeGroupList();
    if (!this.consume('<')) {
      const atext = [...name].every((ch) => isAtext(ch.codePointAt(0)!, true, false));
      fail(atext ? "mail: missing '@' or angle-addr" : 'mail: no angle-addr');
    }
    const inner = this.consumeAddrSpec();
    if (!this.consume('>')) fail('mail: unclosed angle-addr');
    return [{ name, address: inner }];
  }

  private consumeGroupList(): MailAddress[] {
    const group: MailAddress[] = [];
    this.skipSpace();
    if (this.consume(';')) {
      this.skipCFWS();
      return group;
    }
    for (;;) {
      this.skipSpace();
      group.push(...this.parseAddress(false));
      if (!this.skipCFWS()) fail('mail: misformatted parenthetical comment');
      if (this.consume(';')) {
        this.skipCFWS();
        break;
      }
      if (!this.consume(',')) fail('mail: expected comma');
    }
    return group;
  }

  /** consumeAddrSpec that restores the state and reports failure as undefined. */
  private tryAddrSpec(): string | undefined {
    try {
      return this.consumeAddrSpec();
    } catch (err) {
      if (err instanceof MailAddressError) return undefined;
      throw err;
    }
  }

  private consumeAddrSpec(): string {
    const orig = this.s;
    try {
      this.skipSpace();
      if (this.empty()) fail('mail: no addr-spec');
      let local: string;
      if (this.peek() === '"') {
        // Go replaces any failure of the quoted string (which yields "") by this one.
        local = '';
        try {
          local = this.consumeQuotedString();
        } catch (err) {
          if (!(err instanceof MailAddressError)) throw err;
        }
        if (local === '') fail('mail: empty quoted string in addr-spec');
      } else {
        local = this.consumeAtom(true, false);
      }
      if (!this.consume('@')) fail('mail: missing @ in addr-spec');
      this.skipSpace();
      if (this.empty()) fail('mail: no domain in addr-spec');
      const domain = this.consumeAtom(true, false);
      return `${local}@${domain}`;
    } catch (err) {
      this.s = orig;
      throw err;
    }
  }

  private consumePhrase(): string {
    const words: string[] = [];
    let prevEncoded = false;
    let error: string | undefined;
    for (;;) {
      this.skipSpace();
      if (this.empty()) break;
      let word: string;
      let encoded = false;
      try {
        if (this.peek() === '"') {
          word = this.consumeQuotedString();
        } else {
          word = this.consumeAtom(true, true);
          const dec = decodeRFC2047Word(word);
          if (dec.error !== undefined) throw new MailAddressError(dec.error);
          word = dec.word;
          encoded = dec.encoded;
        }
      } catch (err) {
        if (!(err instanceof MailAddressError)) throw err;
        error = err.message;
        break;
      }
      if (prevEncoded && encoded) words[words.length - 1] += word;
      else words.push(word);
      prevEncoded = encoded;
    }
    if (error !== undefined && words.length === 0) fail(`mail: missing word in phrase: ${error}`);
    return words.join(' ');
  }

  private consumeQuotedString(): string {
    let i = 1;
    let out = '';
    let escaped = false;
    for (;;) {
      if (i >= this.s.length) fail('mail: unclosed quoted-string');
      const r = this.s.codePointAt(i)!;
      const size = r > 0xffff ? 2 : 1;
      if (escaped) {
        if (!isVchar(r) && !isWSP(r)) fail(`mail: bad character in quoted-string: ${goQuoteRune(r)}`);
        out += String.fromCodePoint(r);
        escaped = false;
      } else if (isQtext(r) || isWSP(r)) {
        out += String.fromCodePoint(r);
      } else if (r === 0x22) {
        break;
      } else if (r === 0x5c) {
        escaped = true;
      } else {
        fail(`mail: bad character in quoted-string: ${goQuoteRune(r)}`);
      }
      i += size;
    }
    this.s = this.s.slice(i + 1);
    return out;
  }

  private consumeAtom(dot: boolean, permissive: boolean): string {
    let i = 0;
    while (i < this.s.length) {
      const r = this.s.codePointAt(i)!;
      if (!isAtext(r, dot, permissive)) break;
      i += r > 0xffff ? 2 : 1;
    }
    if (i === 0) fail('mail: invalid string');
    const atom = this.s.slice(0, i);
    this.s = this.s.slice(i);
    if (!permissive) {
      if (atom.startsWith('.')) fail('mail: leading dot in atom');
      if (atom.includes('..')) fail('mail: double dot in atom');
      if (atom.endsWith('.')) fail('mail: trailing dot in atom');
    }
    return atom;
  }

  private consumeDisplayNameComment(): string {
    if (!this.consume('(')) fail('mail: comment does not start with (');
    const { comment, ok } = this.consumeComment();
    if (!ok) fail('mail: misformatted parenthetical comment');
    const words = comment.split(/[ \t]+/).filter((w) => w !== '');
    return words
      .map((w) => {
        const dec = decodeRFC2047Word(w);
        if (dec.error !== undefined) fail(dec.error);
        return dec.encoded ? dec.word : w;
      })
      .join(' ');
  }
}

/** Parses one address like Go's mail.ParseAddress; throws MailAddressError with Go's message. */
export function parseMailAddress(address: string): MailAddress {
  return new AddrParser(address).parseSingleAddress();
}
