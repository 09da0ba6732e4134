// Syntax check of regular expressions the way Go 1.19's regexp.Compile
// (regexp/syntax, Perl flags) accepts them. snapd compiles the attribute and
// name constraints of interface rules as Go regexps, anchored as
// "^(" + pattern + ")$", and rejects assertions whose patterns do not
// compile; the error text ("error parsing regexp: CODE: `EXPR`") ends up in
// the assertion error. JavaScript's RegExp accepts a different language
// (lookarounds, backreferences, no \z, no (?P<name>), ...), so we run our
// own parser. It only validates: it builds a small tree to apply the same
// stack discipline and repetition limits, not a matcher.
//
// Not reproduced exactly: the size guards Go applies to huge expressions
// (more than 3.3M compiled instructions or 32M class runes, reported as
// "regexp/syntax: internal error"), and the nesting-depth guard ("expression
// nests too deeply", depth > 1000) is computed on our simplified tree, which
// can differ from Go's by a level in unusual shapes.

export class GoRegexpError extends Error {
  override readonly name = 'GoRegexpError';
  constructor(
    readonly code: string,
    readonly expr: string,
  ) {
    super(`error parsing regexp: ${code}: \`${expr}\``);
  }
}

const ERR_INVALID_CHAR_RANGE = 'invalid character class range';
const ERR_INVALID_ESCAPE = 'invalid escape sequence';
const ERR_INVALID_NAMED_CAPTURE = 'invalid named capture';
const ERR_INVALID_PERL_OP = 'invalid or unsupported Perl syntax';
const ERR_INVALID_REPEAT_OP = 'invalid nested repetition operator';
const ERR_INVALID_REPEAT_SIZE = 'invalid repeat count';
const ERR_MISSING_BRACKET = 'missing closing ]';
const ERR_MISSING_PAREN = 'missing closing )';
const ERR_MISSING_REPEAT_ARGUMENT = 'missing argument to repetition operator';
const ERR_TRAILING_BACKSLASH = 'trailing backslash at end of expression';
const ERR_UNEXPECTED_PAREN = 'unexpected )';
const ERR_NESTING_DEPTH = 'expression nests too deeply';

const MAX_REPEAT = 1000;
const MAX_HEIGHT = 1000;

// Unicode 13 (Go 1.19's tables): general categories and scripts usable in \p{...}.
const UNICODE_CATEGORIES = 'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs';
const UNICODE_SCRIPTS =
  'Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak Bengali Bhaiksuki ' +
  'Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian Caucasian_Albanian Chakma Cham Cherokee ' +
  'Chorasmian Common Coptic Cuneiform Cypriot Cyrillic Deseret Devanagari Dives_Akuru Dogra Duployan ' +
  'Egyptian_Hieroglyphs Elbasan Elymaic Ethiopic Georgian Glagolitic Gothic Grantha Greek Gujarati Gunjala_Gondi ' +
  'Gurmukhi Han Hangul Hanifi_Rohingya Hanunoo Hatran Hebrew Hiragana Imperial_Aramaic Inherited ' +
  'Inscriptional_Pahlavi Inscriptional_Parthian Javanese Kaithi Kannada Katakana Kayah_Li Kharoshthi ' +
  'Khitan_Small_Script Khmer Khojki Khudawadi Lao Latin Lepcha Limbu Linear_A Linear_B Lisu Lycian Lydian ' +
  'Mahajani Makasar Malayalam Mandaic Manichaean Marchen Masaram_Gondi Medefaidrin Meetei_Mayek Mende_Kikakui ' +
  'Meroitic_Cursive Meroitic_Hieroglyphs Miao Modi Mongolian Mro Multani Myanmar Nabataean Nandinagari ' +
  'New_Tai_Lue Newa Nko Nushu Nyiakeng_Puachue_Hmong Ogham Ol_Chiki Old_Hungarian Old_Italic Old_North_Arabian ' +
  'Old_Permic Old_Persian Old_Sogdian Old_South_Arabian Old_Turkic Oriya Osage Osmanya Pahawh_Hmong Palmyrene ' +
  'Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi Rejang Runic Samaritan Saurashtra Sharada Shavian Siddham ' +
  'SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese Syloti_Nagri Syriac Tagalog Tagbanwa Tai_Le ' +
  'Tai_Tham Tai_Viet Takri Tamil Tangut Telugu Thaana Thai Tibetan Tifinagh Tirhuta Ugaritic Vai Wancho ' +
  'Warang_Citi Yezidi Yi Zanabazar_Square';
