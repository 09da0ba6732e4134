// The console's shell: sign-in, then the header (account, store, user), the
// navigation the user's roles allow, and the current page (each page is its
// own chunk, loaded when first opened).
import { lazy, Suspense, useEffect, useRef, useState, type ComponentType } from 'react';
import { SessionProvider, useSessionState, useSession, type Session } from './lib/session.tsx';
import { Link, navigate, usePath } from './lib/router.tsx';
import { SignIn } from './pages/sign-in.tsx';
import { Loading, useFocusOnChange } from './components/ui.tsx';

interface PageDef {
  path: string;
  title: string;
  component: ComponentType<{ rest: string }>;
  /** Whether the navigation offers the page to this session. */
  visible(s: Session): boolean;
}

const anyStoreRole = (s: Session) => s.can('storeRead');
export const PAGES: PageDef[] = [
  { path: '', title: 'Overview', component: lazy(() => import('./pages/overview.tsx')), visible: () => true },
  { path: 'snaps', title: 'Snaps', component: lazy(() => import('./pages/snaps.tsx')), visible: anyStoreRole },
  { path: 'models', title: 'Models', component: lazy(() => import('./pages/models.tsx')), visible: (s) => s.can('vaultRead') || s.can('accountRead') },
  { path: 'keys', title: 'Keys', component: lazy(() => import('./pages/keys.tsx')), visible: (s) => s.can('accountRead') },
  { path: 'vault', title: 'Serial vault', component: lazy(() => import('./pages/vault.tsx')), visible: (s) => s.can('logRead') },
  { path: 'update-control', title: 'Update control', component: lazy(() => import('./pages/update-control.tsx')), visible: (s) => s.can('storeRead') || s.can('approvalsRead') },
  { path: 'devices', title: 'Devices', component: lazy(() => import('./pages/devices.tsx')), visible: (s) => s.can('storeRead') || s.can('logRead') },
  { path: 'audit', title: 'Audit log', component: lazy(() => import('./pages/audit.tsx')), visible: (s) => s.me.superuser || s.can('admin') },
];

export function App() {
  return (
    <SessionProvider>
      <Shell />
    </SessionProvider>
  );
}

function Shell() {
  const { session } = useSessionState();
  return session ? <SignedIn /> : <SignIn />;
}

function SignedIn() {
  const s = useSession();
  const path = usePath();
  const [first = '', ...rest] = path.split('/');
  const pages = PAGES.filter((p) => p.visible(s));
  const page = pages.find((p) => p.path === first);
  const heading = useFocusOnChange(path);
  const Page = page?.component;
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Snapline</span>
        <ContextPicker />
        <span className="user">
          {s.me.username}
          {s.me.superuser ? ' (operator)' : ''}
        </span>
        <button
          type="button"
          onClick={() => {
            s.signOut();
            // The next user starts on the overview, not on a page their roles may not open.
            navigate('');
          }}
        >
          Sign out
        </button>
      </header>
      <nav className="side" aria-label="Console">
        <ul>
          {pages.map((p) => (
            <li key={p.path}>
              <Link to={p.path} aria-current={p.path === first ? 'page' : undefined}>
                {p.title}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <h1 tabIndex={-1} ref={heading}>
          {page?.title ?? 'Not found'}
        </h1>
        {Page ? (
          <Suspense fallback={<Loading what="the page" />}>
            <Page key={`${s.account}/${s.store}`} rest={rest.join('/')} />
          </Suspense>
        ) : (
          <p>This page does not exist, or your roles do not include it.</p>
        )}
      </main>
    </div>
  );
}

function ContextPicker() {
  const s = useSession();
  const stores = s.stores.filter((x) => x.brandId === s.account);
  // Accounts and stores made since sign-in (with the CLI) appear when the picker is next used, read at most every 30 s.
  const last = useRef(0);
  const refresh = () => {
    if (Date.now() - last.current < 30_000) return;
    last.current = Date.now();
    s.refreshContext();
  };
  const { store, setStore } = s;
  const firstStore = stores[0]?.storeId;
  useEffect(() => {
    if (!store && firstStore) setStore(firstStore);
  }, [store, firstStore, setStore]);
  return (
    <div className="context">
      <label>
        Account{' '}
        <select value={s.account ?? ''} onChange={(e) => s.setAccount(e.target.value)} onFocus={refresh}>
          {s.accounts.map((a) => (
            <option key={a.accountId} value={a.accountId}>
              {a.displayName && a.displayName !== a.accountId ? `${a.displayName} (${a.accountId})` : a.accountId}
            </option>
          ))}
        </select>
      </label>
      {stores.length > 0 ? (
        <label>
          Store{' '}
          <select value={s.store ?? ''} onChange={(e) => s.setStore(e.target.value)}>
            {stores.map((x) => (
              <option key={x.storeId} value={x.storeId}>
                {x.storeId}
              </option>
            ))}
          </select>
        </label>
      ) : (
        <StoreByName />
      )}
    </div>
  );
}

/** Roles that may not list the brand's stores (an approver's) name the store instead. */
function StoreByName() {
  const s = useSession();
  const [name, setName] = useState(s.store ?? '');
  return (
    <form
      className="store-by-name"
      onSubmit={(e) => {
        e.preventDefault();
        s.setStore(name.trim());
      }}
    >
      <label>
        Store id <input value={name} onChange={(e) => setName(e.target.value)} size={14} />
      </label>{' '}
      <button type="submit">Use</button>
    </form>
  );
}
