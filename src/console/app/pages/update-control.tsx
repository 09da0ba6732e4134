// Update control: progressive rollouts with their progress and health,
// pause / resume / roll back, starting a progressive release, and the
// store's device groups (create, hold). Plans, approvals and validation sets
// have no API yet.
import { useEffect, useState } from 'react';
import { enc, getJson, postJson } from '../lib/api.ts';
import { useSession } from '../lib/session.tsx';
import { progressiveChannels, scanStore } from '../lib/store-scan.ts';
import { useLoad } from '../lib/use-load.ts';
import { releaseOutcome, type DeviceGroup, type ReleaseAnswer, type ReleaseRequest, type RolloutRelease, type RolloutStatus, type ValidationSet } from '../lib/store-types.ts';
import { ConfirmButton, ErrorMessage, Field, Loading, Notice, Table, TextArea, Time, useSubmit } from '../components/ui.tsx';
import { Link } from '../lib/router.tsx';

export default function UpdateControlPage() {
  const s = useSession();
  if (!s.store) return <Notice>The account {s.account} has no store.</Notice>;
  // An approver who reads nothing else of the store sees the requests only.
  if (!s.can('storeRead')) return <Approvals store={s.store} onDecided={() => undefined} />;
  return <UpdateControl store={s.store} />;
}

const REFRESH_MS = 10_000;

function UpdateControl({ store }: { store: string }) {
  const s = useSession();
  // Counts releases made from this page: a release to a controlled channel adds a request to the approvals.
  const [releases, setReleases] = useState(0);
  // Which channels have a progressive release: read once (and on Refresh), as it takes a request per snap.
  const scan = useLoad(async () => {
    const { statuses, truncated } = await scanStore(store);
    return { channels: progressiveChannels(statuses), truncated, snaps: statuses.map((x) => x.snap.name) };
  }, [store]);
  // Their progress: read again every few seconds while the page is in view.
  const rollouts = useLoad(
    async () =>
      scan.data
        ? {
            list: await Promise.all(scan.data.channels.map((c) => getJson<RolloutStatus>(`/api/store/snaps/${enc(c.snap)}/rollout`, { store, channel: c.channel }).then((r) => ({ ...r, publisher: c.publisher })))),
            at: new Date().toISOString(),
          }
        : undefined,
    [store, scan.data],
  );
  const { reload } = rollouts;
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') reload();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  return (
    <>
      <section aria-labelledby="rollouts">
        <h2 id="rollouts">Progressive rollouts</h2>
        <div className="actions">
          <button type="button" onClick={scan.reload}>
            Refresh
          </button>
          <span className="hint">
            Progress is read again every {REFRESH_MS / 1000} s{rollouts.data ? <> · last at <Time at={rollouts.data.at} /></> : null}
          </span>
        </div>
        <ErrorMessage error={scan.error ?? rollouts.error} />
        {!rollouts.data ? (
          <Loading what="rollouts" />
        ) : rollouts.data.list.length === 0 ? (
          <Notice>No progressive rollout in this store.</Notice>
        ) : (
          rollouts.data.list.map((r) => <Rollout key={`${r.snap} ${r.channel}`} rollout={r} store={store} canChange={s.can('publish', r.publisher)} onChange={reload} />)
        )}
        {scan.data?.truncated && <Notice>Only the first 100 snaps are shown.</Notice>}
      </section>
      {s.can('publish') && scan.data && (
        <StartRollout
          store={store}
          snaps={scan.data.snaps}
          onDone={() => {
            scan.reload();
            setReleases((n) => n + 1);
          }}
        />
      )}
      {s.can('approvalsRead') && <Approvals store={store} onDecided={scan.reload} releases={releases} />}
      {s.account && <ValidationSets account={s.account} />}
      <Groups store={store} />
    </>
  );
}

