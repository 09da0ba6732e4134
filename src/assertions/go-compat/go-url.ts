// URL parsing as Go 1.19's net/url.Parse does it, for the store assertion's
// "url" header: snapd accepts exactly what url.Parse accepts and then looks
// at the scheme, host, query and fragment. WHATWG URL parsing (node's URL)
// differs in many corners (it normalizes, rejects other hosts, accepts
// backslashes), so we follow Go.

export interface GoUrl {
  /** Lowercased scheme ("" when absent). */
  readonly scheme: string;
  /** Set for rootless forms like "mailto:x" (then nothing else is). */
  readonly opaque: string;
  /** Unescaped host, with the port ("" when absent). */
  readonly host: string;
  readonly path: string;
  readonly rawQuery: string;
  /** Unescaped fragment. */
  readonly fragment: string;
}

export class GoUrlError extends Error {
  override readonly name = 'GoUrlError';
}

type Mode = 'host' | 'zone' | 'path' | 'user' | 'fragment';

function isHex(c: string | undefined): boolean {
  return c !== undefined && /^[0-9A-Fa-f]$/.test(c);
}

function isAlnum(c: string): boolean {
  return /^[A-Za-z0-9]$/.test(c);
}

function shouldEscape(c: string, mode: Mode): boolean {
  if (isAlnum(c)) return false;
  if ((mode === 'host' || mode === 'zone') && `!$&'()*+,;=:[]<>"`.includes(c)) return false;
  if ('-_.~'.includes(c)) return false;
  if ('$&+,/:;=?@'.includes(c)) {
    switch (mode) {
      case 'path':
        return c === '?';
      case 'user':
        return c === '@' || c === '/' || c === '?' || c === ':';
      case 'fragment':
        return false;
      default:
        break;
    }
  }
  if (mode === 'fragment' && '!()*'.includes(c)) return false;
  return true;
}

function escapeError(s: string): never {
  throw new GoUrlError(`invalid URL escape ${JSON.stringify(s)}`);
}

/** Go's unescape: validates %-escapes (and host characters) and decodes. Works on UTF-8 bytes. */
function unescape(input: string, mode: Mode): string {
  const s = Buffer.from(input, 'utf8').toString('latin1');
  let n = 0;
  for (let i = 0; i < s.length; ) {
    const c = s[i]!;
    if (c === '%') {
      n++;
      if (i + 2 >= s.length || !isHex(s[i + 1]) || !isHex(s[i + 2])) escapeError(s.slice(i, i + 3));
      const v = parseInt(s.slice(i + 1, i + 3), 16);
      if (mode === 'host' && v < 0x80 && s.slice(i, i + 3) !== '%25') escapeError(s.slice(i, i + 3));
      if (mode === 'zone' && s.slice(i, i + 3) !== '%25' && v !== 0x20 && (v >= 0x80 || shouldEscape(String.fromCharCode(v), 'host'))) {
        escapeError(s.slice(i, i + 3));
      }
      i += 3;
    } else {
      if ((mode === 'host' || mode === 'zone') && c.charCodeAt(0) < 0x80 && shouldEscape(c, mode)) {
        throw new GoUrlError(`invalid character ${JSON.stringify(c)} in host name`);
      }
      i++;
    }
  }
  if (n === 0) return input;
  const bytes = Buffer.from(s.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  return bytes.toString('utf8');
}

function validOptionalPort(port: string): boolean {
  return port === '' || /^:[0-9]*$/.test(port);
}

function parseHost(host: string): string {
  if (host.startsWith('[')) {
    const i = host.lastIndexOf(']');
    if (i < 0) throw new GoUrlError("missing ']' in host");
    const colonPort = host.slice(i + 1);
    if (!validOptionalPort(colonPort)) throw new GoUrlError(`invalid port ${JSON.stringify(colonPort)} after host`);
    const zone = host.slice(0, i).indexOf('%25');
    if (zone >= 0) {
      return unescape(host.slice(0, zone), 'host') + unescape(host.slice(zone, i), 'zone') + unescape(host.slice(i), 'host');
    }
  } else {
    const i = host.lastIndexOf(':');
    if (i !== -1) {
      const colonPort = host.slice(i);
      if (!validOptionalPort(colonPort)) throw new GoUrlError(`invalid port ${JSON.stringify(colonPort)} after host`);
    }
  }
  return unescape(host, 'host');
}

function parseAuthority(authority: string): string {
  const i = authority.lastIndexOf('@');
  const host = parseHost(i < 0 ? authority : authority.slice(i + 1));
  if (i < 0) return host;
  const userinfo = authority.slice(0, i);
  if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo)) throw new GoUrlError('net/url: invalid userinfo');
  for (const part of userinfo.includes(':') ? [userinfo.slice(0, userinfo.indexOf(':')), userinfo.slice(userinfo.indexOf(':') + 1)] : [userinfo]) {
    unescape(part, 'user');
  }
  return host;
}

function getScheme(raw: string): [string, string] {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return ['', raw];
      continue;
    }
    if (c === ':') {
      if (i === 0) throw new GoUrlError('missing protocol scheme');
      return [raw.slice(0, i), raw.slice(i + 1)];
    }
    return ['', raw];
  }
  return ['', raw];
}

/** Parses like Go's url.Parse; throws GoUrlError when Go would fail. */
export function parseGoUrl(rawUrl: string): GoUrl {
  const hash = rawUrl.indexOf('#');
  const u = hash < 0 ? rawUrl : rawUrl.slice(0, hash);
  const frag = hash < 0 ? '' : rawUrl.slice(hash + 1);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(u)) throw new GoUrlError('net/url: invalid control character in URL');
  let scheme = '';
  let host = '';
  let path = '*';
  let rawQuery = '';
  if (u !== '*') {
    let rest: string;
    [scheme, rest] = getScheme(u);
    scheme = scheme.toLowerCase();
    if (rest.endsWith('?') && rest.indexOf('?') === rest.length - 1) {
      rest = rest.slice(0, -1);
    } else if (rest.includes('?')) {
      rawQuery = rest.slice(rest.indexOf('?') + 1);
      rest = rest.slice(0, rest.indexOf('?'));
    }
    if (!rest.startsWith('/')) {
      if (scheme !== '') {
        return { scheme, opaque: rest, host: '', path: '', rawQuery, fragment: frag === '' ? '' : unescape(frag, 'fragment') };
      }
      const segment = rest.includes('/') ? rest.slice(0, rest.indexOf('/')) : rest;
      if (segment.includes(':')) throw new GoUrlError('first path segment in URL cannot contain colon');
    }
    if ((scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
      let authority = rest.slice(2);
      rest = '';
      const slash = authority.indexOf('/');
      if (slash >= 0) {
        rest = authority.slice(slash);
        authority = authority.slice(0, slash);
      }
      host = parseAuthority(authority);
    }
    path = unescape(rest, 'path');
  }
  const fragment = frag === '' ? '' : unescape(frag, 'fragment');
  return { scheme, opaque: '', host, path, rawQuery, fragment };
}
