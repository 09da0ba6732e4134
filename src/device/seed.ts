// Reading a seed folder as snapd's first boot does (seed/seed16.go,
// seed/seed20.go; protocol doc 7.2, 7.3), in the layout Snapline's image
// builder writes (src/image/layout.ts): UC16/18 `seed.yaml` + snaps/ +
// assertions/, or UC20+ `systems/<label>` with the shared snaps/. Every
// assertion is verified against the trusted root, every asserted snap file
// against its snap-revision (SHA3-384 and size) and snap-declaration (name).
// File adapter: reads the disk; the rules are the assertion core's.
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import {
  AssertionError,
  ModelType,
  TrustDatabase,
  decodeStream,
  isValidSnapName,
  type Assertion,
  type ModelData,
  type ModelSnap,
  type SnapDeclarationData,
  type SnapRevisionData,
} from '../assertions/index.ts';
import { SnapError, SquashfsReader, readSnapMetadata, snapDigest, type SnapMetadata } from '../snap/index.ts';
import { checkSeedAgainstSets } from './validation-sets.ts';
import { DeviceError } from './errors.ts';
import { errorMessage, type Epoch } from './io.ts';

export interface SeedSnap {
  readonly name: string;
  /** "" for unasserted snaps. */
  readonly snapId: string;
  /** 0 for unasserted snaps. */
  readonly revision: number;
  readonly channel: string;
  readonly file: string;
  readonly type: string;
  readonly version: string;
  readonly epoch: Epoch;
  readonly hasPrepareDeviceHook: boolean;
}

export interface LoadedSeed {
  readonly form: 'uc16' | 'uc20';
  /** The folder holding seed.yaml (UC16/18) or systems/ (UC20+). */
  readonly root: string;
  readonly label?: string;
  readonly model: Assertion<ModelData>;
  /** Every assertion of the seed, verified (the trusted root left out). */
  readonly assertions: readonly Assertion[];
  readonly snaps: readonly SeedSnap[];
  readonly db: TrustDatabase;
}

export interface LoadSeedOptions {
  trusted: readonly Assertion[];
  label?: string;
  now: () => Date;
}

function fail(msg: string): never {
  throw new DeviceError('device-seed-invalid', msg);
}

/** Where the seed is, given the folder a user names: the seed itself, or an image builder's output folder. */
export function locateSeed(dir: string): { form: 'uc16' | 'uc20'; root: string } {
  const d = resolve(dir);
  if (existsSync(join(d, 'seed.yaml'))) return { form: 'uc16', root: d };
  if (existsSync(join(d, 'systems'))) return { form: 'uc20', root: d };
  if (existsSync(join(d, 'system-seed', 'systems'))) return { form: 'uc20', root: join(d, 'system-seed') };
  if (existsSync(join(d, 'image/var/lib/snapd/seed/seed.yaml'))) return { form: 'uc16', root: join(d, 'image/var/lib/snapd/seed') };
  return fail(`${dir} holds no seed: expected seed.yaml (core 16/18), systems/ (core 20+), or an image builder's output folder`);
}

async function readAssertionDir(dir: string): Promise<Assertion[]> {
  if (!existsSync(dir)) return [];
  const out: Assertion[] = [];
  for (const f of (await readdir(dir)).sort()) {
    try {
      out.push(...decodeStream(await readFile(join(dir, f))));
    } catch (err) {
      if (err instanceof AssertionError) fail(`cannot decode ${join(dir, f)}: ${err.message}`);
      throw err;
    }
  }
  return out;
}

/** Adds everything, reporting every failure (snapd commits the seed's assertions as one batch). */
function commit(db: TrustDatabase, all: readonly Assertion[]): Assertion[] {
  const outcome = db.addEach(all);
  const failed = outcome.filter((o) => o.error);
  if (failed.length > 0) fail(`seed assertions do not verify: ${failed.map((o) => `${o.assertion.type} ${o.assertion.primaryKey.join('/')}: ${o.error!.message}`).join('; ')}`);
  return outcome.map((o) => o.assertion);
}

async function metadata(path: string): Promise<SnapMetadata> {
  let r: SquashfsReader | undefined;
  try {
    r = await SquashfsReader.openFile(path);
    return await readSnapMetadata(r);
  } catch (err) {
    return fail(`cannot read snap ${path}: ${errorMessage(err)}`);
  } finally {
    await r?.close();
  }
}

