// model: a brand's statement of what a device model is (snapd asserts/model.go).
// Two forms: core 16/18 (gadget/kernel/required-snaps headers) and core 20+
// ("extended": the snaps list, grade, storage-safety).
import type { AssertionType } from '../assertion.ts';
import {
  checkIntWithDefault,
  checkListOfMaps,
  checkNotEmptyString,
  checkOptionalBool,
  checkOptionalString,
  checkRFC3339Date,
  checkStringList,
  checkStringListInMap,
  checkStringMatches,
} from '../checks.ts';
import { HeaderError, quote } from '../errors.ts';
import { isHeaderList, type HeaderMap } from '../headers.ts';
import { ACCOUNT_ID, MODEL_NAME, SNAP_ID, VALIDATION_SET_NAME, isValidModelName, isValidSnapName } from '../names.ts';
import { parseChannelVerbatim, memoizedChannel, ChannelError } from '../../channel/channel.ts';

export type ModelGrade = 'secured' | 'signed' | 'dangerous';
export type StorageSafety = 'encrypted' | 'prefer-encrypted' | 'prefer-unencrypted';
export type ModelSnapType = 'app' | 'base' | 'gadget' | 'kernel' | 'core' | 'snapd';

export interface ModelSnap {
  readonly name: string;
  /** "" when unknown (grade dangerous, or core 16/18 models). */
  readonly snapId: string;
  /** In the model's vocabulary: `core` (never `os`); "" for core16/18 required-snaps. */
  readonly type: ModelSnapType | '';
  readonly modes: readonly string[];
  /** Core 20+: the initial tracking channel; "" for core 16/18. */
  readonly defaultChannel: string;
  /** Core 16/18 gadget/kernel `name=track`. */
  readonly pinnedTrack: string;
  readonly presence: 'required' | 'optional';
  /** Classic snap in an extended classic model (snapd 2.59+). */
  readonly classic: boolean;
}

/** A validation set the model asks the device to track (`validation-sets` header, snapd 2.58+). */
export interface ModelValidationSet {
  readonly accountId: string;
  readonly name: string;
  /** 0 means unpinned. */
  readonly sequence: number;
  readonly mode: 'prefer-enforce' | 'enforce';
}

export interface ModelData {
  readonly series: string;
  readonly brandId: string;
  readonly model: string;
  readonly displayName: string;
  readonly architecture: string;
  readonly classic: boolean;
  readonly distribution: string;
  /** "" means the global store. */
  readonly store: string;
  readonly base: string;
  /** Core 20+ form (has a `snaps` header). */
  readonly extended: boolean;
  /** undefined for core 16/18 models. */
  readonly grade: ModelGrade | undefined;
  readonly storageSafety: StorageSafety | undefined;
  readonly gadget: ModelSnap | undefined;
  readonly kernel: ModelSnap | undefined;
  readonly baseSnap: ModelSnap | undefined;
  /** snapd (if listed), kernel, base, gadget in that order. */
  readonly essentialSnaps: readonly ModelSnap[];
  /** Every other snap, in model order. */
  readonly snaps: readonly ModelSnap[];
  readonly validationSets: readonly ModelValidationSet[];
  /** Accounts that may sign serials; always includes the brand. */
  readonly serialAuthority: readonly string[];
  /** undefined means anyone (`*`); otherwise always includes the brand. */
  readonly systemUserAuthority: readonly string[] | undefined;
  readonly timestamp: Date;
}

/** Snap ids snapd knows by name (snap/naming/wellknown.go, production store). */
export const WELL_KNOWN_SNAP_IDS: Readonly<Record<string, string>> = {
  core: '99T7MUlRhtI3U0QFgl5mXXESAiSwt776',
  snapd: 'PMrrV4ml8uWuEUDBT8dSGnKUYbevVhc4',
  core18: 'CSO04Jhav2yK0uz97cr0ipQRyqg0qQL6',
  core20: 'DLqre5XGLbDqg9jPtiAhRRjDuPVa5X1q',
  core22: 'amcUKQILKXHHTlmSa7NMdnXSx02dNeeT',
};