function Rollout({ rollout, store, canChange, onChange }: { rollout: RolloutStatus & { publisher: string }; store: string; canChange: boolean; onChange(): void }) {
  const act = (what: 'pause' | 'resume' | 'rollback' | 'advance') => postJson(`/api/store/snaps/${enc(rollout.snap)}/rollout/${what}?store=${enc(store)}`, { channel: rollout.channel }).then(onChange);
  const paused = rollout.releases.some((r) => r.progressive.paused);
  const label = `${rollout.snap} ${rollout.channel}`;
  return (
    <article className="rollout" aria-label={`Rollout of ${label}`}>
      <h3>
        <Link to={`snaps/${rollout.snap}`}>{rollout.snap}</Link> on {rollout.channel} {paused && <span className="badge">paused</span>}
      </h3>
      <Table
        caption={`Releases of ${label} by architecture`}
        rows={rollout.releases}
        rowKey={(r) => r.releaseId}
        empty="Nothing released."
        columns={[
          { header: 'Architecture', cell: (r) => r.architecture },
          { header: 'Revision', cell: (r) => `${r.revision}${r.previousRevision !== null ? ` (others keep ${r.previousRevision})` : ''}` },
          { header: 'Target', cell: (r) => `${r.progressive.percentage ?? 100}%` },
          { header: 'Progress', cell: (r) => <Progress release={r} /> },
          { header: 'Devices', cell: (r) => `${r.devices.took} updated of ${r.devices.offered} offered${r.devices.downloaded !== undefined ? `, ${r.devices.downloaded} downloaded` : ''} (${r.devices.seen} seen)` },
          { header: 'Failures', cell: (r) => <Failures release={r} /> },
          { header: 'Released', cell: (r) => <Time at={r.releasedAt} /> },
        ]}
      />
      {rollout.releases.map((r) => r.pausedReason && <Notice key={r.releaseId}>{`${r.architecture}: paused by itself: ${r.pausedReason}`}</Notice>)}
      {rollout.releases.map(
        (r) =>
          r.plan && (
            <p key={`plan ${r.releaseId}`} className="plan">
              {r.architecture}: plan step {r.plan.step} of {r.plan.of} ({r.plan.steps.map((x) => (x.percentage === null ? 'groups' : `${x.percentage}%`)).join(' → ')}), since <Time at={r.plan.stepStartedAt} />: {r.plan.state}: {r.plan.explanation}
            </p>
          ),
      )}
      {canChange && (
        <div className="actions">
          {paused ? (
            <ConfirmButton danger={false} label={`Resume ${label}`} title={`Resume the rollout of ${label}?`} confirmLabel="Resume" onConfirm={() => act('resume')}>
              <p>Devices in the rollout's percentage will be offered the new revision again.</p>
            </ConfirmButton>
          ) : (
            <ConfirmButton label={`Pause ${label}`} title={`Pause the rollout of ${label}?`} confirmLabel="Pause rollout" onConfirm={() => act('pause')}>
              <p>Only devices already offered the new revision keep being offered it.</p>
            </ConfirmButton>
          )}
          {rollout.releases.some((r) => r.plan && r.plan.step < r.plan.of) && (
            <ConfirmButton danger={false} label={`Advance ${label}`} title={`Advance the plan of ${label}?`} confirmLabel="Advance to the next step" onConfirm={() => act('advance')}>
              <p>The rollout moves to its plan's next step now, whatever its soak time and conditions.</p>
            </ConfirmButton>
          )}
          <ConfirmButton label={`Roll back ${label}`} title={`Roll back ${label}?`} confirmLabel="Roll back" onConfirm={() => act('rollback')}>
            <p>The channel's previous revision is released again, and devices that took the new one are offered the old one.</p>
          </ConfirmButton>
        </div>
      )}
    </article>
  );
}

function Progress({ release }: { release: RolloutRelease }) {
  const current = release.progressive['current-percentage'];
  return (
    <span className="progress">
      <progress max={100} value={current} aria-label={`${release.architecture}: ${current}% of devices updated`} /> {current}%
    </span>
  );
}

