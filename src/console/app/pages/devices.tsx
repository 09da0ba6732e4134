// Devices: search the store's devices by serial or model; one device's
// history (registration in the vault's log, store sessions, what each
// progressive release saw of it, and `rollout why` for one of its snaps).
import { useState } from 'react';
import { enc, getJson } from '../lib/api.ts';
import { Link } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';
import { useCursor, useLoad } from '../lib/use-load.ts';
import type { LogPage } from '../lib/vault-types.ts';
import { ErrorMessage, Field, Loading, Notice, Pager, Table, Time, useSubmit } from '../components/ui.tsx';

interface DeviceRow {
  serial: string;
  model: string;
  firstSession: string;
  lastSession: string;
  sessions: number;
}

interface DeviceHistory {
  serial: string;
  sessions: { model: string; at: string }[];
  releases: { snap: string; model: string; channel: string | null; architecture: string | null; revision: number | null; firstSeenAt: string; offeredAt: string | null; downloadedAt: string | null; tookAt: string | null; failedAt: string | null; reportedRevision: number | null }[];
}

export default function DevicesPage({ rest }: { rest: string }) {
  const s = useSession();
  if (!s.store && !s.can('logRead')) return <Notice>The account {s.account} has no store.</Notice>;
  return rest ? <Device serial={rest} /> : <DeviceSearch />;
}

function DeviceSearch() {
  const s = useSession();
  const [serial, setSerial] = useState('');
  const [model, setModel] = useState('');
  const [filters, setFilters] = useState({ serial: '', model: '' });
  const pages = useCursor<string>();
  const list = useLoad(
    () => (s.store && s.can('storeRead') ? getJson<{ devices: DeviceRow[]; nextAfter: string | null }>(`/api/console/stores/${enc(s.store)}/devices`, { ...filters, after: pages.cursor, limit: 25 }) : Promise.resolve(undefined)),
    [s.store, filters, pages.cursor],
  );
  return (
    <>
      <form
        className="inline"
        role="search"
        aria-label="Search devices"
        onSubmit={(e) => {
          e.preventDefault();
          pages.reset();
          setFilters({ serial: serial.trim(), model: model.trim() });
        }}
      >
        <Field label="Serial starts with" value={serial} onChange={(e) => setSerial(e.target.value)} />
        <Field label="Model" value={model} onChange={(e) => setModel(e.target.value)} />
        <button type="submit">Search devices</button>
      </form>
      <ErrorMessage error={list.error} />
      {list.data === undefined && !list.loading ? (
        <Notice>Your roles do not include the store's devices; open a serial from the signing log instead.</Notice>
      ) : list.data ? (
        <Table
          caption={`Devices that opened a session with store ${s.store}`}
          rows={list.data.devices}
          rowKey={(d) => `${d.serial} ${d.model}`}
          empty="No device (matching the search) has opened a session with the store."
          columns={[
            { header: 'Serial', cell: (d) => <Link to={`devices/${d.serial}`}>{d.serial}</Link> },
            { header: 'Model', cell: (d) => d.model },
            { header: 'First session', cell: (d) => <Time at={d.firstSession} /> },
            { header: 'Last session', cell: (d) => <Time at={d.lastSession} /> },
            { header: 'Sessions', cell: (d) => d.sessions },
          ]}
        />
      ) : (
        <Loading what="devices" />
      )}
      <Pager label="Devices" page={pages.page} hasNext={!!list.data?.nextAfter} onPrevious={pages.previous} onNext={() => list.data?.nextAfter && pages.next(list.data.nextAfter)} />
    </>
  );
}