const SNAP_TYPES: readonly string[] = ['app', 'base', 'gadget', 'kernel', 'core', 'snapd'];
const SNAP_MODE = /^[a-z][-a-z]+$/;
const GRADES: readonly string[] = ['secured', 'signed', 'dangerous'];
const SAFETIES: readonly string[] = ['encrypted', 'prefer-encrypted', 'prefer-unencrypted'];
const DISTRIBUTION = /^[a-z0-9._-]*$/;
const ESSENTIAL_MODES = ['run', 'ephemeral'];
const DEFAULT_MODES = ['run'];

function checkModelSnap(snap: HeaderMap, grade: ModelGrade, modelIsClassic: boolean) {
  const name = checkNotEmptyString(snap, 'name', 'of snap');
  if (!isValidSnapName(name)) throw new HeaderError(`invalid snap name ${quote(name)}`);
  const what = () => `of snap ${quote(name)}`;
  let snapId = '';
  if (Object.hasOwn(snap, 'id')) snapId = checkStringMatches(snap, 'id', SNAP_ID, what);
  else if (grade !== 'dangerous') throw new HeaderError(`"id" ${what()} is mandatory for ${grade} grade model`);
  const type = checkOptionalString(snap, 'type', what) || 'app';
  if (!SNAP_TYPES.includes(type)) throw new HeaderError(`type of snap ${quote(name)} must be one of ${SNAP_TYPES.join('|')}`);
  const modes = checkStringListInMap(snap, 'modes', () => `"modes" ${what()}`, SNAP_MODE);
  const defaultChannel = checkOptionalString(snap, 'default-channel', what) || 'latest/stable';
  const track = channelTrack(defaultChannel);
  if (track instanceof ChannelError) throw new HeaderError(`invalid default channel for snap ${quote(name)}: ${track.message}`);
  if (track === '') throw new HeaderError(`default channel for snap ${quote(name)} must specify a track`);
  const presence = checkOptionalString(snap, 'presence', what);
  if (presence !== '' && presence !== 'required' && presence !== 'optional') {
    throw new HeaderError(`presence of snap ${quote(name)} must be one of required|optional`);
  }
  // Per-snap `classic` arrived with extended classic models (snapd 2.59).
  const classic = checkOptionalBool(snap, 'classic', what);
  if (classic && !modelIsClassic) throw new HeaderError(`snap ${quote(name)} cannot be classic in non-classic model`);
  if (classic && type !== 'app') throw new HeaderError(`snap ${quote(name)} cannot be classic with type ${quote(type)} instead of app`);
  return { name, snapId, type: type as ModelSnapType, modes, defaultChannel, presence, classic };
}

const trackCache = new Map<string, string | ChannelError>();
/** The track of a channel, or why it is invalid; memoized since models repeat a few channels. */
function channelTrack(channel: string): string | ChannelError {
  return memoizedChannel(trackCache, channel, () => parseChannelVerbatim(channel).track);
}

function multipleEssential(kind: string, prev: { name: string }, next: { name: string }): never {
  throw new HeaderError(`cannot specify multiple ${kind} snaps: ${quote(prev.name)} and ${quote(next.name)}`);
}

