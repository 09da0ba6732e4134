// Brand store client commands: store create, register, push, release,
// close, status, revisions. Thin: each is one or two API calls.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import type { Command } from 'commander';
import { apiClient, readCredentials } from '../client.ts';
import { CliError, io, processIO } from '../io.ts';
import type { ChannelMapRow } from '../../store/channels.ts';
import { readPlanFile } from './rollout-plan-file.ts';
import { parseDuration, PlanError } from '../../rollout/index.ts';

const urlOption = ['--url <url>', 'server URL (default $SNAPLINE_URL)'] as const;
const storeOption = ['--store <store-id>', 'the store, when the snap name is registered in several'] as const;

const client = (opts: { url?: string }) => apiClient(opts.url ? { url: opts.url } : {});
const snapPath = (name: string, store: string | undefined, suffix = '') => `/api/store/snaps/${encodeURIComponent(name)}${suffix}${store ? `?store=${encodeURIComponent(store)}` : ''}`;
const splitChannels = (s: string) => s.split(',').map((c) => c.trim()).filter(Boolean);

interface RevisionRow {
  revision: number;
  version: string;
  architectures: string[];
  createdAt: string;
  sha3_384: string;
  size: number;
  channels: string[];
}

/** Columns padded to their widest cell. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n') + '\n';
}

/** Like snapcraft: current→target percentage of a progressive release (current: devices that took it), "paused" when paused. */
function progressColumn(r: ChannelMapRow): string {
  const p = r.progressive;
  if (!p) return r.progressivePercentage !== null ? `${r.progressivePercentage}%` : '-';
  const pct = p.percentage === null ? '' : `${p['current-percentage'] ?? 0}→${p.percentage}%`;
  return [pct, p.paused ? 'paused' : ''].filter(Boolean).join(' ') || '-';
}

/** The channel map like `snapcraft status`: ↑ where a channel follows a more stable one. */
export function formatStatus(map: ChannelMapRow[], versions: Map<number, string>): string {
  if (map.length === 0) return 'No revisions released.\n';
  const rows = [['Track', 'Arch', 'Channel', 'Version', 'Revision', 'Progress', 'Expires at']];
  let lastTrack = '';
  let lastArch = '';
  for (const r of map) {
    const track = r.track === lastTrack && r.architecture === lastArch ? '' : r.track;
    const arch = r.architecture === lastArch && r.track === lastTrack ? '' : r.architecture;
    lastTrack = r.track;
    lastArch = r.architecture;
    const channel = r.branch ? `${r.risk}/${r.branch}` : r.risk;
    const follows = r.following !== null || r.revision === null;
    const version = r.revision === null ? '-' : follows ? '↑' : (versions.get(r.revision) ?? '');
    const revision = r.revision === null ? '-' : follows ? '↑' : String(r.revision);
    rows.push([track, arch, channel, version, revision, progressColumn(r), r.expiresAt ?? '']);
  }
  return table(rows);
}