const UNICODE_TABLES = new Set(['Any', ...UNICODE_CATEGORIES.split(' '), ...UNICODE_SCRIPTS.split(' ')]);

const POSIX_CLASSES = new Set(
  ['alnum', 'alpha', 'ascii', 'blank', 'cntrl', 'digit', 'graph', 'lower', 'print', 'punct', 'space', 'upper', 'word', 'xdigit'].flatMap(
    (n) => [`[:${n}:]`, `[:^${n}:]`],
  ),
);

/** A node of the parse tree: only what the checks look at. */
interface Node {
  readonly kind: 'leaf' | 'capture' | 'repeat' | 'star' | 'concat' | 'alternate';
  readonly subs: readonly Node[];
  readonly min?: number;
  readonly max?: number;
  /** A literal character: runs of them form one node, as Go's literal strings do. */
  readonly literal?: boolean;
}

interface Pseudo {
  readonly kind: 'lparen' | 'vbar';
  readonly capture?: boolean;
}

type Item = Node | Pseudo;

const LEAF: Node = { kind: 'leaf', subs: [] };
const LITERAL: Node = { kind: 'leaf', subs: [], literal: true };

function isPseudo(item: Item | undefined): item is Pseudo {
  return item !== undefined && (item.kind === 'lparen' || item.kind === 'vbar');
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function unhex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function isOctal(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '7';
}

function repeatIsValid(re: Node, n: number): boolean {
  if (re.kind === 'repeat') {
    let m = re.max!;
    if (m === 0) return true;
    if (m < 0) m = re.min!;
    if (m > n) return false;
    if (m > 0) n = Math.trunc(n / m);
  }
  return re.subs.every((sub) => repeatIsValid(sub, n));
}

function height(re: Node): number {
  let h = 1;
  for (const sub of re.subs) h = Math.max(h, 1 + height(sub));
  return h;
}

class Parser {
  private readonly stack: Item[] = [];
  private nodes = 0;

  constructor(private readonly s: string) {}

  private fail(code: string, expr: string): never {
    throw new GoRegexpError(code, expr);
  }

  /** The code point at i and its length in UTF-16 units (0 at the end, like Go's RuneError/0). */
  private rune(i: number): [number, number] {
    if (i >= this.s.length) return [0xfffd, 0];
    const c = this.s.codePointAt(i)!;
    return [c, c > 0xffff ? 2 : 1];
  }

  private push(item: Item): void {
    this.nodes++;
    this.stack.push(item);
  }

  private concat(): void {
    let i = this.stack.length;
    while (i > 0 && !isPseudo(this.stack[i - 1])) i--;
    const subs = (this.stack.splice(i) as Node[]).filter((n, k, all) => !(n.literal && all[k - 1]?.literal));
    this.push(subs.length === 1 ? subs[0]! : subs.length === 0 ? LEAF : { kind: 'concat', subs });
  }

  private alternate(): void {
    let i = this.stack.length;
    while (i > 0 && !isPseudo(this.stack[i - 1])) i--;
    const subs = this.stack.splice(i) as Node[];
    this.push(subs.length === 1 ? subs[0]! : subs.length === 0 ? LEAF : { kind: 'alternate', subs });
  }

  /** If an alternative sits above a "|", move it below (it then belongs to the alternation). */
  private swapVerticalBar(): boolean {
    const n = this.stack.length;
    if (n >= 2 && this.stack[n - 2]!.kind === 'vbar') {
      const top = this.stack[n - 1]!;
      this.stack[n - 1] = this.stack[n - 2]!;
      this.stack[n - 2] = top;
      return true;
    }
    return false;
  }

  private repeat(kind: 'repeat' | 'star', min: number, max: number, before: number, after: number, lastRepeat: number): number {
    if (this.s[after] === '?') after++;
    if (lastRepeat >= 0) this.fail(ERR_INVALID_REPEAT_OP, this.s.slice(lastRepeat, after));
    const top = this.stack[this.stack.length - 1];
    if (top === undefined || isPseudo(top)) this.fail(ERR_MISSING_REPEAT_ARGUMENT, this.s.slice(before, after));
    const re: Node = { kind, subs: [top], min, max };
    this.stack[this.stack.length - 1] = re;
    this.nodes++;
    if (kind === 'repeat' && (min >= 2 || max >= 2) && !repeatIsValid(re, MAX_REPEAT)) {
      this.fail(ERR_INVALID_REPEAT_SIZE, this.s.slice(before, after));
    }
    return after;
  }

  /** {n}, {n,} or {n,m} at i; undefined when it is not of that form (then "{" is a literal). */
  private parseRepeat(i: number): { min: number; max: number; end: number } | undefined {
    const s = this.s;
    const int = (j: number): { n: number; end: number } | undefined => {
      if (!(s[j]! >= '0' && s[j]! <= '9')) return undefined;
      if (s[j] === '0' && s[j + 1] !== undefined && s[j + 1]! >= '0' && s[j + 1]! <= '9') return undefined;
      let k = j;
      while (k < s.length && s[k]! >= '0' && s[k]! <= '9') k++;
      let n = 0;
      for (let x = j; x < k; x++) {
        if (n >= 1e8) {
          n = -1;
          break;
        }
        n = n * 10 + (s.charCodeAt(x) - 0x30);
      }
      return { n, end: k };
    };
    const first = int(i + 1);
    if (!first) return undefined;
    let min = first.n;
    let max: number;
    let j = first.end;
    if (j >= s.length) return undefined;
    if (s[j] !== ',') {
      max = min;
    } else {
      j++;
      if (j >= s.length) return undefined;
      if (s[j] === '}') {
        max = -1;
      } else {
        const second = int(j);
        if (!second) return undefined;
        max = second.n;
        j = second.end;
        if (max < 0) min = -1;
      }
    }
    if (s[j] !== '}') return undefined;
    return { min, max, end: j + 1 };
  }

  private parsePerlFlags(pos: number): number {
    const s = this.s;
    if (s[pos + 2] === 'P' && s[pos + 3] === '<' && s.length - pos > 4) {
      const end = s.indexOf('>', pos);
      if (end < 0) this.fail(ERR_INVALID_NAMED_CAPTURE, s.slice(pos));
      const name = s.slice(pos + 4, end);
      if (!/^[A-Za-z0-9_]+$/.test(name)) this.fail(ERR_INVALID_NAMED_CAPTURE, s.slice(pos, end + 1));
      this.push({ kind: 'lparen', capture: true });
      return end + 1;
    }
    let i = pos + 2;
    let negated = false;
    let sawFlag = false;
    while (i < s.length) {
      const [c, size] = this.rune(i);
      i += size;
      const ch = String.fromCodePoint(c);
      if (ch === 'i' || ch === 'm' || ch === 's' || ch === 'U') {
        sawFlag = true;
      } else if (ch === '-') {
        if (negated) break;
        negated = true;
        sawFlag = false;
      } else if (ch === ':' || ch === ')') {
        if (negated && !sawFlag) break;
        if (ch === ':') this.push({ kind: 'lparen', capture: false });
        return i;
      } else {
        break;
      }
    }
    this.fail(ERR_INVALID_PERL_OP, s.slice(pos, i));
  }

  private parseRightParen(): void {
    this.concat();
    if (this.swapVerticalBar()) this.stack.pop();
    this.alternate();
    const n = this.stack.length;
    if (n < 2) this.fail(ERR_UNEXPECTED_PAREN, this.s);
    const re1 = this.stack.pop() as Node;
    const re2 = this.stack.pop()!;
    if (re2.kind !== 'lparen') this.fail(ERR_UNEXPECTED_PAREN, this.s);
    this.push((re2 as Pseudo).capture ? { kind: 'capture', subs: [re1] } : re1);
  }

  /** An escape at pos (s[pos] is "\"); returns the end. */
  private parseEscape(pos: number): number {
    const s = this.s;
    let t = pos + 1;
    if (t >= s.length) this.fail(ERR_TRAILING_BACKSLASH, '');
    let [c, size] = this.rune(t);
    t += size;
    const ok = ((): boolean => {
      const ch = String.fromCodePoint(c);
      if (ch >= '1' && ch <= '7' && !isOctal(s[t])) return false;
      if (ch >= '0' && ch <= '7') {
        for (let k = 1; k < 3 && isOctal(s[t]); k++) t++;
        return true;
      }
      if (ch === 'x') {
        if (t >= s.length) return false;
        [c, size] = this.rune(t);
        t += size;
        if (c === 0x7b) {
          let nhex = 0;
          let r = 0;
          for (;;) {
            if (t >= s.length) return false;
            [c, size] = this.rune(t);
            t += size;
            if (c === 0x7d) break;
            const v = unhex(c);
            if (v < 0) return false;
            r = r * 16 + v;
            if (r > 0x10ffff) return false;
            nhex++;
          }
          return nhex > 0;
        }
        const x = unhex(c);
        [c, size] = this.rune(t);
        t += size;
        return x >= 0 && unhex(c) >= 0;
      }
      if ('afnrtv'.includes(ch) && ch.length === 1) return true;
      return c < 0x80 && !isAlnum(c);
    })();
    if (!ok) this.fail(ERR_INVALID_ESCAPE, s.slice(pos, t));
    return t;
  }

  /** \p or \P at pos; returns the end. */
  private parseUnicodeClass(pos: number): number {
    const s = this.s;
    const t = pos + 2;
    const [c, size] = this.rune(t);
    let seq: string;
    let name: string;
    let end: number;
    if (c !== 0x7b) {
      end = t + size;
      seq = s.slice(pos, end);
      name = seq.slice(2);
    } else {
      const close = s.indexOf('}', pos);
      if (close < 0) this.fail(ERR_INVALID_CHAR_RANGE, s.slice(pos));
      end = close + 1;
      seq = s.slice(pos, end);
      name = s.slice(pos + 3, close);
    }
    if (name.startsWith('^')) name = name.slice(1);
    if (!UNICODE_TABLES.has(name)) this.fail(ERR_INVALID_CHAR_RANGE, seq);
    return end;
  }

  private isPerlClassEscape(pos: number): boolean {
    return this.s[pos] === '\\' && 'dDsSwW'.includes(this.s[pos + 1] ?? '.');
  }

  /** A class character (possibly escaped) at t; returns [code point, end]. */
  private parseClassChar(t: number, classStart: number): [number, number] {
    if (t >= this.s.length) this.fail(ERR_MISSING_BRACKET, this.s.slice(classStart));
    if (this.s[t] === '\\') {
      const end = this.parseEscape(t);
      return [this.escapedValue(t, end), end];
    }
    const [c, size] = this.rune(t);
    return [c, t + size];
  }

  /** The value of a (valid) escape spanning [start, end). */
  private escapedValue(start: number, end: number): number {
    const body = this.s.slice(start + 1, end);
    const ch = body[0]!;
    if (ch >= '0' && ch <= '7') return parseInt(body, 8);
    if (ch === 'x') return parseInt(body.startsWith('x{') ? body.slice(2, -1) : body.slice(1), 16);
    const controls: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    return controls[ch] ?? body.codePointAt(0)!;
  }

  private parseClass(pos: number): number {
    const s = this.s;
    let t = pos + 1;
    if (s[t] === '^') t++;
    let first = true;
    while (t >= s.length || s[t] !== ']' || first) {
      first = false;
      if (s[t] === '[' && s[t + 1] === ':' && t + 2 < s.length) {
        const close = s.indexOf(':]', t + 2);
        if (close >= 0) {
          const name = s.slice(t, close + 2);
          if (!POSIX_CLASSES.has(name)) this.fail(ERR_INVALID_CHAR_RANGE, name);
          t = close + 2;
          continue;
        }
      }
      if (s[t] === '\\' && (s[t + 1] === 'p' || s[t + 1] === 'P')) {
        t = this.parseUnicodeClass(t);
        continue;
      }
      if (this.isPerlClassEscape(t)) {
        t += 2;
        continue;
      }
      const rangeStart = t;
      let lo: number;
      [lo, t] = this.parseClassChar(t, pos);
      if (s[t] === '-' && t + 1 < s.length && s[t + 1] !== ']') {
        let hi: number;
        [hi, t] = this.parseClassChar(t + 1, pos);
        if (hi < lo) this.fail(ERR_INVALID_CHAR_RANGE, s.slice(rangeStart, t));
      }
    }
    this.push(LEAF);
    return t + 1;
  }

  parse(): void {
    const s = this.s;
    let pos = 0;
    let lastRepeat = -1;
    while (pos < s.length) {
      let repeatStart = -1;
      const ch = s[pos]!;
      switch (ch) {
        case '(':
          if (s[pos + 1] === '?') {
            pos = this.parsePerlFlags(pos);
          } else {
            this.push({ kind: 'lparen', capture: true });
            pos++;
          }
          break;
        case '|':
          this.concat();
          if (!this.swapVerticalBar()) this.push({ kind: 'vbar' });
          pos++;
          break;
        case ')':
          this.parseRightParen();
          pos++;
          break;
        case '^':
        case '$':
        case '.':
          this.push(LEAF);
          pos++;
          break;
        case '[':
          pos = this.parseClass(pos);
          break;
        case '*':
        case '+':
        case '?':
          repeatStart = pos;
          pos = this.repeat('star', 0, 0, pos, pos + 1, lastRepeat);
          break;
        case '{': {
          const rep = this.parseRepeat(pos);
          if (!rep) {
            this.push(LITERAL);
            pos++;
            break;
          }
          const { min, max, end } = rep;
          if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) {
            this.fail(ERR_INVALID_REPEAT_SIZE, s.slice(pos, end));
          }
          repeatStart = pos;
          pos = this.repeat('repeat', min, max, pos, end, lastRepeat);
          break;
        }
        case '\\': {
          const next = s[pos + 1];
          if (next === 'A' || next === 'b' || next === 'B' || next === 'z') {
            this.push(LEAF);
            pos += 2;
            break;
          }
          if (next === 'C') this.fail(ERR_INVALID_ESCAPE, s.slice(pos, pos + 2));
          if (next === 'Q') {
            const close = s.indexOf('\\E', pos + 2);
            const lit = close < 0 ? s.slice(pos + 2) : s.slice(pos + 2, close);
            for (const _ of lit) this.push(LITERAL);
            pos = close < 0 ? s.length : close + 2;
            break;
          }
          if (next === 'p' || next === 'P') {
            pos = this.parseUnicodeClass(pos);
            this.push(LEAF);
            break;
          }
          if (this.isPerlClassEscape(pos)) {
            this.push(LEAF);
            pos += 2;
            break;
          }
          pos = this.parseEscape(pos);
          this.push(LITERAL);
          break;
        }
        default:
          this.push(LITERAL);
          pos += this.rune(pos)[1];
      }
      lastRepeat = repeatStart;
    }
    this.concat();
    if (this.swapVerticalBar()) this.stack.pop();
    this.alternate();
    if (this.stack.length !== 1) this.fail(ERR_MISSING_PAREN, s);
    if (this.nodes >= MAX_HEIGHT && height(this.stack[0] as Node) > MAX_HEIGHT) this.fail(ERR_NESTING_DEPTH, s);
  }
}

/** Throws GoRegexpError when Go's regexp.Compile would reject `expr`. */
export function checkGoRegexpSyntax(expr: string): void {
  new Parser(expr).parse();
}

/**
 * Checks a constraint pattern the way snapd compiles it: anchored as
 * "^(" + pattern + ")$". Returns the error message or undefined.
 */
export function goAnchoredRegexpError(pattern: string): string | undefined {
  try {
    checkGoRegexpSyntax(`^(${pattern})$`);
    return undefined;
  } catch (err) {
    if (err instanceof GoRegexpError) return err.message;
    throw err;
  }
}