function checkExtendedSnaps(headers: HeaderMap, base: string, grade: ModelGrade, classicModel: boolean) {
  const raw = headers['snaps'];
  const wrong = '"snaps" header must be a list of maps';
  if (!isHeaderList(raw)) throw new HeaderError(wrong);
  const entries = checkListOfMaps(headers, 'snaps');
  let snapd: ModelSnap | undefined;
  let kernel: ModelSnap | undefined;
  let gadget: ModelSnap | undefined;
  let baseSnap: ModelSnap | undefined;
  const others: ModelSnap[] = [];
  const seen = new Set<string>();
  const seenIds = new Map<string, string>();
  for (const entry of entries) {
    const s = checkModelSnap(entry, grade, classicModel);
    if (seen.has(s.name)) throw new HeaderError(`cannot list the same snap ${quote(s.name)} multiple times`);
    seen.add(s.name);
    if (s.snapId !== '') {
      const under = seenIds.get(s.snapId);
      if (under) throw new HeaderError(`cannot specify the same snap id ${quote(s.snapId)} multiple times, specified for snaps ${quote(under)} and ${quote(s.name)}`);
      seenIds.set(s.snapId, s.name);
    }
    let essential = true;
    if (s.type === 'snapd') {
      if (snapd) multipleEssential('snapd', snapd, s);
    } else if (s.type === 'kernel') {
      if (kernel) multipleEssential('kernel', kernel, s);
    } else if (s.type === 'gadget') {
      if (gadget) multipleEssential('gadget', gadget, s);
    } else if (s.name === base) {
      if (s.type !== 'base') throw new HeaderError(`boot base ${quote(base)} must specify type "base", not ${quote(s.type)}`);
    } else essential = false;
    let modes = s.modes;
    if (essential) {
      if (modes.length !== 0 || s.presence !== '') {
        throw new HeaderError(`essential snaps are always available, cannot specify modes or presence for snap ${quote(s.name)}`);
      }
      modes = ESSENTIAL_MODES;
    }
    if (modes.length === 0) modes = DEFAULT_MODES;
    if (s.classic && (modes.length !== 1 || modes[0] !== 'run')) {
      throw new HeaderError(`classic snap ${quote(s.name)} not allowed outside of run mode: [${modes.join(' ')}]`);
    }
    const presence = (s.presence || 'required') as ModelSnap['presence'];
    const snap: ModelSnap = {
      name: s.name,
      snapId: s.snapId,
      type: s.type,
      modes,
      defaultChannel: s.defaultChannel,
      pinnedTrack: '',
      presence,
      classic: s.classic,
    };
    if (s.type === 'snapd') snapd = snap;
    else if (s.type === 'kernel') kernel = snap;
    else if (s.type === 'gadget') gadget = snap;
    else if (essential) baseSnap = snap;
    else others.push(snap);
  }
  return { snapd, kernel, gadget, baseSnap, others };
}

function checkSnapWithTrack(headers: HeaderMap, which: 'gadget' | 'kernel'): ModelSnap | undefined {
  if (!Object.hasOwn(headers, which)) return undefined;
  const value = headers[which];
  if (typeof value !== 'string') throw new HeaderError(`${quote(which)} header must be a string`);
  const eq = value.indexOf('=');
  const name = eq === -1 ? value : value.slice(0, eq);
  const track = eq === -1 ? '' : value.slice(eq + 1);
  if (!isValidSnapName(name)) throw new HeaderError(`invalid snap name in ${quote(which)} header: ${name}`);
  if (eq !== -1) {
    if (track.includes('/')) throw new HeaderError(`${quote(which)} channel selector must be a track name only`);
    if (['stable', 'candidate', 'beta', 'edge'].includes(track)) throw new HeaderError(`${quote(which)} channel selector must be a track name`);
  }
  return { name, snapId: '', type: which, modes: DEFAULT_MODES, defaultChannel: '', pinnedTrack: track, presence: 'required', classic: false };
}

function requiredSnap(name: string, header: string, type: ModelSnapType | ''): ModelSnap {
  if (!isValidSnapName(name)) throw new HeaderError(`invalid snap name in ${quote(header)} header: ${name}`);
  return { name, snapId: '', type, modes: DEFAULT_MODES, defaultChannel: '', pinnedTrack: '', presence: 'required', classic: false };
}

function checkAuthorityList(headers: HeaderMap, name: string, brandId: string, allowStar: boolean): string[] | undefined {
  if (!Object.hasOwn(headers, name)) return [brandId];
  const v = headers[name];
  if (allowStar && v === '*') return undefined;
  const msg = allowStar ? `${quote(name)} header must be '*' or a list of account ids` : `${quote(name)} header must be a list of account ids`;
  if (!isHeaderList(v)) throw new HeaderError(msg);
  let list: string[];
  try {
    list = checkStringList(headers, name, ACCOUNT_ID);
  } catch {
    throw new HeaderError(msg);
  }
  return list.includes(brandId) ? list : [brandId, ...list];
}

