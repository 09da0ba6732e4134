// `snapline rollout status|pause|resume|advance|rollback SNAP CHANNEL`,
// `snapline rollout why SNAP --serial S` and `snapline group
// create|add|list|hold|unhold`: update control's client commands
// (docs/update-control.md), and `snapline approvals channels|list`,
// `snapline approve|deny ID`. Thin: one API call each, a table or lines out.
import type { Command } from 'commander';
import { apiClient } from '../client.ts';
import { CliError, io } from '../io.ts';
import { registerValidationSet } from './validation-set.ts';

const urlOption = ['--url <url>', 'server URL (default $SNAPLINE_URL)'] as const;
const storeOption = ['--store <store-id>', 'the store, when the snap name is registered in several'] as const;

interface RolloutRelease {
  architecture: string;
  releaseId: string;
  revision: number;
  previousRevision: number | null;
  progressive: { percentage: number | null; paused: boolean; 'current-percentage': number };
  pausedReason: string | null;
  plan?: { step: number; of: number; state: string; explanation: string } | null;
  groups?: string[];
  channelWindows?: string | null;
  releasedAt: string;
  devices: { seen: number; offered: number; took: number; failed: number };
  rollback: { of: string; tookRolledBack: number; back: number } | null;
}
interface RolloutStatus {
  snap: string;
  channel: string;
  releases: RolloutRelease[];
}
interface WhyAnswer {
  architecture: string;
  effectiveChannel: string | null;
  releaseId: string | null;
  revision: number | null;
  reason: { rule: string };
  explanation: string;
}
interface WhyResult {
  snap: string;
  channel: string;
  device: { brand: string; model: string; serial: string } | null;
  heldBy: string | null;
  answers: WhyAnswer[];
}

const query = (params: Record<string, string | undefined>) => {
  const q = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  return q ? `?${q}` : '';
};
const rolloutPath = (name: string, suffix = '') => `/api/store/snaps/${encodeURIComponent(name)}/rollout${suffix}`;

/** Columns padded to their widest cell. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n') + '\n';
}

/** A channel's rollout: one row per architecture. */
export function formatRollout(s: RolloutStatus): string {
  const rows = [['Arch', 'Revision', 'Previous', 'Progress', 'State', 'Devices seen', 'Offered', 'Took', 'Failed', 'Release']];
  const reasons: string[] = [];
  for (const r of s.releases) {
    const p = r.progressive;
    const state = r.rollback ? `rollback (${r.rollback.back} of ${r.rollback.tookRolledBack} back)` : p.paused ? (r.pausedReason ? 'paused by itself' : 'paused') : p.percentage === null || p.percentage >= 100 ? 'released' : 'rolling out';
    if (r.pausedReason) reasons.push(`${r.architecture}: paused by itself: ${r.pausedReason}\n`);
    if (r.plan) reasons.push(`${r.architecture}: plan ${r.plan.explanation}\n`);
    if (r.channelWindows) reasons.push(`${r.architecture}: maintenance windows ${r.channelWindows}\n`);
    if (r.groups?.length) reasons.push(`${r.architecture}: offered to device groups ${r.groups.join(', ')} whatever their bucket\n`);
    rows.push([
      r.architecture,
      String(r.revision),
      r.previousRevision === null ? '-' : String(r.previousRevision),
      p.percentage === null ? '-' : `${p['current-percentage']}→${p.percentage}%`,
      state,
      String(r.devices.seen),
      String(r.devices.offered),
      String(r.devices.took),
      String(r.devices.failed),
      r.releaseId,
    ]);
  }
  return `${s.snap} ${s.channel}\n${table(rows)}${reasons.join('')}`;
}

interface Group {
  name: string;
  models: string[];
  serials: string[];
  serialPattern: string | null;
  labels?: string[];
  held: boolean;
}

const groupLine = (g: Group) =>
  `${g.name}${g.held ? ' (held)' : ''}: models ${g.models.join(', ') || '-'}; serials ${g.serials.length ? g.serials.join(', ') : '-'}; serial pattern ${g.serialPattern ?? '-'}${g.labels?.length ? `; labels ${g.labels.join(', ')}` : ''}\n`;

interface LabelledDevice {
  brand: string;
  model: string;
  serial: string;
  labels: string[];
}
const labelledLine = (d: LabelledDevice) => `${d.brand}/${d.model}/${d.serial}: ${d.labels.join(', ') || '-'}\n`;

