// Overview: devices registered per day and per model (from the vault's
// signing log), snaps and revisions published, active rollouts with their
// health, and recent audit events.
import { enc, getJson } from '../lib/api.ts';
import { Link } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';
import { progressiveChannels, scanStore } from '../lib/store-scan.ts';
import { useLoad } from '../lib/use-load.ts';
import type { LogPage } from '../lib/vault-types.ts';
import type { RevisionRow, RolloutStatus } from '../lib/store-types.ts';
import { BarChart } from '../components/bar-chart.tsx';
import { ErrorMessage, Loading, Notice, Table, Time } from '../components/ui.tsx';
import { auditPath, type AuditEntry } from './audit.tsx';

const DAYS = 14;

export default function OverviewPage() {
  const s = useSession();
  if (!s.can('logRead') && !s.can('storeRead') && !s.me.superuser && !s.can('admin')) {
    return <Notice>Your roles on {s.account} show nothing here: the navigation lists the pages they open.</Notice>;
  }
  return (
    <div className="overview">
      {s.can('logRead') && <Registrations brand={s.account!} />}
      {s.store && s.can('storeRead') && <StoreSummary store={s.store} />}
      {(s.me.superuser || s.can('admin')) && <RecentAudit />}
    </div>
  );
}

function days(now: Date): string[] {
  const out: string[] = [];
  for (let i = DAYS - 1; i >= 0; i--) out.push(new Date(now.getTime() - i * 86_400_000).toISOString().slice(0, 10));
  return out;
}

function Registrations({ brand }: { brand: string }) {
  const log = useLoad(() => getJson<LogPage>(`/api/vault/brands/${enc(brand)}/log`, { since: new Date(Date.now() - DAYS * 86_400_000).toISOString(), limit: 1000 }), [brand]);
  const categories = days(new Date());
  const models = [...new Set((log.data?.entries ?? []).map((e) => e.model))].sort();
  const series = models.map((m) => ({ label: m, values: categories.map((d) => (log.data?.entries ?? []).filter((e) => e.model === m && e.signedAt.startsWith(d)).length) }));
  return (
    <section aria-labelledby="registrations" className="card wide">
      <h2 id="registrations">Devices registered per day, last {DAYS} days</h2>
      <ErrorMessage error={log.error} />
      {!log.data ? <div className="chart-space"><Loading what="registrations" /></div> : log.data.entries.length === 0 ? <div className="chart-space"><Notice>No device registered in the last {DAYS} days.</Notice></div> : <BarChart title="Registrations per day and model" categories={categories} series={series} />}
      {log.data?.nextBefore != null && <Notice>More than 1000 registrations: the chart shows the latest 1000.</Notice>}
    </section>
  );
}

function StoreSummary({ store }: { store: string }) {
  const scan = useLoad(async () => {
    const { snaps, statuses, truncated } = await scanStore(store);
    const revisions = await Promise.all(snaps.map((x) => getJson<{ revisions: RevisionRow[] }>(`/api/store/snaps/${enc(x.name)}/revisions`, { store }).then((r) => r.revisions.length, () => 0)));
    const rollouts = await Promise.all(progressiveChannels(statuses).map((c) => getJson<RolloutStatus>(`/api/store/snaps/${enc(c.snap)}/rollout`, { store, channel: c.channel })));
    return { snaps: snaps.length, revisions: revisions.reduce((a, b) => a + b, 0), rollouts, truncated };
  }, [store]);
  return (
    <>
      <section aria-labelledby="published" className="card">
        <h2 id="published">Published in {store}</h2>
        <ErrorMessage error={scan.error} />
        <dl className="figures">
          <div>
            <dt>Snaps</dt>
            <dd>{scan.data ? `${scan.data.snaps}${scan.data.truncated ? '+' : ''}` : '…'}</dd>
          </div>
          <div>
            <dt>Revisions</dt>
            <dd>{scan.data ? scan.data.revisions : '…'}</dd>
          </div>
          <div>
            <dt>Active rollouts</dt>
            <dd>{scan.data ? scan.data.rollouts.length : '…'}</dd>
          </div>
        </dl>
      </section>
      <section aria-labelledby="active-rollouts" className="card wide">
        <h2 id="active-rollouts">Active rollouts</h2>
        {!scan.data ? (
          <Loading what="rollouts" />
        ) : (
          <Table
            caption="Progressive releases and their health"
            rows={scan.data.rollouts.flatMap((r) => r.releases.map((x) => ({ ...x, snap: r.snap, channel: r.channel })))}
            rowKey={(r) => r.releaseId}
            empty="No progressive rollout."
            columns={[
              { header: 'Snap', cell: (r) => <Link to={`snaps/${r.snap}`}>{r.snap}</Link> },
              { header: 'Channel', cell: (r) => `${r.channel} (${r.architecture})` },
              { header: 'Revision', cell: (r) => r.revision },
              { header: 'Updated', cell: (r) => `${r.progressive['current-percentage']}% of target ${r.progressive.percentage ?? 100}%` },
              { header: 'Failed', cell: (r) => `${r.devices.failed} of ${r.devices.offered}` },
              { header: 'State', cell: (r) => (r.progressive.paused ? `paused${r.pausedReason ? `: ${r.pausedReason}` : ''}` : 'rolling out') },
            ]}
          />
        )}
      </section>
    </>
  );
}

function RecentAudit() {
  const s = useSession();
  const where = auditPath(s);
  const log = useLoad(() => getJson<{ entries: AuditEntry[] }>(where.path, { ...where.query, limit: 8 }), [where.path]);
  return (
    <section aria-labelledby="recent-audit" className="card wide">
      <h2 id="recent-audit">Recent events</h2>
      <ErrorMessage error={log.error} />
      {log.data ? (
        <Table
          caption="The latest audit events"
          rows={log.data.entries}
          rowKey={(e) => String(e.id)}
          empty="No event."
          columns={[
            { header: 'When', cell: (e) => <Time at={e.at} /> },
            { header: 'Who', cell: (e) => e.actor },
            { header: 'Action', cell: (e) => <code>{e.action}</code> },
            { header: 'Target', cell: (e) => e.target ?? '' },
          ]}
        />
      ) : (
        <Loading what="events" />
      )}
      <p>
        <Link to="audit">The whole audit log</Link>
      </p>
    </section>
  );
}
