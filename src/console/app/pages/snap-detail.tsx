// One snap: its release matrix (tracks × risks × architectures, like the
// snap store's releases page), revisions with upload details, and, for its
// publishers, release (plain or progressive) and close.
import { useState } from 'react';
import { enc, getJson, postJson } from '../lib/api.ts';
import { Link } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';
import { useLoad } from '../lib/use-load.ts';
import { releaseOutcome, type ChannelMapRow, type ReleaseAnswer, type RevisionRow, type SnapStatus } from '../lib/store-types.ts';
import { ConfirmButton, ErrorMessage, Field, Loading, Notice, Table, Time, useSubmit } from '../components/ui.tsx';

export function SnapDetail({ name }: { name: string }) {
  const s = useSession();
  const q = s.store ? `?store=${enc(s.store)}` : '';
  const base = `/api/store/snaps/${enc(name)}`;
  const status = useLoad(() => getJson<SnapStatus>(base + q), [name, s.store]);
  const revisions = useLoad(() => getJson<{ revisions: RevisionRow[] }>(`${base}/revisions${q}`), [name, s.store]);
  const reload = () => {
    status.reload();
    revisions.reload();
  };
  const canPublish = !!status.data && (s.can('publish', status.data.snap.publisherId) || status.data.collaborators.some((c) => s.can('publish', c)));
  return (
    <>
      <p>
        <Link to="snaps">All snaps</Link>
      </p>
      <h2>{name}</h2>
      <ErrorMessage error={status.error ?? revisions.error} />
      {status.data && (
        <p className="facts">
          Publisher {status.data.snap.publisherId} · {status.data.snap.private ? 'private' : 'public'} · default track {status.data.snap.defaultTrack} · snap id <code>{status.data.snap.snapId}</code>
          {status.data.collaborators.length > 0 && <> · collaborators {status.data.collaborators.join(', ')}</>}
        </p>
      )}
      {status.loading && !status.data ? <Loading what="the channel map" /> : status.data && <ReleaseMatrix rows={status.data.channelMap} snap={name} canClose={canPublish} onChange={reload} />}
      {revisions.data && <Revisions snap={name} revisions={revisions.data.revisions} canRelease={canPublish} onChange={reload} />}
    </>
  );
}

function cellText(r: ChannelMapRow | undefined): string {
  if (!r) return '—';
  if (r.revision === null) return r.following ? `↑ ${r.following}` : '—';
  if (r.following) return `${r.revision} (↑ ${r.following})`;
  const p = r.progressive;
  if (p) return `${r.revision} · ${p.paused ? 'paused' : 'progressive'} ${p.percentage ?? 100}% (${p['current-percentage'] ?? 0}% took it)`;
  return String(r.revision);
}

