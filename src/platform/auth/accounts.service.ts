// The rules of accounts and their keys, for the admin API, the console and
// tools: creating an account signs its account assertion with the root's store
// key; registering a key certifies an account-key-request with the root key.
import { AccountKeyType, AccountType, accountInput, accountKeyInputFromRequest, decode, type Assertion } from '../../assertions/index.ts';
import { findAssertion, putAssertion, signingChain } from '../assertions/index.ts';
import { listAudit, type AuditPage, type AuditQuery } from '../audit/index.ts';
import { audit, type Actor, type PlatformContext } from '../context.ts';
import { accountsWithRole, type Principal } from '../http/access.ts';
import { signAssertion } from '../keys/index.ts';
import { createAccount, findAccount, getAccount, listAccounts, type Account } from './accounts.repo.ts';
import { AuthError } from './errors.ts';
import { membersOfAccount } from './memberships.repo.ts';

export type AccountValidation = 'unproven' | 'starred' | 'verified';

export interface NewAccountRequest {
  accountId: string;
  displayName?: string;
  username?: string;
  validation?: AccountValidation;
}

export interface KeyRegistration {
  /** The account-key-request, as text. */
  accountKeyRequest: string;
  since?: Date;
  until?: Date;
}

export class AccountsService {
  constructor(private readonly ctx: PlatformContext) {}

  private get db() {
    return this.ctx.db.kysely;
  }

  /** The accounts a principal may see, in id order (all of them for the operator administrator). */
  async visibleTo(principal: Principal, page: { after?: string; limit?: number }): Promise<Account[]> {
    const visible = accountsWithRole(principal, ['admin', 'publisher', 'viewer', 'factory-operator']);
    if (visible === '*') return listAccounts(this.db, page);
    const accounts: Account[] = [];
    for (const id of visible.sort()) {
      if (page.after !== undefined && id <= page.after) continue;
      accounts.push(await getAccount(this.db, id));
      if (accounts.length >= (page.limit ?? 100)) break;
    }
    return accounts;
  }

  /** Creates an account and its account assertion, signed by the root's store key. */
  async create(request: NewAccountRequest, actor: Actor): Promise<{ account: Account; assertion: Assertion }> {
    // Checked first to spare a signature; the insert below still settles races.
    if (await findAccount(this.db, request.accountId)) throw new AuthError('account-exists', `account ${JSON.stringify(request.accountId)} already exists`);
    const now = this.ctx.now();
    const validation = request.validation ?? 'unproven';
    const input = accountInput({
      rootId: this.ctx.root.rootId,
      accountId: request.accountId,
      ...(request.displayName ? { displayName: request.displayName } : {}),
      ...(request.username ? { username: request.username } : {}),
      validation,
      timestamp: now,
    });
    // Sign first (RSA off the event loop), then store account and assertion together.
    const assertion = await signAssertion(AccountType, input, this.ctx.root.storeSigner, now);
    this.ctx.metrics.signatures.inc({ type: 'account' });
    const account = await this.ctx.db.transaction(async (trx) => {
      const created = await createAccount(
        trx,
        { accountId: request.accountId, displayName: request.displayName ?? request.accountId, username: request.username ?? request.accountId, validation },
        now,
      );
      await putAssertion(trx, assertion, now);
      return created;
    });
    await audit(this.ctx, actor, { action: 'account.create', target: request.accountId, accountId: request.accountId });
    return { account, assertion };
  }

  /** An account and its signed account assertion (none for accounts made before assertions were stored). */
  async get(accountId: string): Promise<{ account: Account; assertion: Assertion | undefined }> {
    const account = await getAccount(this.db, accountId);
    return { account, assertion: await findAssertion(this.db, 'account', [account.accountId]) };
  }

  /** Certifies a key of the account from its account-key-request: the root key signs the account-key. */
  async registerKey(accountId: string, registration: KeyRegistration, actor: Actor): Promise<{ assertion: Assertion; chain: Assertion[] }> {
    await getAccount(this.db, accountId);
    const request = decode(registration.accountKeyRequest);
    if (request.type !== 'account-key-request') throw new AuthError('account-invalid', `expected an account-key-request, got a ${request.type}`);
    if (request.headerString('account-id') !== accountId) {
      throw new AuthError('account-invalid', `the request is for account ${JSON.stringify(request.headerString('account-id'))}, not ${JSON.stringify(accountId)}`);
    }
    const input = accountKeyInputFromRequest({
      rootId: this.ctx.root.rootId,
      request,
      ...(registration.since ? { since: registration.since } : {}),
      ...(registration.until ? { until: registration.until } : {}),
    });
    const now = this.ctx.now();
    const assertion = await signAssertion(AccountKeyType, input, this.ctx.root.rootSigner, now);
    this.ctx.metrics.signatures.inc({ type: 'account-key' });
    await putAssertion(this.db, assertion, now);
    await audit(this.ctx, actor, { action: 'account-key.register', target: assertion.headerString('public-key-sha3-384'), accountId, details: { name: assertion.headerString('name') } });
    const chain = await signingChain(this.db, [assertion], new Set([this.ctx.root.rootSigner.keyId, this.ctx.root.storeSigner.keyId]));
    return { assertion, chain };
  }

  /** The newest revision of every account-key of the account. */
  async accountKeys(accountId: string): Promise<Assertion[]> {
    await getAccount(this.db, accountId);
    const rows = await this.db.selectFrom('assertions').select(['primary_key', 'revision', 'encoded']).where('type', '=', 'account-key').orderBy('primary_key').orderBy('revision', 'desc').execute();
    const newest = new Map<string, string>();
    for (const r of rows) if (!newest.has(r.primary_key)) newest.set(r.primary_key, r.encoded);
    return [...newest.values()].map((t) => decode(t)).filter((a) => a.headerString('account-id') === accountId);
  }

  members(accountId: string) {
    return membersOfAccount(this.db, accountId);
  }

  auditLog(query: AuditQuery): Promise<AuditPage> {
    return listAudit(this.db, query);
  }
}