function Failures({ release }: { release: RolloutRelease }) {
  const h = release.health;
  if (!h) return <>{release.devices.failed} (no health rule)</>;
  const share = release.devices.offered > 0 ? Math.round((100 * release.devices.failed) / release.devices.offered) : 0;
  const over = h.errorThreshold !== null && share >= h.errorThreshold;
  return (
    <span className={over ? 'bad' : undefined}>
      {release.devices.failed} failed ({share}%){h.errorThreshold !== null ? ` of threshold ${h.errorThreshold}%` : ''}, after {h.failAfterCheckins} check-ins
    </span>
  );
}

function isJsonObject(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

function StartRollout({ store, snaps, onDone }: { store: string; snaps: string[]; onDone(): void }) {
  const [snap, setSnap] = useState(snaps[0] ?? '');
  const [revision, setRevision] = useState('');
  const [channel, setChannel] = useState('stable');
  const [percentage, setPercentage] = useState('10');
  const [failAfter, setFailAfter] = useState('');
  const [threshold, setThreshold] = useState('');
  const [plan, setPlan] = useState('');
  const [done, setDone] = useState<string>();
  const { busy, error, setError, submit } = useSubmit(
    () =>
      postJson<ReleaseAnswer>(`/api/store/snaps/${enc(snap)}/releases?store=${enc(store)}`, {
        revision: Number(revision),
        channels: [channel.trim()],
        ...(plan.trim() ? { plan: JSON.parse(plan) as object } : { progressivePercentage: Number(percentage) }),
        ...(failAfter ? { health: { failAfterCheckins: Number(failAfter), ...(threshold ? { errorThreshold: Number(threshold) } : {}) } } : {}),
      }),
    (r) => {
      setDone(r.pending ? releaseOutcome(Number(revision), r) : `Started: revision ${revision} of ${snap} to ${percentage}% of ${r.released.join(', ')}.`);
      onDone();
    },
  );
  const whole = (v: string, max: number) => Number.isInteger(Number(v)) && Number(v) >= 1 && Number(v) <= max;
  return (
    <section aria-labelledby="start-rollout">
      <h2 id="start-rollout">Start a progressive rollout</h2>
      <form
        noValidate
        onSubmit={(e) => {
          const problem = !snap
            ? 'Choose a snap.'
            : !whole(revision, Number.MAX_SAFE_INTEGER)
              ? 'The revision is a whole number.'
              : !channel.trim()
                ? 'Name the channel.'
                : !whole(percentage, 100)
                  ? 'The percentage is a whole number from 1 to 100.'
                  : (failAfter && !whole(failAfter, 1000)) || (threshold && !whole(threshold, 100))
                    ? 'Health rules are whole numbers (check-ins 1–1000, threshold 1–100).'
                    : threshold && !failAfter
                      ? 'An error threshold needs "failed after check-ins".'
                      : plan.trim() && !isJsonObject(plan)
                        ? 'The plan is a JSON object (see docs/update-control.md).'
                        : undefined;
          if (problem) {
            e.preventDefault();
            setError(problem);
            return;
          }
          void submit(e);
        }}
      >
        <div className="field">
          <label htmlFor="rollout-snap">Snap</label>
          <select id="rollout-snap" value={snap} onChange={(e) => setSnap(e.target.value)}>
            {snaps.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </div>
        <Field label="Revision" inputMode="numeric" required value={revision} onChange={(e) => setRevision(e.target.value)} />
        <Field label="Channel" required value={channel} onChange={(e) => setChannel(e.target.value)} />
        <Field label="Percentage of devices" inputMode="numeric" required value={percentage} onChange={(e) => setPercentage(e.target.value)} />
        <Field label="Failed after check-ins (optional)" inputMode="numeric" value={failAfter} onChange={(e) => setFailAfter(e.target.value)} />
        <Field label="Error threshold % (optional)" inputMode="numeric" value={threshold} onChange={(e) => setThreshold(e.target.value)} />
        <TextArea label="Rollout plan, JSON (optional)" rows={4} value={plan} onChange={(e) => setPlan(e.target.value)} spellCheck={false} hint='steps with percentages, soak times and thresholds, e.g. {"steps": [{"percentage": 10, "soak": "1h"}, {"percentage": 100}]}; the server checks it and names what is wrong; a plan replaces the percentage' />
        <ErrorMessage error={error} />
        {done && <Notice>{done}</Notice>}
        <button type="submit" className="primary" disabled={busy}>
          Start rollout
        </button>
      </form>
    </section>
  );
}

function Groups({ store }: { store: string }) {
  const s = useSession();
  const groups = useLoad(() => getJson<{ groups: DeviceGroup[] }>(`/api/store/stores/${enc(store)}/groups`), [store]);
  const [name, setName] = useState('');
  const [models, setModels] = useState('');
  const [serials, setSerials] = useState('');
  const [pattern, setPattern] = useState('');
  const list = (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean);
  const { busy, error, setError, submit } = useSubmit(
    () =>
      postJson(`/api/store/stores/${enc(store)}/groups`, {
        name,
        ...(models.trim() ? { models: list(models) } : {}),
        ...(serials.trim() ? { serials: list(serials) } : {}),
        ...(pattern.trim() ? { serialPattern: pattern.trim() } : {}),
      }),
    () => {
      setName('');
      setModels('');
      setSerials('');
      setPattern('');
      groups.reload();
    },
  );
  const hold = (g: string, held: boolean) => postJson(`/api/store/stores/${enc(store)}/groups/${enc(g)}/hold`, { held }).then(groups.reload);
  return (
    <section aria-labelledby="groups">
      <h2 id="groups">Device groups</h2>
      <ErrorMessage error={groups.error} />
      {groups.data ? (
        <Table
          caption="Device groups of the store; a held group is offered nothing new"
          rows={groups.data.groups}
          rowKey={(g) => g.name}
          empty="No device group."
          columns={[
            { header: 'Name', cell: (g) => g.name },
            { header: 'Models', cell: (g) => (g.models ?? []).join(', ') || '—' },
            { header: 'Serials', cell: (g) => `${(g.serials ?? []).length}${g.serialPattern ? ` + pattern ${g.serialPattern}` : ''}` },
            { header: 'Held', cell: (g) => (g.held ? 'held' : 'no') },
            ...(s.can('publish')
              ? [
                  {
                    header: 'Actions',
                    cell: (g: DeviceGroup) =>
                      g.held ? (
                        <ConfirmButton danger={false} label={`End hold of ${g.name}`} title={`End the hold of ${g.name}?`} confirmLabel="End hold" onConfirm={() => hold(g.name, false)}>
                          <p>Its devices will be offered updates again.</p>
                        </ConfirmButton>
                      ) : (
                        <ConfirmButton label={`Hold ${g.name}`} title={`Hold ${g.name}?`} confirmLabel="Hold group" onConfirm={() => hold(g.name, true)}>
                          <p>Its devices will be offered nothing new until the hold ends.</p>
                        </ConfirmButton>
                      ),
                  },
                ]
              : []),
          ]}
        />
      ) : (
        <Loading what="device groups" />
      )}
      {s.can('publish') && (
        <form
          noValidate
          onSubmit={(e) => {
            if (!/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/.test(name)) {
              e.preventDefault();
              setError('A group name is lower-case letters, digits and hyphens, not starting or ending with a hyphen.');
              return;
            }
            void submit(e);
          }}
        >
          <h3>Create a device group</h3>
          <Field label="Group name" required value={name} onChange={(e) => setName(e.target.value)} />
          <Field label="Models" value={models} onChange={(e) => setModels(e.target.value)} hint="comma-separated" />
          <Field label="Serials" value={serials} onChange={(e) => setSerials(e.target.value)} hint="comma-separated" />
          <Field label="Serial pattern" value={pattern} onChange={(e) => setPattern(e.target.value)} hint="glob with * and ?, e.g. box-1*" />
          <ErrorMessage error={error} />
          <button type="submit" className="primary" disabled={busy}>
            Create group
          </button>
        </form>
      )}
    </section>
  );
}

/** Release requests to the store's controlled channels: approved or denied by an approver who did not ask; the channels, set by the brand's admins. */
function Approvals({ store, onDecided, releases = 0 }: { store: string; onDecided(): void; releases?: number }) {
  const s = useSession();
  const [all, setAll] = useState(false);
  const requests = useLoad(() => getJson<{ requests: ReleaseRequest[] }>(`/api/store/stores/${enc(store)}/approvals`, { all: all || undefined }), [store, all, releases]);
  const controlled = useLoad(() => getJson<{ channels: string[] }>(`/api/store/stores/${enc(store)}/controlled-channels`), [store]);
  const decide = async (id: number, approve: boolean, reason: string) => {
    await postJson(`/api/store/approvals/${id}/${approve ? 'approve' : 'deny'}`, reason.trim() ? { reason: reason.trim() } : {});
    requests.reload();
    onDecided();
  };
  return (
    <section aria-labelledby="approvals">
      <h2 id="approvals">Approvals</h2>
      <ErrorMessage error={controlled.error ?? requests.error} />
      <p>
        Controlled channels: {controlled.data ? (controlled.data.channels.length ? controlled.data.channels.join(', ') : 'none (releases need no approval)') : '…'}
      </p>
      {s.can('admin') && controlled.data && <ControlledChannels store={store} current={controlled.data.channels} onDone={controlled.reload} />}
      <div className="check">
        <input id="approvals-all" type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} />
        <label htmlFor="approvals-all">Show decided requests too</label>
      </div>
      {requests.data ? (
        <Table
          caption={all ? 'Release requests, pending and decided' : 'Pending release requests'}
          rows={requests.data.requests}
          rowKey={(r) => String(r.id)}
          empty="No release request waits for an approver."
          columns={[
            { header: 'Request', cell: (r) => `#${r.id}` },
            { header: 'Snap', cell: (r) => r.snap ?? r.snapId },
            { header: 'Revision', cell: (r) => r.revision },
            { header: 'Channels', cell: (r) => r.channels.join(', ') },
            { header: 'Asked by', cell: (r) => r.requestedBy },
            { header: 'Asked', cell: (r) => <Time at={r.requestedAt} /> },
            { header: 'State', cell: (r) => (r.state === 'pending' ? 'pending' : `${r.state} by ${r.decidedBy ?? '?'}${r.reason ? `: ${r.reason}` : ''}`) },
            ...(s.can('approve')
              ? [
                  {
                    header: 'Decide',
                    cell: (r: ReleaseRequest) =>
                      r.state === 'pending' && r.requestedBy !== s.me.username ? <Decide request={r} onDecide={decide} /> : r.state === 'pending' ? 'another approver decides' : '',
                  },
                ]
              : []),
          ]}
        />
      ) : (
        <Loading what="release requests" />
      )}
    </section>
  );
}

function Decide({ request, onDecide }: { request: ReleaseRequest; onDecide(id: number, approve: boolean, reason: string): Promise<void> }) {
  const [reason, setReason] = useState('');
  const what = `revision ${request.revision} of ${request.snap ?? request.snapId} to ${request.channels.join(', ')}`;
  return (
    <div className="actions">
      <ConfirmButton danger={false} label={`Approve #${request.id}`} title={`Approve request #${request.id}?`} confirmLabel="Approve and release" onConfirm={() => onDecide(request.id, true, reason)}>
        <p>This releases {what} now, as {request.requestedBy} asked.</p>
        <Field label="Reason (optional)" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
      </ConfirmButton>
      <ConfirmButton label={`Deny #${request.id}`} title={`Deny request #${request.id}?`} confirmLabel="Deny" onConfirm={() => onDecide(request.id, false, reason)}>
        <p>Nothing is released: {what} stays where it is.</p>
        <Field label="Reason (optional)" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
      </ConfirmButton>
    </div>
  );
}

function ControlledChannels({ store, current, onDone }: { store: string; current: string[]; onDone(): void }) {
  const [channels, setChannels] = useState(current.join(', '));
  const list = channels.split(',').map((c) => c.trim()).filter(Boolean);
  const { busy, error, setError, submit } = useSubmit(() => postJson(`/api/store/stores/${enc(store)}/controlled-channels`, { channels: list }, 'PUT'), onDone);
  return (
    <form
      className="inline"
      noValidate
      onSubmit={(e) => {
        const bad = list.find((c) => !/^(?:[a-zA-Z0-9][a-zA-Z0-9._-]*\/)?(?:stable|candidate|beta|edge)$/.test(c));
        if (bad) {
          e.preventDefault();
          setError(`"${bad}" is not a risk or track/risk (e.g. stable, 2.0/candidate).`);
          return;
        }
        void submit(e);
      }}
    >
      <Field label="Controlled channels" value={channels} onChange={(e) => setChannels(e.target.value)} hint="comma-separated risks or track/risk; empty: none" />
      <button type="submit" disabled={busy}>
        Set controlled channels
      </button>
      <ErrorMessage error={error} />
    </form>
  );
}

/** The account's validation sets (the latest revision of each), and pushing a signed one. */
function ValidationSets({ account }: { account: string }) {
  const s = useSession();
  const sets = useLoad(() => getJson<{ validationSets: ValidationSet[] }>(`/api/store/accounts/${enc(account)}/validation-sets`), [account]);
  const [assertion, setAssertion] = useState('');
  const [done, setDone] = useState<string>();
  const { busy, error, setError, submit } = useSubmit(
    () => postJson<{ validationSet?: ValidationSet; unchanged?: boolean }>(`/api/store/accounts/${enc(account)}/validation-sets`, { assertion }),
    (r) => {
      setDone(r.unchanged ? 'The store already had this validation set.' : `Pushed ${r.validationSet ? `${r.validationSet.name} sequence ${r.validationSet.sequence}` : 'the validation set'}.`);
      setAssertion('');
      sets.reload();
    },
  );
  return (
    <section aria-labelledby="validation-sets">
      <h2 id="validation-sets">Validation sets</h2>
      <ErrorMessage error={sets.error} />
      {sets.data ? (
        <Table
          caption={`Validation sets of ${account}, the latest revision of each sequence point`}
          rows={sets.data.validationSets}
          rowKey={(v) => `${v.name} ${v.sequence}`}
          empty="No validation set (snapline validation-set create)."
          columns={[
            { header: 'Name', cell: (v) => v.name },
            { header: 'Sequence', cell: (v) => v.sequence },
            { header: 'Revision', cell: (v) => v.revision },
            { header: 'Snaps', cell: (v) => v.snaps.map((x) => `${x.name} ${x.presence}${x.revision !== null ? ` r${x.revision}` : ''}`).join(', ') },
          ]}
        />
      ) : (
        <Loading what="validation sets" />
      )}
      {s.can('publish') && <NewValidationSet account={account} sets={sets.data?.validationSets ?? []} onDone={sets.reload} />}
      {s.can('publish') && (
        <form
          noValidate
          onSubmit={(e) => {
            if (!assertion.includes('type: validation-set')) {
              e.preventDefault();
              setError('Paste a signed validation-set assertion (snapline validation-set create -k KEY).');
              return;
            }
            void submit(e);
          }}
        >
          <h3>Push a signed validation set</h3>
          <TextArea label="Signed validation-set assertion" rows={5} value={assertion} onChange={(e) => setAssertion(e.target.value)} spellCheck={false} />
          <ErrorMessage error={error} />
          {done && <Notice>{done}</Notice>}
          <button type="submit" className="primary" disabled={busy}>
            Push validation set
          </button>
        </form>
      )}
    </section>
  );
}

const PRESENCES = ['required', 'optional', 'invalid'];

/** A validation set written in a form, signed by the server with one of the account's vault keys (the store's `--server-key`). */
function NewValidationSet({ account, sets, onDone }: { account: string; sets: ValidationSet[]; onDone(): void }) {
  const s = useSession();
  const keys = useLoad(() => getJson<{ keys: { name: string; disabledAt: string | null }[] }>(`/api/vault/brands/${enc(account)}/keys`).catch(() => ({ keys: [] })), [account]);
  const usable = (keys.data?.keys ?? []).filter((k) => !k.disabledAt);
  const [name, setName] = useState('');
  const [snaps, setSnaps] = useState('');
  const [key, setKey] = useState('');
  const [done, setDone] = useState<string>();
  const nextSequence = (n: string) => Math.max(0, ...sets.filter((v) => v.name === n).map((v) => v.sequence)) + 1;
  const lines = snaps.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => l.split(/\s+/));
  const { busy, error, setError, submit } = useSubmit(
    async () => {
      const entries = [];
      for (const [snap = '', presence = 'required', revision] of lines) {
        const st = await getJson<{ snap: { snapId: string } }>(`/api/store/snaps/${enc(snap)}`, { store: s.store });
        entries.push({ name: snap, id: st.snap.snapId, presence, ...(revision ? { revision } : {}) });
      }
      return postJson<{ validationSet: ValidationSet; unchanged: boolean }>(`/api/store/accounts/${enc(account)}/validation-sets`, {
        headers: { name, sequence: String(nextSequence(name)), snaps: entries },
        key: key || usable[0]?.name,
      });
    },
    (r) => {
      setDone(`Signed and pushed ${r.validationSet.name} sequence ${r.validationSet.sequence}.`);
      onDone();
    },
  );
  if (usable.length === 0) return null;
  return (
    <form
      noValidate
      onSubmit={(e) => {
        const problem = !/^[a-z0-9](?:-?[a-z0-9])*$/.test(name)
          ? 'A validation set name is lower-case letters, digits and single hyphens.'
          : lines.length === 0
            ? 'List at least one snap.'
            : lines.find((l) => l.length > 3 || !PRESENCES.includes(l[1] ?? 'required') || (l[2] !== undefined && !/^[1-9][0-9]*$/.test(l[2])))
              ? 'Each line is: snap [required|optional|invalid] [revision].'
              : undefined;
        if (problem) {
          e.preventDefault();
          setError(problem);
          return;
        }
        void submit(e);
      }}
    >
      <h3>Create a validation set</h3>
      <Field label="Set name" value={name} onChange={(e) => setName(e.target.value)} hint={name ? `sequence ${nextSequence(name)}` : 'its next sequence point is chosen for you'} />
      <TextArea label="Snaps" rows={3} value={snaps} onChange={(e) => setSnaps(e.target.value)} spellCheck={false} hint="one a line: snap [required|optional|invalid] [revision]; ids come from the store" />
      <div className="field">
        <label htmlFor="vs-key">Server key to sign with</label>
        <select id="vs-key" value={key || usable[0]!.name} onChange={(e) => setKey(e.target.value)}>
          {usable.map((k) => (
            <option key={k.name}>{k.name}</option>
          ))}
        </select>
      </div>
      <ErrorMessage error={error} />
      {done && <Notice>{done}</Notice>}
      <button type="submit" className="primary" disabled={busy}>
        Sign and push
      </button>
    </form>
  );
}
