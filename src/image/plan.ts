// Which snaps a seed holds and from which channels (snapd image/helpers.go,
// seed/seedwriter): the model's essential and other snaps, implicit
// additions for core 16/18, channel and local-file overrides with the rules
// `snap prepare-image` applies. Pure.
import type { ModelData, ModelSnapType } from '../assertions/index.ts';
import { WELL_KNOWN_SNAP_IDS } from '../assertions/index.ts';
import { ChannelError, parseChannelVerbatim, type Channel } from '../channel/channel.ts';
import { ImageError } from './errors.ts';

export interface PlannedSnap {
  readonly name: string;
  /** From the model (core 20+), or "" until the store says. */
  readonly snapId: string;
  /** In the model's vocabulary (`core`, never `os`); "" for core 16/18 required snaps and extras. */
  readonly modelType: ModelSnapType | '';
  /** Channel asked of the store. */
  readonly channel: string;
  /** Channel written in seed.yaml (core 16/18): the bare track for pinned gadget/kernel. */
  readonly seedChannel: string;
  /** Whether the channel differs from the model's (options.yaml, core 20+). */
  readonly channelOverridden: boolean;
  readonly essential: boolean;
  /** Listed in the model (or implicitly required by it); false for extra snaps. */
  readonly inModel: boolean;
  readonly presence: 'required' | 'optional';
  readonly modes: readonly string[];
  /** Given as a local file with --snap NAME=FILE. */
  readonly localFile: string | undefined;
}

export interface PlanOptions {
  /** --channel: a risk, track or full channel applied to every snap. */
  readonly channel?: string;
  /** --snap NAME=FILE overrides and extras. */
  readonly localSnaps?: ReadonlyMap<string, string>;
  /** --snap NAME[=CHANNEL]: store snaps asked for by name (optional model snaps, extras), with a channel or "". */
  readonly storeSnaps?: ReadonlyMap<string, string>;
}

/** Core 20+ ("extended") models are seeded under systems/<label>. */
export function isUC20(model: ModelData): boolean {
  return model.extended;
}

function parseOverride(channel: string): Channel {
  try {
    return parseChannelVerbatim(channel);
  } catch (err) {
    if (err instanceof ChannelError) throw new ImageError('image-override-refused', `invalid --channel ${JSON.stringify(channel)}: ${err.message}`);
    throw err;
  }
}

/** Applies an override to a default channel: a risk-only override keeps the default's track. */
export function overrideChannel(defaultChannel: string, override: Channel | undefined): string {
  if (!override) return defaultChannel;
  const d = defaultChannel === '' ? { track: '', risk: '', branch: '' } : parseChannelVerbatim(defaultChannel);
  const track = override.track || d.track;
  const risk = override.risk || (override.track ? 'stable' : d.risk) || 'stable';
  const branch = override.track || override.risk ? override.branch : d.branch;
  return [track, risk, branch].filter((x) => x !== '').join('/');
}

function refuseForGrade(model: ModelData, what: string): void {
  if (model.extended && model.grade !== 'dangerous') {
    throw new ImageError(
      'image-override-refused',
      `cannot ${what} with a model of grade ${model.grade}: snapd allows overriding channels, local snaps and extra snaps only for grade dangerous`,
    );
  }
}

