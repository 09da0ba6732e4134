// Verifies assertions as `snapline verify --trusted <root export>` would with
// their chain beside it: the server's root authority is trusted, the accounts
// and account-keys the chain needs come from the server's assertions.
import type { Assertion } from '../../assertions/index.ts';
import { TrustDatabase } from '../../assertions/index.ts';
import { signingChain } from '../../platform/assertions/index.ts';
import type { PlatformContext } from '../../platform/context.ts';

export interface VerifiedAssertion {
  type: string;
  primaryKey: string[];
  revision: number;
  headers: Record<string, unknown>;
  body: string | null;
  verified: boolean;
  error: string | null;
}

export async function verifyAssertions(ctx: PlatformContext, given: readonly Assertion[]): Promise<VerifiedAssertion[]> {
  const trustedKeys = new Set(ctx.root.trusted.filter((a) => a.type === 'account-key').map((a) => a.primaryKey[0]!));
  const chain = await signingChain(ctx.db.kysely, given, trustedKeys);
  const db = new TrustDatabase({ trusted: ctx.root.trusted, now: ctx.now });
  db.addEach(chain);
  return db.addEach(given).map(({ assertion: a, error }) => ({
    type: a.type,
    primaryKey: a.primaryKey,
    revision: a.revision,
    headers: a.headers,
    body: a.body ? a.body.toString('utf8') : null,
    verified: !error,
    error: error ? `${error.message} (${error.code})` : null,
  }));
}
