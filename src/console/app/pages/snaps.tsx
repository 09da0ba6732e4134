// Snaps: the store's snaps (search, pages, register a name), and one snap's
// release matrix, revisions, release and close.
import { useState } from 'react';
import { enc, getJson, postJson } from '../lib/api.ts';
import { Link } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';
import { useCursor, useLoad } from '../lib/use-load.ts';
import type { SnapRow } from '../lib/store-types.ts';
import { ErrorMessage, Field, Loading, Notice, Pager, Table, Time, useSubmit } from '../components/ui.tsx';
import { SnapDetail } from './snap-detail.tsx';

export default function SnapsPage({ rest }: { rest: string }) {
  return rest ? <SnapDetail name={rest} /> : <SnapList />;
}

function SnapList() {
  const s = useSession();
  const [q, setQ] = useState('');
  const [search, setSearch] = useState('');
  const pages = useCursor<string>();
  const list = useLoad(
    () => (s.store ? getJson<{ snaps: SnapRow[]; nextAfter: string | null }>(`/api/console/stores/${enc(s.store)}/snaps`, { q: search, after: pages.cursor, limit: 25 }) : Promise.resolve({ snaps: [], nextAfter: null })),
    [s.store, search, pages.cursor],
  );
  if (!s.store) return <Notice>The account {s.account} has no store. The operator creates one with `snapline store create`.</Notice>;
  return (
    <>
      <form
        className="inline"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          pages.reset();
          setSearch(q.trim());
        }}
      >
        <Field label="Snap name contains" value={q} onChange={(e) => setQ(e.target.value)} />
        <button type="submit">Search</button>
      </form>
      <ErrorMessage error={list.error} />
      {list.loading && !list.data ? (
        <Loading what="snaps" />
      ) : (
        <Table
          caption={`Snaps in store ${s.store}`}
          rows={list.data?.snaps ?? []}
          rowKey={(r) => r.snapId}
          empty="No snap is registered in this store (yet)."
          columns={[
            { header: 'Name', cell: (r) => <Link to={`snaps/${r.name}`}>{r.name}</Link> },
            { header: 'Publisher', cell: (r) => r.publisherId },
            { header: 'Visibility', cell: (r) => (r.private ? 'private' : 'public') },
            { header: 'Default track', cell: (r) => r.defaultTrack },
            { header: 'Registered', cell: (r) => <Time at={r.createdAt} /> },
          ]}
        />
      )}
      <Pager label="Snaps" page={pages.page} hasNext={!!list.data?.nextAfter} onPrevious={pages.previous} onNext={() => list.data?.nextAfter && pages.next(list.data.nextAfter)} />
      {s.can('publish') && <RegisterSnap store={s.store} onDone={list.reload} />}
    </>
  );
}

const SNAP_NAME = /^(?=.*[a-z])[a-z0-9](?:-?[a-z0-9])*$/;

function RegisterSnap({ store, onDone }: { store: string; onDone(): void }) {
  const [name, setName] = useState('');
  const [isPrivate, setPrivate] = useState(false);
  const [done, setDone] = useState<string>();
  const { busy, error, setError, submit } = useSubmit(
    () => postJson<{ snap: SnapRow }>(`/api/store/stores/${enc(store)}/snaps`, { name, ...(isPrivate ? { private: true } : {}) }),
    (r) => {
      setDone(`Registered ${r.snap.name} (snap id ${r.snap.snapId}).`);
      setName('');
      onDone();
    },
  );
  return (
    <section aria-labelledby="register-heading">
      <h2 id="register-heading">Register a snap name</h2>
      <form
        noValidate
        onSubmit={(e) => {
          if (!SNAP_NAME.test(name) || name.length > 40) {
            e.preventDefault();
            setDone(undefined);
            setError('A snap name is 1 to 40 lower-case letters, digits and single hyphens, with at least one letter, not starting or ending with a hyphen.');
            return;
          }
          void submit(e);
        }}
      >
        <Field label="Snap name" required maxLength={40} value={name} onChange={(e) => setName(e.target.value)} hint="lower-case letters, digits and hyphens" />
        <div className="check">
          <input id="register-private" type="checkbox" checked={isPrivate} onChange={(e) => setPrivate(e.target.checked)} />
          <label htmlFor="register-private">Private (only this store's devices see it)</label>
        </div>
        <ErrorMessage error={error} />
        {done && <Notice>{done}</Notice>}
        <button type="submit" className="primary" disabled={busy}>
          Register
        </button>
      </form>
    </section>
  );
}