/** The `validation-sets` header (snapd 2.58+; 2.57 ignores it as an unknown header). */
function checkValidationSets(headers: HeaderMap, brandId: string): ModelValidationSet[] {
  if (!Object.hasOwn(headers, 'validation-sets')) return [];
  const v = headers['validation-sets'];
  if (!isHeaderList(v)) throw new HeaderError('"validation-sets" must be a list of validation sets');
  const seen = new Set<string>();
  return v.map((entry) => {
    if (typeof entry !== 'object' || isHeaderList(entry)) throw new HeaderError('"validation-sets" must contain a list of validation sets');
    const m = entry as HeaderMap;
    const accountId = checkOptionalString(m, 'account-id', 'of validation-set') || brandId;
    const name = checkStringMatches(m, 'name', VALIDATION_SET_NAME, 'of validation-set');
    const what = `of validation-set "${accountId}/${name}"`;
    const sequence = checkIntWithDefault(m, 'sequence', 0);
    if (sequence < 0) throw new HeaderError(`"sequence" ${what} must be larger than 0`);
    const mode = checkNotEmptyString(m, 'mode', what);
    if (mode !== 'prefer-enforce' && mode !== 'enforce') throw new HeaderError(`"mode" ${what} must be prefer-enforce|enforce, not ${quote(mode)}`);
    const key = `${accountId}/${name}`;
    if (seen.has(key)) throw new HeaderError(`cannot add validation set ${quote(key)} twice`);
    seen.add(key);
    return { accountId, name, sequence, mode };
  });
}

/** The `model` header: model-name syntax, lowercase only. Shared with the serial family. */
export function checkModelHeader(headers: HeaderMap): string {
  const model = checkStringMatches(headers, 'model', MODEL_NAME);
  if (!isValidModelName(model)) throw new HeaderError('"model" header cannot contain uppercase letters');
  return model;
}