function Device({ serial }: { serial: string }) {
  const s = useSession();
  const history = useLoad(
    () => (s.store && s.can('storeRead') ? getJson<DeviceHistory>(`/api/console/stores/${enc(s.store)}/devices/${enc(serial)}`).catch((err: { status?: number }) => (err.status === 404 ? null : Promise.reject(err))) : Promise.resolve(null)),
    [s.store, serial],
  );
  const registration = useLoad(() => (s.can('logRead') ? getJson<LogPage>(`/api/vault/brands/${enc(s.account!)}/log`, { serial, limit: 50 }) : Promise.resolve({ entries: [], nextBefore: null })), [s.account, serial]);
  return (
    <>
      <p>
        <Link to="devices">All devices</Link>
      </p>
      <h2>Device {serial}</h2>
      <ErrorMessage error={history.error ?? registration.error} />
      <section aria-labelledby="device-registration">
        <h3 id="device-registration">Registration (serial vault)</h3>
        {registration.data ? (
          <Table
            caption="Serial assertions signed for this serial"
            rows={registration.data.entries}
            rowKey={(e) => String(e.id)}
            empty="The vault has signed no serial with this number for this brand."
            columns={[
              { header: 'Signed', cell: (e) => <Time at={e.signedAt} /> },
              { header: 'Model', cell: (e) => e.model },
              { header: 'API key', cell: (e) => e.apiKeyName },
              { header: 'Remodel from', cell: (e) => e.remodelFrom || '—' },
            ]}
          />
        ) : (
          <Loading what="registrations" />
        )}
      </section>
      {history.data === null && <Notice>The store has not seen this device.</Notice>}
      {history.data && (
        <>
          <section aria-labelledby="device-sessions">
            <h3 id="device-sessions">Store sessions</h3>
            <Table caption="Device sessions, newest first" rows={history.data.sessions} rowKey={(x) => `${x.at} ${x.model}`} empty="No session." columns={[{ header: 'Opened', cell: (x) => <Time at={x.at} /> }, { header: 'Model', cell: (x) => x.model }]} />
          </section>
          <section aria-labelledby="device-releases">
            <h3 id="device-releases">Refreshes and rollout decisions</h3>
            <Table
              caption="What each progressive release saw of this device"
              rows={history.data.releases}
              rowKey={(r) => `${r.snap} ${r.firstSeenAt} ${r.channel ?? ''}`}
              empty="No progressive release has seen this device."
              columns={[
                { header: 'Snap', cell: (r) => r.snap },
                { header: 'Release', cell: (r) => (r.channel ? `${r.channel} ${r.architecture} r${r.revision}` : 'replaced since') },
                { header: 'First seen', cell: (r) => <Time at={r.firstSeenAt} /> },
                { header: 'Offered', cell: (r) => <Time at={r.offeredAt} /> },
                { header: 'Downloaded', cell: (r) => <Time at={r.downloadedAt} /> },
                { header: 'Took it', cell: (r) => <Time at={r.tookAt} /> },
                { header: 'Failed', cell: (r) => <Time at={r.failedAt} /> },
                { header: 'Reports', cell: (r) => (r.reportedRevision !== null ? `r${r.reportedRevision}` : '—') },
              ]}
            />
          </section>
          <Why serial={serial} snaps={[...new Set(history.data.releases.map((r) => r.snap))]} />
        </>
      )}
    </>
  );
}

interface WhyResult {
  heldBy: string | null;
  answers: { architecture: string; revision: number | null; effectiveChannel: string | null; explanation: string }[];
}

function Why({ serial, snaps }: { serial: string; snaps: string[] }) {
  const s = useSession();
  const [snap, setSnap] = useState(snaps[0] ?? '');
  const [channel, setChannel] = useState('');
  const [result, setResult] = useState<WhyResult>();
  const { busy, error, setError, submit } = useSubmit(() => getJson<WhyResult>(`/api/store/snaps/${enc(snap)}/rollout/why`, { store: s.store, serial, channel: channel.trim() || undefined }), setResult);
  return (
    <section aria-labelledby="why">
      <h3 id="why">Why does it get what it gets?</h3>
      <form
        className="inline"
        noValidate
        onSubmit={(e) => {
          if (!snap.trim()) {
            e.preventDefault();
            setError('Name a snap.');
            return;
          }
          void submit(e);
        }}
      >
        <Field label="Snap" value={snap} onChange={(e) => setSnap(e.target.value)} list="why-snaps" />
        <datalist id="why-snaps">
          {snaps.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
        <Field label="Channel (optional)" value={channel} onChange={(e) => setChannel(e.target.value)} hint="default: the default track's stable" />
        <button type="submit" disabled={busy}>
          Explain
        </button>
      </form>
      <ErrorMessage error={error} />
      {result && (
        <div className="panel">
          {result.heldBy && <Notice>Held by device group {result.heldBy}.</Notice>}
          <ul>
            {result.answers.map((a) => (
              <li key={a.architecture}>
                <strong>{a.architecture}</strong>: {a.revision !== null ? `revision ${a.revision} from ${a.effectiveChannel}` : 'nothing'}: {a.explanation}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
