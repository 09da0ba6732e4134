// system-user: a brand's permit to create a local user on its devices
// (snapd asserts/system_user.go). Format 1 adds "serials". No database
// checks: policy (brand, system-user-authority, models, serials, validity)
// is applied when the assertion is used.
import type { AssertionType } from '../assertion.ts';
import { HeaderError } from '../errors.ts';
import { checkNotEmptyString, checkOptionalBool, checkOptionalString, checkRFC3339Date, checkStringList, checkStringMatches } from '../checks.ts';
import type { HeaderMap } from '../headers.ts';
import { MailAddressError, parseMailAddress } from '../go-compat/go-mail.ts';
import { goAtoi, goQuote } from '../go-compat/go-strconv.ts';

// As in snapd: ".-_" is a range, so after the first character uppercase letters and more are accepted.
export const SYSTEM_USER_USERNAME = /^[a-z0-9][-a-z0-9+.-_]*$/;

export interface SystemUserData {
  readonly brandId: string;
  readonly email: string;
  readonly series: readonly string[];
  readonly models: readonly string[];
  readonly serials: readonly string[];
  readonly name: string;
  readonly username: string;
  /** crypt(3) hash ("" when absent). */
  readonly password: string;
  readonly forcePasswordChange: boolean;
  readonly sshKeys: readonly string[];
  /** Valid during [since, until); since == until means revoked. */
  readonly since: Date;
  readonly until: Date;
}

const SALT_OR_HASH = /^[a-zA-Z0-9./]+$/;

/** snapd's checkHashedPassword: "$id$[rounds=N$]salt$hash" with id >= 6. */
function checkHashedPassword(headers: HeaderMap, name: string): string {
  const pw = checkOptionalString(headers, name);
  if (pw === '') return '';
  // Go's strings.SplitN(pw, "$", 5)
  const parts = pw.split('$');
  const fields = parts.length > 5 ? [...parts.slice(0, 4), parts.slice(4).join('$')] : parts;
  if (fields.length !== 4 && fields.length !== 5) {
    throw new HeaderError(`${goQuote(name)} header invalid: hashed password must be of the form "$integer-id$salt$hash", see crypt(3)`);
  }
  if (fields[2]!.startsWith('rounds=') && fields.length === 4) throw new HeaderError(`${goQuote(name)} header invalid: missing hash field`);
  const [, id, rounds, salt, hash] = fields.length === 4 ? [fields[0], fields[1], '', fields[2], fields[3]] : fields;
  let idNum: number;
  try {
    idNum = goAtoi(id!);
  } catch {
    throw new HeaderError(`${goQuote(name)} header must start with "$integer-id$", got ${goQuote(id!)}`);
  }
  if (idNum < 6) throw new HeaderError(`${goQuote(name)} header only supports $id$ values of 6 (sha512crypt) or higher`);
  if (rounds!.startsWith('rounds=')) {
    let n: number;
    try {
      n = goAtoi(rounds!.slice('rounds='.length));
    } catch (err) {
      throw new HeaderError(`${goQuote(name)} header has invalid number of rounds: ${(err as Error).message}`);
    }
    if (n < 5000 || n > 999999999) throw new HeaderError(`${goQuote(name)} header rounds parameter out of bounds: ${n}`);
  }
  if (!SALT_OR_HASH.test(salt!)) throw new HeaderError(`${goQuote(name)} header has invalid chars in salt ${goQuote(salt!)}`);
  if (!SALT_OR_HASH.test(hash!)) throw new HeaderError(`${goQuote(name)} header has invalid chars in hash ${goQuote(hash!)}`);
  return pw;
}

/**
 * Go's t.AddDate(1, 0, 0) for a time parsed from an RFC 3339 string: the
 * year is added to the wall clock in the string's own offset (so Feb 29
 * becomes Mar 1 in that zone).
 */
function addOneYear(t: Date, text: string): Date {
  const m = /([+-])(\d{2}):(\d{2})$/.exec(text);
  const offset = m ? (m[1] === '+' ? 1 : -1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000 : 0;
  const wall = new Date(t.getTime() + offset);
  const shifted = new Date(0);
  shifted.setUTCFullYear(wall.getUTCFullYear() + 1, wall.getUTCMonth(), wall.getUTCDate());
  shifted.setUTCHours(wall.getUTCHours(), wall.getUTCMinutes(), wall.getUTCSeconds(), wall.getUTCMilliseconds());
  return new Date(shifted.getTime() - offset);
}

/** snapd's systemUserFormatAnalyze: "serials" needs format 1. */
export function systemUserFormat(headers: HeaderMap): number {
  return checkStringList(headers, 'serials').length > 0 ? 1 : 0;
}

export const SystemUserType: AssertionType<SystemUserData> = {
  name: 'system-user',
  primaryKey: ['brand-id', 'email'],
  maxFormat: 1,
  assemble({ headers, format }) {
    // brand-id may differ from authority-id: the model's
    // system-user-authority decides at use time.
    const email = checkNotEmptyString(headers, 'email');
    try {
      parseMailAddress(email);
    } catch (err) {
      if (err instanceof MailAddressError) throw new HeaderError(`"email" header must be a RFC 5322 compliant email address: ${err.message}`);
      throw err;
    }
    const series = checkStringList(headers, 'series');
    const models = checkStringList(headers, 'models');
    const serials = checkStringList(headers, 'serials');
    if (serials.length > 0 && format < 1) throw new HeaderError('the "serials" header is only supported for format 1 or greater');
    if (serials.length > 0 && models.length !== 1) {
      throw new HeaderError('in the presence of the "serials" header "models" must specify exactly one model');
    }
    const name = checkOptionalString(headers, 'name');
    const username = checkStringMatches(headers, 'username', SYSTEM_USER_USERNAME);
    const password = checkHashedPassword(headers, 'password');
    const forcePasswordChange = checkOptionalBool(headers, 'force-password-change');
    if (forcePasswordChange && password === '') throw new HeaderError('cannot use "force-password-change" with an empty "password"');
    const sshKeys = checkStringList(headers, 'ssh-keys');
    const since = checkRFC3339Date(headers, 'since');
    const until = checkRFC3339Date(headers, 'until');
    if (until.getTime() < since.getTime()) throw new HeaderError("'until' time cannot be before 'since' time");
    // A system-user for every model of the brand is valid for a year at most.
    if (models.length === 0 && until.getTime() > addOneYear(since, headers['since'] as string).getTime()) {
      throw new HeaderError("'until' time cannot be more than 365 days in the future when no models are specified");
    }
    return {
      brandId: headers['brand-id'] as string,
      email,
      series,
      models,
      serials,
      name,
      username,
      password,
      forcePasswordChange,
      sshKeys,
      since,
      until,
    };
  },
  suggestFormat: (headers) => systemUserFormat(headers),
};

/** Whether the system-user is valid at `when` (since <= when < until). */
export function systemUserValidAt(d: SystemUserData, when: Date): boolean {
  const t = when.getTime();
  return t >= d.since.getTime() && t < d.until.getTime();
}