async function snapOf(db: TrustDatabase, path: string, name: string, channel: string, asserted: boolean): Promise<SeedSnap> {
  if (!existsSync(path)) fail(`cannot find snap file ${path}`);
  let snapId = '';
  let revision = 0;
  if (asserted) {
    const { size, sha3_384Base64url } = await snapDigest(path);
    const rev = db.find('snap-revision', [sha3_384Base64url]) as Assertion<SnapRevisionData> | undefined;
    if (!rev) fail(`snap ${JSON.stringify(name)} (${path}): no snap-revision in the seed has its SHA3-384 ${sha3_384Base64url}`);
    if (rev.data.snapSize !== size) fail(`snap ${JSON.stringify(name)}: file size ${size} does not match its snap-revision's ${rev.data.snapSize}`);
    const decl = db.find('snap-declaration', ['16', rev.data.snapId]) as Assertion<SnapDeclarationData> | undefined;
    if (!decl) fail(`snap ${JSON.stringify(name)}: no snap-declaration for ${rev.data.snapId}`);
    if (decl.data.snapName !== name) fail(`snap ${JSON.stringify(name)} does not match its declaration's name ${JSON.stringify(decl.data.snapName)}`);
    snapId = rev.data.snapId;
    revision = rev.data.snapRevision;
  }
  const meta = await metadata(path);
  if (meta.snapYaml.name !== name) fail(`snap file ${path} holds snap ${JSON.stringify(meta.snapYaml.name)}, not ${JSON.stringify(name)}`);
  return {
    name,
    snapId,
    revision,
    channel,
    file: path,
    type: meta.snapYaml.type,
    version: meta.snapYaml.version,
    epoch: meta.snapYaml.epoch,
    hasPrepareDeviceHook: meta.hasPrepareDeviceHook,
  };
}

function asModel(a: Assertion): Assertion<ModelData> {
  if (!a.is(ModelType)) fail('the seed model is not a model assertion');
  return a as Assertion<ModelData>;
}

async function load16(root: string, o: LoadSeedOptions): Promise<LoadedSeed> {
  const all = await readAssertionDir(join(root, 'assertions'));
  const models = all.filter((a) => a.type === 'model');
  const distinct = new Set(models.map((m) => m.encode().toString('base64')));
  if (distinct.size === 0) fail('seed has no model assertion');
  if (distinct.size > 1) fail('cannot have multiple model assertions in the seed');
  const db = new TrustDatabase({ trusted: o.trusted, now: o.now });
  const assertions = commit(db, all);
  const model = asModel(models[0]!);
  if (model.data.extended) fail('a seed.yaml seed needs a core 16/18 model');
  let doc: { snaps?: Record<string, unknown>[] };
  try {
    doc = parse(await readFile(join(root, 'seed.yaml'), 'utf8')) as typeof doc;
  } catch (err) {
    return fail(`cannot read seed.yaml: ${errorMessage(err)}`);
  }
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.snaps)) fail('seed.yaml has no snaps list');
  const seen = new Set<string>();
  const snaps: SeedSnap[] = [];
  for (const e of doc.snaps) {
    const name = e?.['name'];
    const file = e?.['file'];
    if (typeof name !== 'string' || !isValidSnapName(name)) fail(`invalid snap name ${JSON.stringify(name)} in seed.yaml`);
    if (seen.has(name)) fail(`cannot have duplicated snap ${JSON.stringify(name)} in seed.yaml`);
    seen.add(name);
    if (typeof file !== 'string' || file === '' || file.includes('/')) fail(`"file" for ${name} must be a file name, not ${JSON.stringify(file)}`);
    const asserted = e['unasserted'] !== true;
    const s = await snapOf(db, join(root, 'snaps', file), name, typeof e['channel'] === 'string' ? e['channel'] : 'stable', asserted);
    if (asserted && e['snap-id'] !== undefined && e['snap-id'] !== s.snapId) fail(`snap ${name}: snap-id ${String(e['snap-id'])} in seed.yaml does not match ${s.snapId}`);
    snaps.push(s);
  }
  const m = model.data;
  const required = [m.kernel?.name, m.gadget?.name, m.base || 'core', ...m.snaps.map((s) => s.name)];
  if (m.base !== '') required.unshift('snapd');
  for (const n of required) if (n && !seen.has(n)) fail(`model requires snap ${JSON.stringify(n)}, missing from the seed`);
  return { form: 'uc16', root, model, assertions, snaps, db };
}

