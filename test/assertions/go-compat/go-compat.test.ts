// Go standard library behaviour snapd relies on, reproduced in TypeScript:
// regexp syntax (interface rule constraints), net/mail (system-user email),
// net/url (store url), strconv quoting. The expected values come from
// running Go 1.19 (the toolchain snapd 2.57.6 is built with in Debian 12).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goAnchoredRegexpError } from '../../../src/assertions/go-compat/go-regexp.ts';
import { MailAddressError, parseMailAddress } from '../../../src/assertions/go-compat/go-mail.ts';
import { GoUrlError, parseGoUrl } from '../../../src/assertions/go-compat/go-url.ts';
import { goAtoi, goQuote, goQuoteRune } from '../../../src/assertions/go-compat/go-strconv.ts';

// Cases checked against Go 1.19's regexp.Compile("^(" + s + ")$") (as snapd compiles constraints);
// the expected value is Go's error text, '' when it compiles.
const REGEXP_CASES: ReadonlyArray<readonly [string, string]> = [
  ["(?i)C\\x4A4:{2,3}", ""],
  ["D\\pN^6{2,}", ""],
  ["370}W", ""],
  ["^i[:foo:]79\\p{Foo}", "error parsing regexp: invalid character class range: `\\p{Foo}`"],
  ["0\\p{Foo}WP", "error parsing regexp: invalid character class range: `\\p{Foo}`"],
  ["\\p{Foo}[^[:alpha:]Q.[:alpha:](?P<", "error parsing regexp: invalid character class range: `\\p{Foo}`"],
  ["A\\1", "error parsing regexp: invalid escape sequence: `\\1`"],
  ["\\x4x!\\01\\x4=", "error parsing regexp: invalid escape sequence: `\\x4x`"],
  ["A,,\\8\\9S", "error parsing regexp: invalid escape sequence: `\\8`"],
  ["-.(?P<(?i)$+", "error parsing regexp: invalid named capture: `(?P<(?i)$+)$`"],
  ["(?P<\\x4a{1001}i\\01w", "error parsing regexp: invalid named capture: `(?P<\\x4a{1001}i\\01w)$`"],
  ["(?P<\\01B{1000}Qb\\6", "error parsing regexp: invalid named capture: `(?P<\\01B{1000}Qb\\6)$`"],
  ["S++x.", "error parsing regexp: invalid nested repetition operator: `++`"],
  ["sw_]{2,}{2,}-", "error parsing regexp: invalid nested repetition operator: `{2,}{2,}`"],
  ["[:foo:]C?*zb4", "error parsing regexp: invalid nested repetition operator: `?*`"],
  ["2(?2,", "error parsing regexp: invalid or unsupported Perl syntax: `(?2`"],
  ["d(?6>", "error parsing regexp: invalid or unsupported Perl syntax: `(?6`"],
  ["(?<ia{3,2}W", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"],
  ["\\[^{1001}2>\\p{Foo}", "error parsing regexp: invalid repeat count: `{1001}`"],
  ["A|[:alpha:]{3,2}", "error parsing regexp: invalid repeat count: `{3,2}`"],
  ["{3,2}0", "error parsing regexp: invalid repeat count: `{3,2}`"],
  ["*\\pL{3,2}", "error parsing regexp: missing argument to repetition operator: `*`"],
  ["{2,}i)\\pL-?$_", "error parsing regexp: missing argument to repetition operator: `{2,}`"],
  ["{2,3}{{2}.[]*b", "error parsing regexp: missing argument to repetition operator: `{2,3}`"],
  ["3\\QQ3", "error parsing regexp: missing closing ): `^(3\\QQ3)$`"],
  ["4P\\p{^Han}{01}\\QB66", "error parsing regexp: missing closing ): `^(4P\\p{^Han}{01}\\QB66)$`"],
  ["[a-]m\\Q", "error parsing regexp: missing closing ): `^([a-]m\\Q)$`"],
  ["[]", "error parsing regexp: missing closing ]: `[])$`"],
  ["[=\\p{Greek}{2}58w", "error parsing regexp: missing closing ]: `[=\\p{Greek}{2}58w)$`"],
  ["2[:alpha:],[]", "error parsing regexp: missing closing ]: `[])$`"],
  ["aP63!)", "error parsing regexp: unexpected ): `^(aP63!))$`"],
  ["z)a", "error parsing regexp: unexpected ): `^(z)a)$`"],
  [",\\(?i)", "error parsing regexp: unexpected ): `^(,\\(?i))$`"],
  ["a**", "error parsing regexp: invalid nested repetition operator: `**`"],
  ["a*?", ""],
  ["(?i)abc", ""],
  ["(?P<name>x)", ""],
  ["(?<name>x)", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"],
  ["\\pL+", ""],
  ["\\p{Greek}", ""],
  ["\\p{Foo}", "error parsing regexp: invalid character class range: `\\p{Foo}`"],
  ["[[:alpha:]]", ""],
  ["[[:foo:]]", "error parsing regexp: invalid character class range: `[:foo:]`"],
  ["\\z", ""],
  ["\\C", "error parsing regexp: invalid escape sequence: `\\C`"],
  ["\\Q*+\\E", ""],
  ["x{1001}", "error parsing regexp: invalid repeat count: `{1001}`"],
  ["(a{100}){100}", "error parsing regexp: invalid repeat count: `{100}`"],
  ["x{2,1}", "error parsing regexp: invalid repeat count: `{2,1}`"],
  ["a{,5}", ""],
  ["\\8", "error parsing regexp: invalid escape sequence: `\\8`"],
  ["\\x{110000}", "error parsing regexp: invalid escape sequence: `\\x{110000`"],
  ["[z-a]", "error parsing regexp: invalid character class range: `z-a`"],
  ["(?=x)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"],
  ["(?!x)", "error parsing regexp: invalid or unsupported Perl syntax: `(?!`"],
  ["\\1", "error parsing regexp: invalid escape sequence: `\\1`"],
  ["a|*", "error parsing regexp: missing argument to repetition operator: `*`"],
  ["(a)(b)", ""],
  ["\\", "error parsing regexp: missing closing ): `^(\\)$`"],
  ["[", "error parsing regexp: missing closing ]: `[)$`"],
  ["a)", "error parsing regexp: unexpected ): `^(a))$`"],
  ["(?-)", "error parsing regexp: invalid or unsupported Perl syntax: `(?-)`"],
  ["(?i-s:x)", ""],
  ["\\d\\D\\s\\S\\w\\W\\b\\B\\A", ""],
  ["\\Q\\E*", "error parsing regexp: missing argument to repetition operator: `*`"],
];

// Go 1.19 net/mail.ParseAddress: error text, or 'name|address'.
const MAIL_CASES: ReadonlyArray<readonly [string, string]> = [
  ["foo@example.com", "|foo@example.com"],
  ["<alice!example.com>", "mail: missing @ in addr-spec"],
  ["no-mail", "mail: missing '@' or angle-addr"],
  ["Foo <foo@example.com>", "Foo|foo@example.com"],
  ["foo@example.com (Foo Bar)", "Foo Bar|foo@example.com"],
  ["g: a@b, c@d;", "mail: group with multiple addresses"],
  ["g:;", "mail: empty group"],
  ["\"\"@x", "mail: no angle-addr"],
  ["a@b@c", "mail: expected single address, got \"@c\""],
  ["Jörg <j@x.de>", "Jörg|j@x.de"],
  ["=?foo?q?x?= <a@b>", "mail: missing word in phrase: charset not supported: \"foo\""],
  ["=?foo?q?x?=", "mail: missing word in phrase: charset not supported: \"foo\""],
  ["a@", "mail: no angle-addr"],
  ["@b", "mail: no angle-addr"],
  ["foo.@x", "mail: no angle-addr"],
  ["a..b@x", "mail: no angle-addr"],
  [".a@x", "mail: no angle-addr"],
  ["a@x.", "mail: no angle-addr"],
  ["\"q u\"@example.com", "|q u@example.com"],
  ["=?utf-8?q?J=C3=B6rg?= <j@x.de>", "Jörg|j@x.de"],
  ["x <a@b", "mail: unclosed angle-addr"],
  ["Full Name", "mail: no angle-addr"],
  ["a.b", "mail: missing '@' or angle-addr"],
  ["\"unclosed", "mail: missing word in phrase: mail: unclosed quoted-string"],
  ["foo@example.com bar", "mail: expected single address, got \"bar\""],
  ["(c) a@b", "mail: no angle-addr"],
  ["a@b (unclosed", "mail: misformatted parenthetical comment"],
  ["\"\\\u0001\"@x", "mail: missing word in phrase: mail: bad character in quoted-string: '\\x01'"],
  ["<a@b>, <c@d>", "mail: expected single address, got \", <c@d>\""],
];

// Go 1.19 net/url.Parse: 'PARSE' when it fails, else 'scheme|host|rawQuery|fragment'.
const URL_CASES: ReadonlyArray<readonly [string, string]> = [
  ["http://example.com/", "http|example.com||"],
  ["https://example.com/", "https|example.com||"],
  ["https://example.com/some/path/", "https|example.com||"],
  ["https://example.com:443/", "https|example.com:443||"],
  ["https://user:pass@example.com/", "https|example.com||"],
  ["https://token@example.com/", "https|example.com||"],
  ["://example.com", "PARSE"],
  ["example.com", "|||"],
  ["//example.com", "|example.com||"],
  ["ftp://example.com", "ftp|example.com||"],
  ["mailto:someone@example.com", "mailto|||"],
  ["https://", "https|||"],
  ["https:///", "https|||"],
  ["https:///some/path", "https|||"],
  ["https://example.com/?foo=bar", "https|example.com|foo=bar|"],
  ["https://example.com/#fragment", "https|example.com||fragment"],
  ["https://example.com/?", "https|example.com||"],
  ["https://example.com/#", "https|example.com||"],
  ["HTTPS://EXAMPLE.COM", "https|EXAMPLE.COM||"],
  ["https://exa mple.com", "PARSE"],
  ["https://example.com:8x/", "PARSE"],
  ["https://[::1]:8443/", "https|[::1]:8443||"],
  ["https://[::1", "PARSE"],
  ["https://%41/", "PARSE"],
  ["https://%C3%A9.com/", "https|é.com||"],
  ["https://example.com/%zz", "PARSE"],
  ["https://a b@example.com/", "PARSE"],
  ["https://:80", "https|:80||"],
  ["https:foo", "https|||"],
  ["*", "|||"],
];

test('regexp syntax errors are the ones Go reports', () => {
  for (const [pattern, expected] of REGEXP_CASES) {
    assert.equal(goAnchoredRegexpError(pattern) ?? '', expected, `pattern ${JSON.stringify(pattern)}`);
  }
});

test('regexp nesting deeper than 1000 levels is refused like Go', () => {
  assert.equal(goAnchoredRegexpError(`${'('.repeat(997)}a${')'.repeat(997)}`), undefined);
  assert.match(goAnchoredRegexpError(`${'('.repeat(999)}a${')'.repeat(999)}`) ?? '', /^error parsing regexp: expression nests too deeply: /);
  assert.equal(goAnchoredRegexpError(`${'(?:'.repeat(1001)}a*${')'.repeat(1001)}`), undefined, 'non-capturing groups add no level');
});

test('email addresses parse like Go net/mail', () => {
  for (const [input, expected] of MAIL_CASES) {
    let got: string;
    try {
      const a = parseMailAddress(input);
      got = `${a.name}|${a.address}`;
    } catch (err) {
      assert.ok(err instanceof MailAddressError, String(err));
      got = err.message;
    }
    assert.equal(got, expected, `address ${JSON.stringify(input)}`);
  }
});

test('URLs parse like Go net/url', () => {
  for (const [input, expected] of URL_CASES) {
    let got: string;
    try {
      const u = parseGoUrl(input);
      got = [u.scheme, u.host, u.rawQuery, u.fragment].join('|');
    } catch (err) {
      assert.ok(err instanceof GoUrlError, String(err));
      got = 'PARSE';
    }
    assert.equal(got, expected, `url ${JSON.stringify(input)}`);
  }
});

test('Go quoting and Atoi', () => {
  assert.equal(goQuote('a"b\\c\n\u0001é\u00a0'), '"a\\"b\\\\c\\n\\x01é\\u00a0"');
  assert.equal(goQuoteRune(0x27), "'\\''");
  assert.equal(goQuoteRune(0x01), "'\\x01'");
  assert.equal(goAtoi('+6'), 6);
  assert.equal(goAtoi('-7'), -7);
  assert.throws(() => goAtoi('x'), { message: 'strconv.Atoi: parsing "x": invalid syntax' });
  assert.throws(() => goAtoi('99999999999999999999'), { message: 'strconv.Atoi: parsing "99999999999999999999": value out of range' });
});