function registerGroup(program: Command): void {
  const group = program.command('group').description("a store's device groups (update control): by models, serials, a serial pattern or device labels; a held group is offered nothing new");
  const groupsPath = (store: string, suffix = '') => `/api/store/stores/${encodeURIComponent(store)}/groups${suffix}`;
  const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((x) => x.trim()).filter(Boolean)];
  group
    .command('create')
    .argument('<store-id>', 'the store')
    .argument('<name>', 'the group name (lowercase letters, digits, -)')
    .option('--model <models>', 'models whose devices are in the group (comma-separated, repeatable)', collect)
    .option('--serial <serials>', 'serials in the group (comma-separated, repeatable)', collect)
    .option('--serial-pattern <glob>', 'serials matching this glob (* and ?) are in the group')
    .option('--label <labels>', 'devices carrying any of these labels (snapline group label) are in the group (comma-separated, repeatable)', collect)
    .option(...urlOption)
    .description('create a device group')
    .action(async (store: string, name: string, opts: { model?: string[]; serial?: string[]; serialPattern?: string; label?: string[]; url?: string }) => {
      const c = await apiClient(opts.url ? { url: opts.url } : {});
      const res = await c.json<{ group: Group }>('POST', groupsPath(store), {
        name,
        ...(opts.model ? { models: opts.model } : {}),
        ...(opts.serial ? { serials: opts.serial } : {}),
        ...(opts.serialPattern ? { serialPattern: opts.serialPattern } : {}),
        ...(opts.label ? { labels: opts.label } : {}),
      });
      io.out(groupLine(res.group));
    });
  group
    .command('add')
    .argument('<store-id>', 'the store')
    .argument('<name>', 'the group')
    .option('--model <models>', 'models to add (comma-separated, repeatable)', collect)
    .option('--serial <serials>', 'serials to add (comma-separated, repeatable)', collect)
    .option('--label <labels>', 'labels to add (comma-separated, repeatable)', collect)
    .option(...urlOption)
    .description('add models, serials and labels to a device group')
    .action(async (store: string, name: string, opts: { model?: string[]; serial?: string[]; label?: string[]; url?: string }) => {
      const c = await apiClient(opts.url ? { url: opts.url } : {});
      const res = await c.json<{ group: Group }>('POST', groupsPath(store, `/${encodeURIComponent(name)}/members`), {
        ...(opts.model ? { models: opts.model } : {}),
        ...(opts.serial ? { serials: opts.serial } : {}),
        ...(opts.label ? { labels: opts.label } : {}),
      });
      io.out(groupLine(res.group));
    });
  group
    .command('list')
    .argument('<store-id>', 'the store')
    .option(...urlOption)
    .description("a store's device groups")
    .action(async (store: string, opts: { url?: string }) => {
      const c = await apiClient(opts.url ? { url: opts.url } : {});
      const res = await c.json<{ groups: Group[] }>('GET', groupsPath(store));
      io.out(res.groups.length ? res.groups.map(groupLine).join('') : 'No device groups.\n');
    });
  const labelsPath = (store: string) => `/api/store/stores/${encodeURIComponent(store)}/device-labels`;
  group
    .command('label')
    .argument('<store-id>', 'the store')
    .argument('<serial>', "the device's serial")
    .argument('[labels...]', 'its labels (none: remove them); they replace the ones it had')
    .requiredOption('--model <model>', "the device's model")
    .option('--brand <brand>', "the device's brand (default: the store's)")
    .option(...urlOption)
    .description("set a device's labels (groups created with --label take the devices carrying theirs)")
    .action(async (store: string, serial: string, labels: string[], opts: { model: string; brand?: string; url?: string }) => {
      const c = await apiClient(opts.url ? { url: opts.url } : {});
      const res = await c.json<{ device: LabelledDevice }>('PUT', labelsPath(store), { ...(opts.brand ? { brand: opts.brand } : {}), model: opts.model, serial, labels: labels.flatMap((l) => l.split(',')).filter(Boolean) });
      io.out(labelledLine(res.device));
    });
  group
    .command('labels')
    .argument('<store-id>', 'the store')
    .option('--serial <serial>', 'only this serial')
    .option('--label <label>', 'only devices carrying this label')
    .option(...urlOption)
    .description("a store's labelled devices")
    .action(async (store: string, opts: { serial?: string; label?: string; url?: string }) => {
      const c = await apiClient(opts.url ? { url: opts.url } : {});
      const lines: string[] = [];
      for (let after: string | null | undefined; ; ) {
        const q = new URLSearchParams({ limit: '1000', ...(opts.serial ? { serial: opts.serial } : {}), ...(opts.label ? { label: opts.label } : {}), ...(after ? { after } : {}) });
        const res = await c.json<{ devices: LabelledDevice[]; next: string | null }>('GET', `${labelsPath(store)}?${q}`);
        lines.push(...res.devices.map(labelledLine));
        if (!(after = res.next)) break;
      }
      io.out(lines.length ? lines.join('') : 'No labelled devices.\n');
    });
  for (const [name, held, description] of [
    ['hold', true, 'hold a device group: its devices are offered nothing new, from any snap of the store'],
    ['unhold', false, 'end the hold of a device group'],
  ] as const) {
    group
      .command(name)
      .argument('<store-id>', 'the store')
      .argument('<name>', 'the group')
      .option(...urlOption)
      .description(description)
      .action(async (store: string, groupName: string, opts: { url?: string }) => {
        const c = await apiClient(opts.url ? { url: opts.url } : {});
        const res = await c.json<{ group: Group }>('POST', groupsPath(store, `/${encodeURIComponent(groupName)}/hold`), { held });
        io.out(groupLine(res.group));
      });
  }
}