function ReleaseMatrix({ rows, snap, canClose, onChange }: { rows: ChannelMapRow[]; snap: string; canClose: boolean; onChange(): void }) {
  const s = useSession();
  const [promoting, setPromoting] = useState<string>();
  const arches = [...new Set(rows.map((r) => r.architecture))].sort();
  const channels = [...new Map(rows.map((r) => [r.channel, r])).values()];
  if (rows.length === 0) return <Notice>Nothing is released yet.</Notice>;
  const close = (channel: string) => postJson(`/api/store/snaps/${enc(snap)}/close${s.store ? `?store=${enc(s.store)}` : ''}`, { channels: [channel] }).then(onChange);
  return (
    <div className="table-wrap">
      <table className="matrix">
        <caption>Release matrix: channels (track/risk/branch) by architecture; ↑ follows a more stable risk</caption>
        <thead>
          <tr>
            <th scope="col">Channel</th>
            {arches.map((a) => (
              <th key={a} scope="col">
                {a}
              </th>
            ))}
            {canClose && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {channels.map((c) => {
            const own = rows.some((r) => r.channel === c.channel && r.revision !== null && !r.following);
            return (
              <tr key={c.channel}>
                <th scope="row">{c.channel}</th>
                {arches.map((a) => (
                  <td key={a}>{cellText(rows.find((r) => r.channel === c.channel && r.architecture === a))}</td>
                ))}
                {canClose && (
                  <td className="row-actions">
                    {own && (
                      <button type="button" onClick={() => setPromoting(c.channel)} aria-expanded={promoting === c.channel}>
                        Promote {c.channel}…
                      </button>
                    )}
                    {own && (
                      <ConfirmButton label={`Close ${c.channel}`} title={`Close ${c.channel}?`} confirmLabel="Close channel" onConfirm={() => close(c.channel)}>
                        <p>
                          Devices tracking {c.channel} will follow the next more stable risk. This is recorded in the audit log.
                        </p>
                      </ConfirmButton>
                    )}
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
      {promoting && <PromoteForm key={promoting} snap={snap} channel={promoting} rows={rows.filter((r) => r.channel === promoting && r.revision !== null && !r.following)} onDone={onChange} onCancel={() => setPromoting(undefined)} />}
    </div>
  );
}

/** Releases what a channel holds (each architecture's revision) to another channel, like `snapcraft promote`. */
function PromoteForm({ snap, channel, rows, onDone, onCancel }: { snap: string; channel: string; rows: ChannelMapRow[]; onDone(): void; onCancel(): void }) {
  const s = useSession();
  const [target, setTarget] = useState('');
  const [done, setDone] = useState<string>();
  const revisions = [...new Set(rows.map((r) => r.revision!))];
  const { busy, error, setError, submit } = useSubmit(
    async () => {
      const answers: ReleaseAnswer[] = [];
      for (const revision of revisions) answers.push(await postJson<ReleaseAnswer>(`/api/store/snaps/${enc(snap)}/releases${s.store ? `?store=${enc(s.store)}` : ''}`, { revision, channels: [target.trim()] }));
      return answers;
    },
    (answers) => {
      const pending = answers.flatMap((a) => (a.pending ? [a.pending.id] : []));
      setDone(
        pending.length > 0
          ? `${target.trim()} is controlled: release request${pending.length > 1 ? 's' : ''} #${pending.join(', #')} now wait${pending.length > 1 ? '' : 's'} for an approver.`
          : `Promoted revision ${revisions.join(', ')} from ${channel} to ${target.trim()}.`,
      );
      onDone();
    },
  );
  return (
    <section aria-labelledby="promote-heading" className="panel">
      <h3 id="promote-heading">Promote {channel}</h3>
      <p>
        Releases revision {revisions.join(', ')} (what {channel} holds) to another channel.
      </p>
      <form
        noValidate
        onSubmit={(e) => {
          if (!CHANNEL.test(target.trim()) || target.trim() === channel) {
            e.preventDefault();
            setError('Name another channel (track/risk/branch, e.g. latest/stable).');
            return;
          }
          void submit(e);
        }}
      >
        <Field label="To channel" required value={target} onChange={(e) => setTarget(e.target.value)} hint="e.g. latest/candidate" />
        <ErrorMessage error={error} />
        {done && <Notice>{done}</Notice>}
        <div className="actions">
          <button type="button" onClick={onCancel}>
            Done
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Promote
          </button>
        </div>
      </form>
    </section>
  );
}

function Revisions({ snap, revisions, canRelease, onChange }: { snap: string; revisions: RevisionRow[]; canRelease: boolean; onChange(): void }) {
  const [releasing, setReleasing] = useState<number>();
  return (
    <section aria-labelledby="revisions-heading">
      <h2 id="revisions-heading">Revisions</h2>
      <Table
        caption={`Revisions of ${snap}, newest first`}
        rows={revisions}
        rowKey={(r) => String(r.revision)}
        empty="No revision uploaded yet (snapline push)."
        columns={[
          { header: 'Revision', cell: (r) => r.revision },
          { header: 'Version', cell: (r) => r.version },
          { header: 'Architectures', cell: (r) => r.architectures.join(', ') },
          { header: 'Size', cell: (r) => `${(r.size / 1024).toFixed(1)} KiB` },
          { header: 'Uploaded', cell: (r) => <Time at={r.createdAt} /> },
          { header: 'By', cell: (r) => r.developerId ?? '' },
          { header: 'SHA3-384', cell: (r) => <code title={r.sha3_384}>{r.sha3_384.slice(0, 12)}…</code> },
          { header: 'Released to', cell: (r) => r.channels.join(', ') || '—' },
          ...(canRelease
            ? [
                {
                  header: 'Actions',
                  cell: (r: RevisionRow) => (
                    <button type="button" onClick={() => setReleasing(r.revision)} aria-expanded={releasing === r.revision}>
                      Release {r.revision}…
                    </button>
                  ),
                },
              ]
            : []),
        ]}
      />
      {canRelease && releasing !== undefined && <ReleaseForm key={releasing} snap={snap} revision={releasing} onDone={onChange} onCancel={() => setReleasing(undefined)} />}
    </section>
  );
}

/** Channels as the server takes them: "stable", "latest/beta", "2.0/candidate/fix-1", comma-separated. */
const CHANNEL = /^[a-zA-Z0-9][a-zA-Z0-9._-]*(?:\/[a-zA-Z0-9._-]+){0,2}$/;

function ReleaseForm({ snap, revision, onDone, onCancel }: { snap: string; revision: number; onDone(): void; onCancel(): void }) {
  const s = useSession();
  const [channels, setChannels] = useState('');
  const [percentage, setPercentage] = useState('');
  const [failAfter, setFailAfter] = useState('');
  const [threshold, setThreshold] = useState('');
  const [done, setDone] = useState<string>();
  const list = channels.split(',').map((c) => c.trim()).filter(Boolean);
  const { busy, error, setError, submit } = useSubmit(
    () =>
      postJson<ReleaseAnswer>(`/api/store/snaps/${enc(snap)}/releases${s.store ? `?store=${enc(s.store)}` : ''}`, {
        revision,
        channels: list,
        ...(percentage ? { progressivePercentage: Number(percentage) } : {}),
        ...(failAfter ? { health: { failAfterCheckins: Number(failAfter), ...(threshold ? { errorThreshold: Number(threshold) } : {}) } } : {}),
      }),
    (r) => {
      setDone(releaseOutcome(revision, r));
      onDone();
    },
  );
  const validate = (): string | undefined => {
    if (list.length === 0) return 'Name at least one channel.';
    const bad = list.find((c) => !CHANNEL.test(c));
    if (bad) return `"${bad}" is not a channel (track/risk/branch, e.g. latest/stable).`;
    for (const [v, what, max] of [
      [percentage, 'The progressive percentage', 100],
      [failAfter, 'Failed after check-ins', 1000],
      [threshold, 'The error threshold', 100],
    ] as const) {
      if (v && !(Number.isInteger(Number(v)) && Number(v) >= 1 && Number(v) <= max)) return `${what} must be a whole number from 1 to ${max}.`;
    }
    if (threshold && !failAfter) return 'An error threshold needs "failed after check-ins".';
    return undefined;
  };
  return (
    <section aria-labelledby="release-heading" className="panel">
      <h3 id="release-heading">Release revision {revision}</h3>
      <form
        noValidate
        onSubmit={(e) => {
          const problem = validate();
          if (problem) {
            e.preventDefault();
            setError(problem);
            return;
          }
          void submit(e);
        }}
      >
        <Field label="Channels" required value={channels} onChange={(e) => setChannels(e.target.value)} hint="comma-separated, e.g. latest/stable, beta" />
        <Field label="Progressive percentage" inputMode="numeric" value={percentage} onChange={(e) => setPercentage(e.target.value)} hint="1–100: share of devices offered the revision; empty: all" />
        <Field label="Failed after check-ins" inputMode="numeric" value={failAfter} onChange={(e) => setFailAfter(e.target.value)} hint="health rule: a device offered the revision that still runs another after this many check-ins has failed" />
        <Field label="Error threshold (%)" inputMode="numeric" value={threshold} onChange={(e) => setThreshold(e.target.value)} hint="share of failed devices that pauses the rollout by itself" />
        <ErrorMessage error={error} />
        {done && <Notice>{done}</Notice>}
        <div className="actions">
          <button type="button" onClick={onCancel}>
            Done
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Release
          </button>
        </div>
      </form>
    </section>
  );
}