export const ModelType: AssertionType<ModelData> = {
  name: 'model',
  primaryKey: ['series', 'brand-id', 'model'],
  maxFormat: 0,
  assemble({ headers }) {
    const brandId = headers['brand-id'] as string;
    const authority = headers['authority-id'] as string;
    if (authority !== brandId) {
      throw new HeaderError(`authority-id and brand-id must match, model assertions are expected to be signed by the brand: ${quote(authority)} != ${quote(brandId)}`);
    }
    const model = checkModelHeader(headers);
    const classic = checkOptionalBool(headers, 'classic');
    const extended = Object.hasOwn(headers, 'snaps');
    if (extended) {
      for (const h of ['gadget', 'kernel', 'required-snaps']) {
        if (Object.hasOwn(headers, h)) throw new HeaderError(`cannot specify separate ${quote(h)} header once using the extended snaps header`);
      }
    } else {
      if (Object.hasOwn(headers, 'grade')) throw new HeaderError('cannot specify a grade for model without the extended snaps header');
      if (Object.hasOwn(headers, 'storage-safety')) throw new HeaderError('cannot specify storage-safety for model without the extended snaps header');
    }
    if (classic && !extended) {
      if (Object.hasOwn(headers, 'kernel')) throw new HeaderError('cannot specify a kernel with a non-extended classic model');
      if (Object.hasOwn(headers, 'base')) throw new HeaderError('cannot specify a base with a non-extended classic model');
    }
    let distribution = '';
    if (classic && extended) {
      try {
        distribution = checkStringMatches(headers, 'distribution', DISTRIBUTION);
      } catch (err) {
        throw new HeaderError(`${(err as Error).message}, see distribution ID in os-release spec`);
      }
    } else if (Object.hasOwn(headers, 'distribution')) {
      throw new HeaderError('cannot specify distribution for model unless it is classic and has an extended snaps header');
    }
    const mandatory = extended ? ['architecture', 'base'] : classic ? [] : ['architecture', 'gadget', 'kernel'];
    for (const h of mandatory) checkNotEmptyString(headers, h);
    if (!extended && classic) for (const h of ['architecture', 'gadget']) checkOptionalString(headers, h);
    const architecture = checkOptionalString(headers, 'architecture');
    const base = checkOptionalString(headers, 'base');
    let baseSnap = base !== '' ? requiredSnap(base, 'base', 'base') : undefined;
    const store = checkOptionalString(headers, 'store');
    const displayName = checkOptionalString(headers, 'display-name');

    let grade: ModelGrade | undefined;
    let storageSafety: StorageSafety | undefined;
    let snapd: ModelSnap | undefined;
    let gadget: ModelSnap | undefined;
    let kernel: ModelSnap | undefined;
    let snaps: ModelSnap[];
    if (extended) {
      const g = checkOptionalString(headers, 'grade');
      if (g !== '' && !GRADES.includes(g)) throw new HeaderError(`grade for model must be ${GRADES.join('|')}, not ${quote(g)}`);
      grade = (g || 'signed') as ModelGrade;
      const ss = checkOptionalString(headers, 'storage-safety');
      if (ss !== '' && !SAFETIES.includes(ss)) throw new HeaderError(`storage-safety for model must be ${SAFETIES.join('|')}, not ${quote(ss)}`);
      storageSafety = (ss || (grade === 'secured' ? 'encrypted' : 'prefer-encrypted')) as StorageSafety;
      if (grade === 'secured' && storageSafety !== 'encrypted') {
        throw new HeaderError('secured grade model must not have storage-safety overridden, only "encrypted" is valid');
      }
      const ext = checkExtendedSnaps(headers, base, grade, classic);
      ({ snapd, kernel, gadget } = ext);
      snaps = ext.others;
      if (!classic) {
        if (!gadget) throw new HeaderError('one "snaps" header entry must specify the model gadget');
        if (!kernel) throw new HeaderError('one "snaps" header entry must specify the model kernel');
      } else if (kernel && !gadget) {
        throw new HeaderError('cannot specify a kernel in an extended classic model without a model gadget');
      }
      if (ext.baseSnap) baseSnap = ext.baseSnap;
      else if (baseSnap) {
        const id = WELL_KNOWN_SNAP_IDS[baseSnap.name] ?? '';
        if (id === '' && grade !== 'dangerous') {
          throw new HeaderError(`cannot specify not well-known base ${quote(baseSnap.name)} without a corresponding "snaps" header entry`);
        }
        baseSnap = { ...baseSnap, snapId: id, modes: ESSENTIAL_MODES, defaultChannel: 'latest/stable' };
      }
    } else {
      kernel = checkSnapWithTrack(headers, 'kernel');
      gadget = checkSnapWithTrack(headers, 'gadget');
      snaps = checkStringList(headers, 'required-snaps').map((n) => requiredSnap(n, 'required-snaps', ''));
    }
    const serialAuthority = checkAuthorityList(headers, 'serial-authority', brandId, false)!;
    const systemUserAuthority = checkAuthorityList(headers, 'system-user-authority', brandId, true);
    const timestamp = checkRFC3339Date(headers, 'timestamp');
    const validationSets = checkValidationSets(headers, brandId);
    const essentialSnaps = [snapd, kernel, baseSnap, gadget].filter((s): s is ModelSnap => s !== undefined);
    return {
      series: headers['series'] as string,
      brandId,
      model,
      displayName,
      architecture,
      classic,
      distribution,
      store,
      base,
      extended,
      grade,
      storageSafety,
      gadget,
      kernel,
      baseSnap,
      essentialSnaps,
      snaps,
      validationSets,
      serialAuthority,
      systemUserAuthority,
      timestamp,
    };
  },
  timestamp: (d) => d.timestamp,
};