/** A progress bar on a terminal; a single summary line otherwise. */
function progress(total: number, label: string): Transform {
  let sent = 0;
  let lastDraw = 0;
  const tty = io === processIO && process.stderr.isTTY;
  const draw = (final: boolean) => {
    const pct = total ? Math.floor((sent / total) * 100) : 100;
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    io.err(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${(sent / 1048576).toFixed(1)}/${(total / 1048576).toFixed(1)} MiB${final ? '\n' : ''}`);
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      const now = Date.now();
      if (tty && now - lastDraw > 100) {
        lastDraw = now;
        draw(false);
      }
      done(null, chunk);
    },
    flush(done) {
      if (tty) draw(true);
      else io.err(`${label}: sent ${sent} bytes\n`);
      done();
    },
  });
}

const PRIVATE_ACCESS_HELP =
  "who sees the store's private snaps: 'verified' (device sessions of its models, tokens with the store-download role) or 'store-id' (any request naming the store)";

function privateAccessOption(value: string): 'verified' | 'store-id' {
  if (value !== 'verified' && value !== 'store-id') throw new CliError(`--private-access: expected verified or store-id, not ${JSON.stringify(value)}`);
  return value;
}

export function registerStore(program: Command): void {
  const store = program.commands.find((c) => c.name() === 'store') ?? program.command('store').description('brand stores');
  store
    .command('create')
    .argument('<store-id>', 'the store id (what a model names in its "store" header)')
    .requiredOption('--brand <account-id>', 'the brand account owning the store')
    .option('--include <store-id...>', "also serve these stores' snaps to this store's devices (e.g. the operator's base snaps)")
    .option('--private-access <who>', PRIVATE_ACCESS_HELP, 'verified')
    .option(...urlOption)
    .description("create a brand store; prints its store assertion, signed by the server's root")
    .action(async (storeId: string, opts: { brand: string; include?: string[]; privateAccess: string; url?: string }) => {
      const res = await (await client(opts)).json<{ assertion: string }>('POST', '/api/store/stores', {
        storeId,
        brand: opts.brand,
        privateAccess: privateAccessOption(opts.privateAccess),
        ...(opts.include ? { includes: opts.include } : {}),
      });
      io.out(res.assertion);
    });

  store
    .command('set')
    .argument('<store-id>', 'the store')
    .requiredOption('--private-access <who>', PRIVATE_ACCESS_HELP)
    .option(...urlOption)
    .description("change a store's settings (an admin of its brand)")
    .action(async (storeId: string, opts: { privateAccess: string; url?: string }) => {
      const res = await (await client(opts)).json<{ store: { storeId: string; privateAccess: string } }>('PATCH', `/api/store/stores/${encodeURIComponent(storeId)}`, {
        privateAccess: privateAccessOption(opts.privateAccess),
      });
      io.out(`${res.store.storeId}: private snaps seen by ${res.store.privateAccess === 'verified' ? 'device sessions of its models and store-download credentials' : 'any request naming the store'}\n`);
    });

  program
    .command('register')
    .argument('<snap>', 'the snap name')
    .requiredOption('--store <store-id>', 'the store to register it in')
    .option('--publisher <account-id>', "publisher account (default: the store's brand)")
    .option('--public', 'visible to every device, not only to those of this store')
    .option('--default-track <track>', 'the default track', 'latest')
    .option(...urlOption)
    .description('register a snap name in a store (the server signs its snap-declaration)')
    .action(async (name: string, opts: { store: string; publisher?: string; public?: boolean; defaultTrack: string; url?: string }) => {
      const res = await (await client(opts)).json<{ snap: { snapId: string; publisherId: string } }>('POST', `/api/store/stores/${encodeURIComponent(opts.store)}/snaps`, {
        name,
        ...(opts.publisher ? { publisher: opts.publisher } : {}),
        private: !opts.public,
        defaultTrack: opts.defaultTrack,
      });
      io.out(`Registered ${name} in ${opts.store}: snap-id ${res.snap.snapId}, publisher ${res.snap.publisherId}\n`);
    });

  program
    .command('push')
    .argument('<file>', 'the .snap file')
    .option('--release <channels>', 'release the new revision to these channels (comma-separated)')
    .option(...storeOption)
    .option(...urlOption)
    .description('upload a .snap (the server signs its snap-revision); prints the revision')
    .action(async (file: string, opts: { release?: string; store?: string; url?: string }) => {
      const c = await client(opts);
      const size = await stat(file).then(
        (s) => s.size,
        (err: Error) => {
          throw new CliError(`cannot read ${file}: ${err.message}`);
        },
      );
      const name = await snapName(file);
      const saved = await readCredentials();
      const token = io.env['SNAPLINE_TOKEN'] || (saved && saved.url.replace(/\/+$/, '') === c.url ? saved.token : undefined);
      const query = new URLSearchParams({ ...(opts.store ? { store: opts.store } : {}), ...(opts.release ? { release: splitChannels(opts.release).join(',') } : {}) }).toString();
      const body = createReadStream(file).pipe(progress(size, `Pushing ${name}`));
      let res: Response;
      try {
        res = await fetch(`${c.url}/api/store/snaps/${encodeURIComponent(name)}/revisions${query ? `?${query}` : ''}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token ?? ''}`, 'content-type': 'application/octet-stream', 'content-length': String(size), accept: 'application/json' },
          body: Readable.toWeb(body) as ReadableStream,
          duplex: 'half',
        } as RequestInit);
      } catch (err) {
        throw new CliError(`cannot reach ${c.url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
      }
      const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string }; revision?: { revision: number; version: string }; released?: string[]; pending?: { id: number; channels: string[] } };
      if (!res.ok) throw new CliError(json.error ? `${json.error.message} (${json.error.code})` : `${res.status} ${res.statusText}`);
      io.out(`Revision ${json.revision!.revision} of ${name} (version ${json.revision!.version}) created${json.released?.length ? `, released to ${json.released.join(', ')}` : ''}\n`);
      // A controlled channel: the release waits for an approver (docs/update-control.md, Approvals).
      if (json.pending) io.out(`Release of ${name} revision ${json.revision!.revision} to ${json.pending.channels.join(', ')} waits for approval: request ${json.pending.id} (snapline approve ${json.pending.id})\n`);
    });

  program
    .command('release')
    .argument('<snap>', 'the snap name')
    .argument('<revision>', 'the revision')
    .argument('<channels>', 'comma-separated channels ([track/]risk[/branch])')
    .option('--progressive <percentage>', 'progressive release: percentage of devices')
    .option('--fail-after-checkins <n>', 'health: a device offered the revision that still reports another at N check-ins has failed')
    .option('--error-threshold <percentage>', 'health: pause the rollout by itself when this share of the devices offered has failed')
    .option('--min-devices <n>', 'health: devices offered before the threshold applies (default 1)')
    .option('--fail-after <duration>', 'health: a device that downloaded the revision and still reports another this long after (30m, 2h, 1d) has failed too')
    .option('--plan <file>', 'a rollout plan (YAML or JSON): steps of percentages or device groups, soak times, thresholds, windows (docs/update-control.md)')
    .option('--group <groups>', 'device groups whose devices are offered the revision (comma-separated; alone: only them)')
    .option(...storeOption)
    .option(...urlOption)
    .description('release a revision to channels')
    .action(async (name: string, revision: string, channels: string, opts: { progressive?: string; failAfterCheckins?: string; errorThreshold?: string; minDevices?: string; failAfter?: string; plan?: string; group?: string; store?: string; url?: string }) => {
      if (!/^[1-9]\d*$/.test(revision)) throw new CliError(`invalid revision ${JSON.stringify(revision)}: expected a positive integer`);
      if (opts.progressive !== undefined && !/^(100|[1-9]\d?)$/.test(opts.progressive)) throw new CliError('--progressive must be a percentage from 1 to 100');
      if (opts.errorThreshold !== undefined && !/^(100|[1-9]\d?)$/.test(opts.errorThreshold)) throw new CliError('--error-threshold must be a percentage from 1 to 100');
      for (const [flag, v] of [['--fail-after-checkins', opts.failAfterCheckins], ['--min-devices', opts.minDevices]] as const) if (v !== undefined && !/^[1-9]\d*$/.test(v)) throw new CliError(`${flag} must be a positive integer`);
      if ((opts.errorThreshold !== undefined || opts.minDevices !== undefined || opts.failAfter !== undefined) && opts.failAfterCheckins === undefined) throw new CliError('--error-threshold, --min-devices and --fail-after need --fail-after-checkins');
      let failAfterSeconds: number | undefined;
      try {
        failAfterSeconds = opts.failAfter === undefined ? undefined : parseDuration(opts.failAfter, '--fail-after');
      } catch (err) {
        if (err instanceof PlanError) throw new CliError(err.message);
        throw err;
      }
      if (failAfterSeconds === 0) throw new CliError('--fail-after must be longer than 0');
      const health = opts.failAfterCheckins
        ? { failAfterCheckins: Number(opts.failAfterCheckins), ...(opts.errorThreshold ? { errorThreshold: Number(opts.errorThreshold) } : {}), ...(opts.minDevices ? { minDevices: Number(opts.minDevices) } : {}), ...(failAfterSeconds ? { failAfterSeconds } : {}) }
        : undefined;
      if (opts.plan !== undefined && (opts.progressive !== undefined || health)) throw new CliError('--plan gives the percentages and health rules: leave out --progressive and the health options');
      const plan = opts.plan !== undefined ? await readPlanFile(opts.plan) : undefined;
      const groups = opts.group?.split(',').map((g) => g.trim()).filter(Boolean);
      const c = await client(opts);
      const res = await c.json<{ released: string[]; channelMap: ChannelMapRow[]; pending?: { id: number; channels: string[] } }>('POST', snapPath(name, opts.store, '/releases'), {
        revision: Number(revision),
        channels: splitChannels(channels),
        ...(opts.progressive ? { progressivePercentage: Number(opts.progressive) } : {}),
        ...(health ? { health } : {}),
        ...(plan ? { plan } : {}),
        ...(groups?.length ? { groups } : {}),
      });
      if (res.pending) io.out(`Release of ${name} revision ${revision} to ${res.pending.channels.join(', ')} waits for approval: request ${res.pending.id} (snapline approve ${res.pending.id})\n`);
      else io.out(`Released ${name} revision ${revision} to ${res.released.join(', ')}\n`);
    });

  program
    .command('close')
    .argument('<snap>', 'the snap name')
    .argument('<channels>', 'comma-separated channels')
    .option(...storeOption)
    .option(...urlOption)
    .description('close channels: devices tracking them follow the next more stable risk')
    .action(async (name: string, channels: string, opts: { store?: string; url?: string }) => {
      const res = await (await client(opts)).json<{ closed: string[] }>('POST', snapPath(name, opts.store, '/close'), { channels: splitChannels(channels) });
      io.out(`Closed ${res.closed.join(', ')} of ${name}\n`);
    });

  program
    .command('status')
    .argument('<snap>', 'the snap name')
    .option(...storeOption)
    .option(...urlOption)
    .description('the channel map of a snap (like snapcraft status)')
    .action(async (name: string, opts: { store?: string; url?: string }) => {
      const c = await client(opts);
      const [status, revs] = await Promise.all([
        c.json<{ channelMap: ChannelMapRow[] }>('GET', snapPath(name, opts.store)),
        c.json<{ revisions: RevisionRow[] }>('GET', snapPath(name, opts.store, '/revisions')),
      ]);
      io.out(formatStatus(status.channelMap, new Map(revs.revisions.map((r) => [r.revision, r.version]))));
    });

  program
    .command('revisions')
    .argument('<snap>', 'the snap name')
    .option(...storeOption)
    .option(...urlOption)
    .description('the revisions of a snap, newest first')
    .action(async (name: string, opts: { store?: string; url?: string }) => {
      const res = await (await client(opts)).json<{ revisions: RevisionRow[] }>('GET', snapPath(name, opts.store, '/revisions'));
      if (res.revisions.length === 0) return io.out('No revisions.\n');
      const rows = [['Rev.', 'Uploaded', 'Arches', 'Version', 'Channels']];
      for (const r of res.revisions) rows.push([String(r.revision), r.createdAt.slice(0, 19) + 'Z', r.architectures.join(', '), r.version, r.channels.join(', ') || '-']);
      io.out(table(rows));
    });

  const collaborator = program.command('collaborator').description("accounts that may push and release a snap besides its publisher");
  collaborator
    .command('add')
    .argument('<snap>', 'the snap name')
    .argument('<account-id>', 'the collaborating account')
    .option(...storeOption)
    .option(...urlOption)
    .description("let another account push and release the snap (needs admin on the snap's publisher)")
    .action(async (name: string, account: string, opts: { store?: string; url?: string }) => {
      const res = await (await client(opts)).json<{ collaborators: string[] }>('POST', snapPath(name, opts.store, '/collaborators'), { account });
      io.out(`Collaborators of ${name}: ${res.collaborators.join(', ')}\n`);
    });
  collaborator
    .command('remove')
    .argument('<snap>', 'the snap name')
    .argument('<account-id>', 'the collaborating account')
    .option(...storeOption)
    .option(...urlOption)
    .description('remove a collaborating account')
    .action(async (name: string, account: string, opts: { store?: string; url?: string }) => {
      const res = await (await client(opts)).json<{ collaborators: string[] }>('DELETE', snapPath(name, opts.store, `/collaborators/${encodeURIComponent(account)}`));
      io.out(`Collaborators of ${name}: ${res.collaborators.join(', ') || '(none)'}\n`);
    });
}

/** The snap's name from its snap.yaml, read from the file. */
async function snapName(file: string): Promise<string> {
  const { SquashfsReader, readSnapMetadata } = await import('../../snap/index.ts');
  try {
    const r = await SquashfsReader.openFile(file);
    try {
      return (await readSnapMetadata(r)).snapYaml.name;
    } finally {
      await r.close();
    }
  } catch (err) {
    throw new CliError(`${file} is not a valid snap: ${(err as Error).message}`);
  }
}
