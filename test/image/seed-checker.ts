// A test-side implementation of snapd's seed loading rules (protocol doc 7.2,
// 7.3; snapd seed/seed16.go, seed/seed20.go): what a device's first boot
// accepts. Independent of src/image on purpose: it reads the seed back from
// disk and checks it against the trusted set alone.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  ModelType,
  TrustDatabase,
  WELL_KNOWN_SNAP_IDS,
  decodeStream,
  isValidSnapName,
  type Assertion,
  type ModelData,
  type ModelSnap,
  type SnapDeclarationData,
  type SnapRevisionData,
} from '../../src/assertions/index.ts';
import { parseChannelVerbatim } from '../../src/channel/channel.ts';
import { SquashfsReader, readSnapMetadata } from '../../src/snap/index.ts';

export class SeedError extends Error {}

function fail(msg: string): never {
  throw new SeedError(msg);
}

export interface LoadedSnap {
  readonly name: string;
  readonly path: string;
  readonly snapId: string;
  readonly revision: number;
}

export interface LoadedSeed {
  readonly model: Assertion<ModelData>;
  readonly snaps: readonly LoadedSnap[];
  readonly db: TrustDatabase;
}

async function digestOf(path: string): Promise<{ size: number; b64: string }> {
  const data = await readFile(path);
  return { size: data.length, b64: createHash('sha3-384').update(data).digest('base64url') };
}

async function readAll(dir: string): Promise<Assertion[]> {
  const out: Assertion[] = [];
  for (const f of (await readdir(dir)).sort()) out.push(...decodeStream(await readFile(join(dir, f))));
  return out;
}

function newDb(trusted: readonly Assertion[], now: Date): TrustDatabase {
  return new TrustDatabase({ trusted, now: () => now });
}

function commit(db: TrustDatabase, all: readonly Assertion[]): void {
  const failed = db.addEach(all).filter((o) => o.error);
  if (failed.length > 0) fail(`cannot commit assertions: ${failed.map((o) => `${o.assertion.type} ${o.assertion.primaryKey.join('/')}: ${o.error!.message}`).join('; ')}`);
}

/** Checks a snap file against its snap-revision and snap-declaration; returns snap-id and revision. */
async function checkAsserted(db: TrustDatabase, path: string, name: string): Promise<{ snapId: string; revision: number }> {
  if (!existsSync(path)) fail(`cannot find snap file ${path}`);
  const { size, b64 } = await digestOf(path);
  const rev = db.find('snap-revision', [b64]) as Assertion<SnapRevisionData> | undefined;
  if (!rev) fail(`cannot find signatures with metadata for snap ${JSON.stringify(name)} (${path})`);
  if (rev.data.snapSize !== size) fail(`snap ${JSON.stringify(name)} file size ${size} does not match snap-revision's ${rev.data.snapSize}`);
  const decl = db.find('snap-declaration', ['16', rev.data.snapId]) as Assertion<SnapDeclarationData> | undefined;
  if (!decl) fail(`no snap-declaration for ${rev.data.snapId}`);
  if (decl.data.snapName !== name) fail(`snap ${JSON.stringify(name)} does not match its declaration's name ${JSON.stringify(decl.data.snapName)}`);
  const r = await SquashfsReader.openFile(path);
  try {
    const meta = await readSnapMetadata(r);
    if (meta.snapYaml.name !== name) fail(`snap file ${path} holds snap ${JSON.stringify(meta.snapYaml.name)}`);
    if ((meta.snapYaml.provenance ?? 'global-upload') !== rev.data.provenance) fail(`snap ${name}: provenance mismatch`);
  } finally {
    await r.close();
  }
  return { snapId: rev.data.snapId, revision: rev.data.snapRevision };
}

function requiredNames16(m: ModelData): string[] {
  const names = [m.kernel!.name, m.gadget!.name, m.base || 'core', ...m.snaps.map((s) => s.name)];
  if (m.base !== '') names.unshift('snapd');
  return names;
}

