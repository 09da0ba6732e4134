// The authorization matrix: who may call each route. Shared by the platform's,
// the store's and the vault's matrix tests. A caller is "allowed" when the
// answer is anything but 401/403 (a 400 for an empty body still means the
// access check let the call through).
import type { RouteInfo } from '../../src/platform/http/app.ts';
import type { TestServer } from './server.ts';

export type Caller = 'anonymous' | 'viewer' | 'publisher' | 'factory' | 'storeDownload' | 'admin' | 'otherAdmin' | 'superuser';
export const ALL: Caller[] = ['anonymous', 'viewer', 'publisher', 'factory', 'storeDownload', 'admin', 'otherAdmin', 'superuser'];
export const AUTHENTICATED: Caller[] = ALL.filter((c) => c !== 'anonymous');
export const SUPERUSER: Caller[] = ['superuser'];

/** "METHOD /url" → the callers allowed. */
export type Matrix = Record<string, Caller[]>;

/** A token for each kind of caller: roles on `account`, an admin of `otherAccount`, a superuser. */
export async function callerTokens(s: TestServer, account: string, otherAccount: string): Promise<Record<Caller, string | undefined>> {
  return {
    anonymous: undefined,
    viewer: await s.tokenFor(['viewer'], account),
    publisher: await s.tokenFor(['publisher'], account),
    factory: await s.tokenFor(['factory-operator'], account),
    storeDownload: await s.tokenFor(['store-download'], account),
    admin: await s.tokenFor(['admin'], account),
    otherAdmin: await s.tokenFor(['admin'], otherAccount),
    superuser: await s.tokenFor('superuser'),
  };
}

export interface MatrixCheck {
  matrix: Matrix;
  tokens: Record<Caller, string | undefined>;
  /** The route's URL with its parameters filled in. */
  concrete(url: string): string;
  /** Routes covered elsewhere (another matrix). */
  skip?(route: RouteInfo): boolean;
  /** Extra checks on each route with a row. */
  onRoute?(route: RouteInfo): void;
  headers?: Record<string, string>;
}

export interface MatrixResult {
  /** Routes without a row. */
  missing: string[];
  /** "route as caller: status" where the answer contradicts the row. */
  wrong: string[];
  /** Rows for routes that do not exist. */
  stale: string[];
}

/** Calls every route as every kind of caller and compares with the matrix. */
export async function checkMatrix(s: TestServer, c: MatrixCheck): Promise<MatrixResult> {
  const result: MatrixResult = { missing: [], wrong: [], stale: [] };
  for (const route of s.server.routes) {
    if (c.skip?.(route)) continue;
    const key = `${route.method} ${route.url}`;
    const allowed = c.matrix[key];
    if (!allowed) {
      result.missing.push(key);
      continue;
    }
    c.onRoute?.(route);
    for (const caller of ALL) {
      const withBody = ['POST', 'PUT', 'PATCH'].includes(route.method);
      const token = c.tokens[caller];
      const res = await s.request(route.method, c.concrete(route.url), { ...(token ? { token } : {}), ...(withBody ? { body: {} } : {}), ...(c.headers ? { headers: c.headers } : {}) });
      const got = res.status !== 401 && res.status !== 403;
      if (got !== allowed.includes(caller)) result.wrong.push(`${key} as ${caller}: ${res.status} ${res.body.slice(0, 120)}`);
    }
  }
  for (const key of Object.keys(c.matrix)) {
    const [method, url] = key.split(' ');
    if (!s.server.routes.some((r) => r.method === method && r.url === url)) result.stale.push(key);
  }
  return result;
}