interface ReleaseRequest {
  id: number;
  snap: string | null;
  revision: number;
  channels: string[];
  state: string;
  requestedBy: string;
  requestedAt: string;
  decidedBy: string | null;
  reason: string | null;
}

const requestLine = (r: ReleaseRequest) =>
  `${r.id}: ${r.snap ?? '?'} revision ${r.revision} to ${r.channels.join(', ')}, asked by ${r.requestedBy} at ${r.requestedAt}: ${r.state}${r.decidedBy ? ` by ${r.decidedBy}` : ''}${r.reason ? ` (${r.reason})` : ''}\n`;

function registerApprovals(program: Command): void {
  const approvals = program.command('approvals').description("update control's approvals: a store's controlled channels and its release requests");
  const storePath = (store: string, suffix: string) => `/api/store/stores/${encodeURIComponent(store)}${suffix}`;
  approvals
    .command('channels')
    .argument('<store-id>', 'the store')
    .option('--set <channels>', 'replace the controlled channels: comma-separated risks (every track) or track/risk; "" for none')
    .option(...urlOption)
    .description('the channels a store controls: releases to them wait for an approver')
    .action(async (store: string, opts: { set?: string; url?: string }) => {
      const c = await apiClient(opts.url ? { url: opts.url } : {});
      const res =
        opts.set === undefined
          ? await c.json<{ channels: string[] }>('GET', storePath(store, '/controlled-channels'))
          : await c.json<{ channels: string[] }>('PUT', storePath(store, '/controlled-channels'), { channels: opts.set.split(',').map((x) => x.trim()).filter(Boolean) });
      io.out(res.channels.length ? `${res.channels.join('\n')}\n` : 'No controlled channels.\n');
    });
  approvals
    .command('list')
    .argument('<store-id>', 'the store')
    .option('--all', 'approved and denied requests too')
    .option(...urlOption)
    .description("a store's pending release requests, newest first")
    .action(async (store: string, opts: { all?: boolean; url?: string }) => {
      const c = await apiClient(opts.url ? { url: opts.url } : {});
      const res = await c.json<{ requests: ReleaseRequest[] }>('GET', storePath(store, `/approvals${opts.all ? '?all=true' : ''}`));
      io.out(res.requests.length ? res.requests.map(requestLine).join('') : 'No release requests.\n');
    });
  for (const decision of ['approve', 'deny'] as const) {
    program
      .command(decision)
      .argument('<id>', 'the release request')
      .option('--reason <text>', 'why (kept with the request and in the audit log)')
      .option(...urlOption)
      .description(`${decision} a pending release request (the approver role; not your own)`)
      .action(async (id: string, opts: { reason?: string; url?: string }) => {
        if (!/^[1-9]\d*$/.test(id)) throw new CliError(`invalid request id ${JSON.stringify(id)}: expected a positive integer`);
        const c = await apiClient(opts.url ? { url: opts.url } : {});
        const res = await c.json<{ request: ReleaseRequest; released?: string[] }>('POST', `/api/store/approvals/${id}/${decision}`, opts.reason ? { reason: opts.reason } : {});
        io.out(requestLine(res.request) + (res.released ? `Released ${res.request.snap ?? '?'} revision ${res.request.revision} to ${res.released.join(', ')}\n` : ''));
      });
  }
}