/** snapd's seed16 loader: `<dir>` is the folder holding seed.yaml, snaps/ and assertions/. */
export async function loadSeed16(dir: string, trusted: readonly Assertion[], now = new Date()): Promise<LoadedSeed> {
  const all = await readAll(join(dir, 'assertions'));
  const models = all.filter((a) => a.type === 'model');
  const distinct = new Set(models.map((m) => m.encode().toString('base64')));
  if (distinct.size === 0) fail('seed has no model assertion');
  if (distinct.size > 1) fail('cannot have multiple model assertions in the seed');
  const db = newDb(trusted, now);
  commit(db, all);
  const model = models[0]! as Assertion<ModelData>;
  if (!model.is(ModelType) || model.data.extended) fail('a seed16 seed needs a core 16/18 model');
  const doc = parse(await readFile(join(dir, 'seed.yaml'), 'utf8')) as { snaps?: Record<string, unknown>[] };
  const seen = new Set<string>();
  const snaps: LoadedSnap[] = [];
  for (const e of doc.snaps ?? []) {
    const name = e['name'];
    const file = e['file'];
    if (typeof name !== 'string' || !isValidSnapName(name)) fail(`invalid snap name ${JSON.stringify(name)}`);
    if (seen.has(name)) fail(`cannot have duplicated snap ${JSON.stringify(name)} in seed.yaml`);
    seen.add(name);
    if (typeof file !== 'string' || file === '' || file.includes('/')) fail(`"file" for ${name} must be a file name, not ${JSON.stringify(file)}`);
    if (e['channel'] !== undefined) parseChannelVerbatim(String(e['channel']));
    const path = join(dir, 'snaps', file);
    if (e['unasserted'] === true) {
      if (!existsSync(path)) fail(`cannot find snap file ${path}`);
      snaps.push({ name, path, snapId: '', revision: 0 });
      continue;
    }
    const { snapId, revision } = await checkAsserted(db, path, name);
    if (e['snap-id'] !== undefined && e['snap-id'] !== snapId) fail(`snap ${name}: snap-id ${String(e['snap-id'])} in seed.yaml does not match ${snapId}`);
    snaps.push({ name, path, snapId, revision });
  }
  for (const n of requiredNames16(model.data)) if (!seen.has(n)) fail(`model requires snap ${JSON.stringify(n)}, missing from the seed`);
  return { model, snaps, db };
}

