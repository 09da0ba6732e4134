// Store channels `[track/]risk[/branch]` (snapd snap/channel). Pure.
import { CodedError } from '../errors/coded-error.ts';

export const RISKS = ['stable', 'candidate', 'beta', 'edge'] as const;
export type Risk = (typeof RISKS)[number];

export interface Channel {
  /** "" when the input named no track. */
  readonly track: string;
  /** "" when the input named no risk. */
  readonly risk: Risk | '';
  readonly branch: string;
}

export class ChannelError extends CodedError<'invalid-channel'> {
  override readonly name = 'ChannelError';
  constructor(message: string) {
    super('invalid-channel', message);
  }
}

export function isRisk(s: string): s is Risk {
  return (RISKS as readonly string[]).includes(s);
}

/**
 * Parses a channel exactly as given (snapd's ParseVerbatim): a first component
 * that is a risk is a risk, otherwise a track; nothing is defaulted.
 */
export function parseChannelVerbatim(s: string): Channel {
  if (s === '') throw new ChannelError('channel name cannot be empty');
  const p = s.split('/');
  let track: string | undefined;
  let risk: string | undefined;
  let branch: string | undefined;
  if (p.length > 3) throw new ChannelError(`channel name has too many components: ${s}`);
  if (p.length === 3) [track, risk, branch] = p;
  else if (p.length === 2) {
    if (isRisk(p[0]!)) [risk, branch] = p;
    else [track, risk] = p;
  } else if (isRisk(p[0]!)) risk = p[0];
  else track = p[0];
  if (risk !== undefined && !isRisk(risk)) throw new ChannelError(`invalid risk in channel name: ${s}`);
  if (track === '') throw new ChannelError(`invalid track in channel name: ${s}`);
  if (branch === '') throw new ChannelError(`invalid branch in channel name: ${s}`);
  return { track: track ?? '', risk: (risk as Risk | undefined) ?? '', branch: branch ?? '' };
}

/** Parses and normalizes: track defaults to `latest`, risk to `stable`. */
export function parseChannel(s: string, defaultTrack = 'latest'): Channel {
  const c = parseChannelVerbatim(s);
  return { track: c.track || defaultTrack, risk: c.risk || 'stable', branch: c.branch };
}

/** The full name, always with a track: `latest/stable`, `20/edge/fix`. */
export function fullChannelName(c: Channel): string {
  const base = `${c.track || 'latest'}/${c.risk || 'stable'}`;
  return c.branch ? `${base}/${c.branch}` : base;
}

/** The clean name snapd shows: `latest` dropped (`stable`, `edge/fix`, `2.0/stable`). */
export function cleanChannelName(c: Channel): string {
  const track = c.track === 'latest' ? '' : c.track;
  const parts = [track, c.risk || 'stable', c.branch].filter((x) => x !== '');
  return parts.join('/');
}

/**
 * `parse()` for `key`, memoized in `cache` with the ChannelError of an
 * invalid channel too (callers parse the same few channels over and over);
 * the cache is emptied when it holds `max` entries.
 */
export function memoizedChannel<T>(cache: Map<string, T | ChannelError>, key: string, parse: () => T, max = 1024): T | ChannelError {
  let v = cache.get(key);
  if (v === undefined) {
    try {
      v = parse();
    } catch (err) {
      if (!(err instanceof ChannelError)) throw err;
      v = err;
    }
    if (cache.size >= max) cache.clear();
    cache.set(key, v);
  }
  return v;
}