export function registerRollout(program: Command): void {
  const rollout = program.command('rollout').description('update control: progressive releases per device, plans, pause, resume, advance, roll back, and why a device gets a revision');
  const act = (name: string, description: string, method: 'GET' | 'POST', suffix: string) =>
    rollout
      .command(name)
      .argument('<snap>', 'the snap name')
      .argument('<channel>', 'the channel ([track/]risk[/branch])')
      .option(...storeOption)
      .option(...urlOption)
      .description(description)
      .action(async (snap: string, channel: string, opts: { store?: string; url?: string }) => {
        const c = await apiClient(opts.url ? { url: opts.url } : {});
        const res =
          method === 'GET'
            ? await c.json<RolloutStatus>('GET', rolloutPath(snap, query({ channel, store: opts.store })))
            : await c.json<RolloutStatus>('POST', rolloutPath(snap, `/${suffix}${query({ store: opts.store })}`), { channel });
        io.out(formatRollout(res));
      });
  act('status', "a channel's rollout: each architecture's release, progress (current→target), state and devices", 'GET', '');
  act('pause', 'pause: only devices already offered the revision keep being offered it', 'POST', 'pause');
  act('resume', 'resume a paused rollout: its percentage decides again', 'POST', 'resume');
  act('advance', "advance the channel's rollout plan to its next step (an approval step, or before its soak time or success threshold)", 'POST', 'advance');
  rollout
    .command('windows')
    .argument('<snap>', 'the snap name')
    .argument('<channel>', 'the channel ([track/]risk[/branch])')
    .option('--set <windows>', 'maintenance windows, UTC, ";"-separated: [DAYS ]HH:MM-HH:MM, e.g. "mon,tue,wed 22:00-04:00; sat 10:00-12:00"')
    .option('--clear', 'remove the channel\'s windows')
    .option(...storeOption)
    .option(...urlOption)
    .description("a channel's maintenance windows: outside them devices are offered nothing new (a plan's own windows win)")
    .action(async (snap: string, channel: string, opts: { set?: string; clear?: boolean; store?: string; url?: string }) => {
      if ((opts.set === undefined) === !opts.clear) throw new CliError('give --set WINDOWS or --clear');
      const windows = (opts.set ?? '')
        .split(';')
        .map((w) => w.trim())
        .filter(Boolean)
        .map((w) => {
          const m = /^(?:([a-z,]+)\s+)?(\S+)-(\S+)$/i.exec(w);
          if (!m) throw new CliError(`a window is [DAYS ]HH:MM-HH:MM, not ${JSON.stringify(w)}`);
          return { ...(m[1] ? { days: m[1].split(',') } : {}), start: m[2], end: m[3] };
        });
      const c = await apiClient(opts.url ? { url: opts.url } : {});
      io.out(formatRollout(await c.json<RolloutStatus>('PUT', rolloutPath(snap, `/windows${query({ store: opts.store })}`), { channel, windows })));
    });
  act('rollback', 'release the previous revision again: devices that took the new one are offered the old', 'POST', 'rollback');

  rollout
    .command('why')
    .argument('<snap>', 'the snap name')
    .requiredOption('--serial <serial>', "the device's serial")
    .option('--model <model>', 'the model, when several models share the serial')
    .option('--channel <channel>', 'the channel the device tracks (default: stable of the default track)')
    .option('--arch <architecture>', 'one architecture (default: every architecture released)')
    .option(...storeOption)
    .option(...urlOption)
    .description('which rule offers or withholds which revision to that device (the refresh path’s own decision)')
    .action(async (snap: string, opts: { serial: string; model?: string; channel?: string; arch?: string; store?: string; url?: string }) => {
      const c = await apiClient(opts.url ? { url: opts.url } : {});
      const res = await c.json<WhyResult>('GET', rolloutPath(snap, `/why${query({ serial: opts.serial, model: opts.model, channel: opts.channel, architecture: opts.arch, store: opts.store })}`));
      const who = res.device ? `${res.device.brand}/${res.device.model}/${res.device.serial}` : `${opts.serial} (no device session known: answered as a device without one)`;
      let out = `${res.snap} ${res.channel} for ${who}\n`;
      if (res.heldBy) out += `held by device group ${res.heldBy}: its refreshes keep the installed revision (nothing new)\n`;
      for (const a of res.answers) out += `${a.architecture}: ${a.explanation} [${a.reason.rule}${a.releaseId ? `, release ${a.releaseId}` : ''}]\n`;
      if (res.answers.length === 0) out += 'nothing is released for this snap\n';
      io.out(out);
    });
  registerGroup(program);
  registerApprovals(program);
  registerValidationSet(program);
}