/** snapd's seed20 loader: `<root>` is the system-seed folder. */
export async function loadSeed20(root: string, label: string, trusted: readonly Assertion[], now = new Date()): Promise<LoadedSeed> {
  if (!/^[a-z0-9](?:-?[a-z0-9])*$/.test(label)) fail(`invalid seed system label: ${JSON.stringify(label)}`);
  const sys = join(root, 'systems', label);
  const modelList = decodeStream(await readFile(join(sys, 'model')));
  if (modelList.length !== 1 || modelList[0]!.type !== 'model') fail('system model file must hold exactly one model assertion');
  const model = modelList[0]! as Assertion<ModelData>;
  if (!model.is(ModelType) || !model.data.extended) fail('a seed20 seed needs a core 20+ model');
  const all = await readAll(join(sys, 'assertions'));
  if (all.some((a) => a.type === 'model')) fail('system cannot have any model assertion but the one in the system model assertion file');
  const decls = all.filter((a) => a.type === 'snap-declaration') as Assertion<SnapDeclarationData>[];
  const revs = all.filter((a) => a.type === 'snap-revision') as Assertion<SnapRevisionData>[];
  if (decls.length !== revs.length) fail(`system unexpectedly holds a different number of snap-declaration than snap-revision assertions`);
  const names = new Set<string>();
  for (const d of decls) {
    if (names.has(d.data.snapName)) fail(`cannot have multiple snap-declarations for the same snap-name: ${d.data.snapName}`);
    names.add(d.data.snapName);
  }
  const revById = new Map<string, Assertion<SnapRevisionData>>();
  for (const r of revs) {
    const cur = revById.get(r.data.snapId);
    if (cur && cur.data.snapRevision !== r.data.snapRevision) fail(`cannot have multiple snap-revisions for the same snap-id: ${r.data.snapId}`);
    revById.set(r.data.snapId, r);
  }
  const db = newDb(trusted, now);
  commit(db, [...all, model]);
  const m = model.data;
  const essential: ModelSnap[] = [...m.essentialSnaps];
  if (!essential.some((s) => s.type === 'snapd')) {
    essential.unshift({ name: 'snapd', snapId: WELL_KNOWN_SNAP_IDS['snapd']!, type: 'snapd', modes: ['run', 'ephemeral'], defaultChannel: 'latest/stable', pinnedTrack: '', presence: 'required', classic: false });
  }
  const snaps: LoadedSnap[] = [];
  for (const s of [...essential, ...m.snaps]) {
    const decl = s.snapId !== '' ? decls.find((d) => d.data.snapId === s.snapId) : decls.find((d) => d.data.snapName === s.name);
    if (!decl) {
      if (s.presence === 'optional') continue;
      fail(`cannot find snap-declaration for ${s.snapId ? `snap-id: ${s.snapId}` : `snap ${s.name}`}`);
    }
    const rev = revById.get(decl.data.snapId);
    if (!rev) fail(`cannot find snap-revision for ${decl.data.snapName}`);
    const path = join(root, 'snaps', `${decl.data.snapName}_${rev.data.snapRevision}.snap`);
    const got = await checkAsserted(db, path, decl.data.snapName);
    if (got.revision !== rev.data.snapRevision) fail(`snap ${s.name}: file is revision ${got.revision}, expected ${rev.data.snapRevision}`);
    snaps.push({ name: decl.data.snapName, path, ...got });
  }
  // Extra and unasserted snaps come from options.yaml (grade dangerous only).
  const optionsPath = join(sys, 'options.yaml');
  if (m.grade === 'dangerous' && existsSync(optionsPath)) {
    const doc = parse(await readFile(optionsPath, 'utf8')) as { snaps?: Record<string, unknown>[] };
    const seen = new Set<string>();
    for (const e of doc.snaps ?? []) {
      const name = String(e['name']);
      if (seen.has(name)) fail(`duplicated snap ${name} in options.yaml`);
      seen.add(name);
      if (e['id'] === undefined && e['channel'] === undefined && e['unasserted'] === undefined) fail(`options.yaml entry ${name} needs one of id, channel, unasserted`);
      if (e['unasserted'] !== undefined) {
        const path = join(sys, 'snaps', String(e['unasserted']));
        if (!existsSync(path)) fail(`cannot find unasserted snap file ${path}`);
        const i = snaps.findIndex((x) => x.name === name);
        if (i !== -1) snaps.splice(i, 1);
        snaps.push({ name, path, snapId: '', revision: 0 });
      } else if (!snaps.some((x) => x.name === name)) {
        const decl = decls.find((d) => d.data.snapName === name);
        const rev = decl && revById.get(decl.data.snapId);
        if (!rev) fail(`no assertions for extra snap ${name}`);
        const path = join(sys, 'snaps', `${name}_${rev.data.snapRevision}.snap`);
        snaps.push({ name, path, ...(await checkAsserted(db, path, name)) });
      }
    }
  }
  // The gadget's base must be the model's base.
  const gadget = snaps.find((x) => x.name === m.gadget?.name);
  if (gadget) {
    const r = await SquashfsReader.openFile(gadget.path);
    try {
      const y = (await readSnapMetadata(r)).snapYaml;
      if ((y.base ?? 'core') !== m.base) fail(`cannot use gadget snap because its base ${JSON.stringify(y.base)} is different from model base ${JSON.stringify(m.base)}`);
    } finally {
      await r.close();
    }
  }
  return { model, snaps, db };
}

/** Sizes of every file under a folder (test convenience). */
export async function listTree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listTree(join(dir, e.name), rel)));
    else if ((await stat(join(dir, e.name))).isFile()) out.push(rel);
  }
  return out;
}
