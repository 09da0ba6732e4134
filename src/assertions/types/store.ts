// store: a brand store's configuration (snapd asserts/store_asserts.go).
// Devices with proxy.store=<store> use its url; friendly-stores widen
// on-store matching. Must be signed by a directly trusted authority.
import type { AssertionType } from '../assertion.ts';
import { HeaderError } from '../errors.ts';
import { checkNotEmptyString, checkOptionalString, checkRFC3339Date, checkStringList } from '../checks.ts';
import type { HeaderMap } from '../headers.ts';
import { inconsistent, notDirectlyTrusted } from './common.ts';
import { GoUrlError, parseGoUrl } from '../go-compat/go-url.ts';
import { goQuote } from '../go-compat/go-strconv.ts';

export interface StoreData {
  readonly store: string;
  readonly operatorId: string;
  /** The store API base URL as written (http or https, with a host); undefined when absent or empty. */
  readonly url: string | undefined;
  readonly friendlyStores: readonly string[];
  readonly location: string;
  readonly timestamp: Date;
}

/** snapd's checkStoreURL: Go's url.Parse, then scheme, host, no query, no fragment. */
function checkStoreUrl(headers: HeaderMap): string | undefined {
  const s = checkOptionalString(headers, 'url');
  if (s === '') return undefined;
  let u;
  try {
    u = parseGoUrl(s);
  } catch (err) {
    if (err instanceof GoUrlError) throw new HeaderError(`"url" header must be a valid URL: ${s}`);
    throw err;
  }
  if (u.scheme !== 'http' && u.scheme !== 'https') throw new HeaderError(`"url" header scheme must be "https" or "http": ${s}`);
  if (u.host === '') throw new HeaderError(`"url" header must have a host: ${s}`);
  if (u.rawQuery !== '') throw new HeaderError(`"url" header must not have a query: ${s}`);
  if (u.fragment !== '') throw new HeaderError(`"url" header must not have a fragment: ${s}`);
  return s;
}

export const StoreType: AssertionType<StoreData> = {
  name: 'store',
  primaryKey: ['store'],
  maxFormat: 0,
  assemble({ headers }) {
    const operatorId = checkNotEmptyString(headers, 'operator-id');
    const url = checkStoreUrl(headers);
    const friendlyStores = checkStringList(headers, 'friendly-stores');
    const location = checkOptionalString(headers, 'location');
    const timestamp = checkRFC3339Date(headers, 'timestamp');
    return { store: headers['store'] as string, operatorId, url, friendlyStores, location, timestamp };
  },
  timestamp: (d) => d.timestamp,
  prerequisites: (a) => [{ type: 'account', primaryKey: [a.data.operatorId] }],
  checkConsistency(db, a) {
    const { store, operatorId } = a.data;
    if (!db.isDirectlyTrusted(a.authorityId)) notDirectlyTrusted(`store assertion ${goQuote(store)}`, a.authorityId);
    if (!db.find('account', [operatorId])) {
      inconsistent(`store assertion ${goQuote(store)} does not have a matching account assertion for the operator ${goQuote(operatorId)}`);
    }
  },
};