async function chooseLabel(root: string, label: string | undefined): Promise<string> {
  if (label !== undefined) {
    if (!/^[a-z0-9](?:-?[a-z0-9])*$/.test(label)) fail(`invalid seed system label: ${JSON.stringify(label)}`);
    if (!existsSync(join(root, 'systems', label))) fail(`the seed has no system ${JSON.stringify(label)}`);
    return label;
  }
  const labels = (await readdir(join(root, 'systems'))).sort();
  if (labels.length === 1) return labels[0]!;
  // The recovery system the bootloader would start (EFI/ubuntu/grubenv), as on first boot.
  const env = join(root, 'EFI/ubuntu/grubenv');
  if (existsSync(env)) {
    const m = /^snapd_recovery_system=(.+)$/m.exec((await readFile(env, 'latin1')).replace(/#+$/, ''));
    if (m && labels.includes(m[1]!)) return m[1]!;
  }
  return fail(labels.length === 0 ? 'the seed has no systems' : `the seed has several systems (${labels.join(', ')}): choose one with --label`);
}

async function load20(root: string, o: LoadSeedOptions): Promise<LoadedSeed> {
  const label = await chooseLabel(root, o.label);
  const sys = join(root, 'systems', label);
  let modelList: Assertion[];
  try {
    modelList = decodeStream(await readFile(join(sys, 'model')));
  } catch (err) {
    return fail(`cannot read the model of system ${label}: ${errorMessage(err)}`);
  }
  if (modelList.length !== 1 || modelList[0]!.type !== 'model') fail('system model file must hold exactly one model assertion');
  const model = asModel(modelList[0]!);
  if (!model.data.extended) fail('a systems/ seed needs a core 20+ model');
  const all = await readAssertionDir(join(sys, 'assertions'));
  if (all.some((a) => a.type === 'model')) fail('system cannot have any model assertion but the one in the system model assertion file');
  const db = new TrustDatabase({ trusted: o.trusted, now: o.now });
  const assertions = commit(db, [...all, model]);
  const decls = all.filter((a) => a.type === 'snap-declaration') as Assertion<SnapDeclarationData>[];
  const revs = all.filter((a) => a.type === 'snap-revision') as Assertion<SnapRevisionData>[];
  const revById = new Map<string, Assertion<SnapRevisionData>>();
  for (const r of revs) {
    const cur = revById.get(r.data.snapId);
    if (cur && cur.data.snapRevision !== r.data.snapRevision) fail(`cannot have multiple snap-revisions for the same snap-id: ${r.data.snapId}`);
    revById.set(r.data.snapId, r);
  }
  const m = model.data;
  // options.yaml (grade dangerous): channel overrides, extra and unasserted snaps.
  const options = new Map<string, Record<string, unknown>>();
  const optionsPath = join(sys, 'options.yaml');
  if (m.grade === 'dangerous' && existsSync(optionsPath)) {
    const doc = parse(await readFile(optionsPath, 'utf8')) as { snaps?: Record<string, unknown>[] } | null;
    for (const e of doc?.snaps ?? []) {
      const name = String(e['name']);
      if (options.has(name)) fail(`duplicated snap ${name} in options.yaml`);
      options.set(name, e);
    }
  }
  const snaps: SeedSnap[] = [];
  const modelSnaps: ModelSnap[] = [...m.essentialSnaps, ...m.snaps];
  // snapd is seeded even when the model does not list it (the image builder adds it).
  const snapdDecl = decls.find((d) => d.data.snapName === 'snapd');
  if (!modelSnaps.some((s) => s.type === 'snapd') && snapdDecl) {
    modelSnaps.unshift({ name: 'snapd', snapId: snapdDecl.data.snapId, type: 'snapd', modes: ['run', 'ephemeral'], defaultChannel: 'latest/stable', pinnedTrack: '', presence: 'required', classic: false });
  }
  for (const s of modelSnaps) {
    const opt = options.get(s.name);
    if (opt?.['unasserted'] !== undefined) continue; // below
    const decl = s.snapId !== '' ? decls.find((d) => d.data.snapId === s.snapId) : decls.find((d) => d.data.snapName === s.name);
    if (!decl) {
      if (s.presence === 'optional' || s.type === 'snapd') continue;
      fail(`cannot find snap-declaration for ${s.snapId ? `snap-id: ${s.snapId}` : `snap ${s.name}`}`);
    }
    const rev = revById.get(decl.data.snapId);
    if (!rev) fail(`cannot find snap-revision for ${decl.data.snapName}`);
    const channel = typeof opt?.['channel'] === 'string' ? opt['channel'] : s.defaultChannel || 'latest/stable';
    const got = await snapOf(db, join(root, 'snaps', `${decl.data.snapName}_${rev.data.snapRevision}.snap`), decl.data.snapName, channel, true);
    if (got.revision !== rev.data.snapRevision) fail(`snap ${s.name}: file is revision ${got.revision}, expected ${rev.data.snapRevision}`);
    snaps.push(got);
  }
  for (const [name, e] of options) {
    if (e['unasserted'] !== undefined) {
      snaps.push(await snapOf(db, join(sys, 'snaps', String(e['unasserted'])), name, '', false));
    } else if (!snaps.some((x) => x.name === name)) {
      const decl = decls.find((d) => d.data.snapName === name);
      const rev = decl && revById.get(decl.data.snapId);
      if (!rev) fail(`no assertions for extra snap ${name}`);
      snaps.push(await snapOf(db, join(sys, 'snaps', `${name}_${rev.data.snapRevision}.snap`), name, typeof e['channel'] === 'string' ? e['channel'] : 'latest/stable', true));
    }
  }
  return { form: 'uc20', root, label, model, assertions, snaps, db };
}

/** Reads and verifies a seed; throws DeviceError('device-seed-invalid') naming what is wrong. */
export async function loadSeed(dir: string, o: LoadSeedOptions): Promise<LoadedSeed> {
  const { form, root } = locateSeed(dir);
  try {
    const seed = form === 'uc16' ? await load16(root, o) : await load20(root, o);
    checkSeedAgainstSets(seed.model, seed.assertions, seed.snaps);
    return seed;
  } catch (err) {
    if (err instanceof DeviceError) throw err;
    if (err instanceof AssertionError || err instanceof SnapError) fail(err.message);
    throw new DeviceError('device-seed-invalid', `cannot read the seed: ${errorMessage(err)}`, { cause: err });
  }
}