/** The snaps of the seed, essential first (snapd/core, kernel, base, gadget), then the model's others, then extras. */
export function planSnaps(model: ModelData, opts: PlanOptions = {}): PlannedSnap[] {
  if (model.classic) throw new ImageError('image-model-invalid', 'classic models are not supported: snapline builds Ubuntu Core images');
  const globalOverride = opts.channel !== undefined ? parseOverride(opts.channel) : undefined;
  if (globalOverride) refuseForGrade(model, 'override channels');
  const local = opts.localSnaps ?? new Map<string, string>();
  const named = opts.storeSnaps ?? new Map<string, string>();
  for (const name of named.keys()) {
    if (local.has(name)) throw new ImageError('image-override-refused', `snap ${JSON.stringify(name)} given both as a file and by name`);
  }
  // A per-snap channel (--snap NAME=CHANNEL) wins over --channel, as in snapd.
  const overrideFor = (name: string): Channel | undefined => {
    const c = named.get(name);
    if (c === undefined || c === '') return globalOverride;
    refuseForGrade(model, `override the channel of ${JSON.stringify(name)}`);
    return parseOverride(c);
  };
  const out: PlannedSnap[] = [];
  if (isUC20(model)) {
    const essential = [...model.essentialSnaps];
    // snapd seeds snapd first even when the model does not list it.
    if (!essential.some((s) => s.type === 'snapd')) {
      essential.unshift({ name: 'snapd', snapId: WELL_KNOWN_SNAP_IDS['snapd']!, type: 'snapd', modes: ['run', 'ephemeral'], defaultChannel: 'latest/stable', pinnedTrack: '', presence: 'required', classic: false });
    }
    for (const [list, isEssential] of [[essential, true], [model.snaps, false]] as const) {
      for (const s of list) {
        // Optional snaps are seeded only when asked for (snapd's seedwriter).
        if (s.presence === 'optional' && !local.has(s.name) && !named.has(s.name)) continue;
        const channel = overrideChannel(s.defaultChannel, overrideFor(s.name));
        out.push({
          name: s.name,
          snapId: s.snapId,
          modelType: s.type,
          channel,
          seedChannel: channel,
          channelOverridden: channel !== s.defaultChannel,
          essential: isEssential,
          inModel: true,
          presence: s.presence,
          modes: s.modes,
          localFile: local.get(s.name),
        });
      }
    }
  } else {
    const add = (name: string, type: ModelSnapType | '', pinnedTrack: string, essential: boolean) => {
      if (out.some((p) => p.name === name)) return;
      const override = overrideFor(name);
      const base = pinnedTrack !== '' ? `${pinnedTrack}/stable` : 'stable';
      const channel = override ? overrideChannel(base, override) : base;
      const seedChannel = pinnedTrack !== '' && !override ? pinnedTrack : channel;
      out.push({
        name,
        snapId: '',
        modelType: type,
        channel,
        seedChannel,
        channelOverridden: override !== undefined,
        essential,
        inModel: true,
        presence: 'required',
        modes: ['run'],
        localFile: local.get(name),
      });
    };
    // UC18+: the snapd snap comes first; UC16 (no base): the core snap carries snapd.
    if (model.base !== '') add('snapd', 'snapd', '', true);
    else add('core', 'core', '', true);
    add(model.kernel!.name, 'kernel', model.kernel!.pinnedTrack, true);
    if (model.base !== '') add(model.base, 'base', '', true);
    add(model.gadget!.name, 'gadget', model.gadget!.pinnedTrack, true);
    for (const s of model.snaps) add(s.name, '', '', false);
  }
  // --snap for a snap the model does not list: an extra snap, from a file or from the store.
  const extras = [...[...local].map(([name, file]) => ({ name, file: file as string | undefined })), ...[...named.keys()].map((name) => ({ name, file: undefined }))];
  for (const { name, file } of extras) {
    if (out.some((p) => p.name === name)) continue;
    refuseForGrade(model, `add extra snap ${JSON.stringify(name)}`);
    // snapd's default for extra snaps: latest/stable (core 20+) or stable, then the override.
    const channel = overrideChannel(isUC20(model) ? 'latest/stable' : 'stable', overrideFor(name));
    out.push({
      name,
      snapId: '',
      modelType: '',
      channel,
      seedChannel: channel,
      channelOverridden: false,
      essential: false,
      inModel: false,
      presence: 'required',
      modes: ['run'],
      localFile: file,
    });
  }
  for (const p of out) if (p.localFile !== undefined && p.inModel) refuseForGrade(model, `use local snap file for ${JSON.stringify(p.name)}`);
  return out;
}
