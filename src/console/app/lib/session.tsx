// The signed-in session: token (in memory), who the user is, and the account
// and store the pages act on.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { getJson, postJson, setToken, whenUnauthorized } from './api.ts';
import { can, type Me, type Permission } from './roles.ts';

export interface Account {
  accountId: string;
  displayName: string;
}
export interface Store {
  storeId?: string;
  brandId?: string;
}

export interface Session {
  me: Me;
  accounts: Account[];
  stores: Store[];
  /** The brand account the pages act on. */
  account: string | undefined;
  /** The store of that brand the pages act on. */
  store: string | undefined;
  setAccount(id: string): void;
  setStore(id: string): void;
  can(permission: Permission, accountId?: string): boolean;
  /** Reads the accounts and stores again (made since sign-in with the CLI or the API). */
  refreshContext(): void;
  signOut(): void;
  expiresAt: string;
}

interface SessionState {
  session: Session | undefined;
  signIn(username: string, password: string): Promise<void>;
  /** Why the last session ended on its own (token expired or revoked). */
  endedBecause: string | undefined;
}

const Ctx = createContext<SessionState | undefined>(undefined);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me>();
  const [expiresAt, setExpiresAt] = useState('');
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [stores, setStores] = useState<Store[]>([]);
  const [account, setAccount] = useState<string>();
  const [store, setStore] = useState<string>();
  const [endedBecause, setEndedBecause] = useState<string>();

  const signOut = useCallback(() => {
    setToken(undefined);
    setMe(undefined);
    setAccounts([]);
    setStores([]);
    setAccount(undefined);
    setStore(undefined);
  }, []);

  useEffect(() => {
    whenUnauthorized(() => {
      signOut();
      setEndedBecause('Your session ended (expired or revoked). Sign in again.');
    });
  }, [signOut]);

  const refreshContext = useCallback(() => {
    void Promise.all([getJson<{ accounts: Account[] }>('/api/accounts', { limit: 1000 }), getJson<{ stores?: Store[] }>('/api/store/stores').catch(() => ({ stores: [] as Store[] }))]).then(
      ([{ accounts: accs }, { stores: sts = [] }]) => {
        setAccounts((before) => [...accs, ...before.filter((a) => !accs.some((x) => x.accountId === a.accountId))]);
        setStores(sts);
      },
      () => undefined,
    );
  }, []);

  const signIn = useCallback(async (username: string, password: string) => {
    const login = await postJson<{ token: string; expiresAt: string }>('/api/login', { username, password });
    setToken(login.token);
    try {
      const who = await getJson<Me>('/api/whoami');
      const [{ accounts: accs }, { stores: sts = [] }] = await Promise.all([
        getJson<{ accounts: Account[] }>('/api/accounts', { limit: 1000 }),
        getJson<{ stores?: Store[] }>('/api/store/stores').catch(() => ({ stores: [] as Store[] })),
      ]);
      // Accounts the user has roles on but may not list (an approver's, a factory operator's) still count.
      for (const id of Object.keys(who.roles)) if (id !== '*' && !accs.some((a) => a.accountId === id)) accs.push({ accountId: id, displayName: id });
      // A brand with a store first: that is where most pages have something to show.
      const brands = new Set(sts.map((s) => s.brandId));
      const first = accs.find((a) => brands.has(a.accountId)) ?? accs.find((a) => a.accountId !== 'snapline-root') ?? accs[0];
      setAccounts(accs);
      setStores(sts);
      setAccount(first?.accountId);
      setStore(sts.find((s) => s.brandId === first?.accountId)?.storeId);
      setExpiresAt(login.expiresAt);
      setEndedBecause(undefined);
      setMe(who);
    } catch (err) {
      setToken(undefined);
      throw err;
    }
  }, []);

  const session = useMemo<Session | undefined>(() => {
    if (!me) return undefined;
    return {
      me,
      accounts,
      stores,
      account,
      store,
      expiresAt,
      setAccount(id) {
        setAccount(id);
        setStore(stores.find((s) => s.brandId === id)?.storeId);
      },
      setStore,
      can: (permission, accountId) => can(me, permission, accountId ?? account),
      refreshContext,
      signOut,
    };
  }, [me, accounts, stores, account, store, expiresAt, signOut, refreshContext]);

  const value = useMemo(() => ({ session, signIn, endedBecause }), [session, signIn, endedBecause]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSessionState(): SessionState {
  const s = useContext(Ctx);
  if (!s) throw new Error('useSessionState outside SessionProvider');
  return s;
}

/** The signed-in session (pages render only when there is one). */
export function useSession(): Session {
  const s = useSessionState().session;
  if (!s) throw new Error('no session');
  return s;
}
