// `snapline image build`: a signed model and a store in, a verified seed (and
// optionally a disk image) out, as `snap prepare-image` / ubuntu-image make
// them (protocol doc 7.1). The steps:
//
//  1. decode the model and refuse what prepare-image refuses;
//  2. fetch its chain (brand account, account-keys, store assertion) and
//     verify it against the trusted set;
//  3. plan the snaps (plan.ts) and ask the store for them with one `download`
//     snap action;
//  4. download each into its final place in a temporary output folder,
//     hashing as it arrives, while the assertions of each snap (by digest:
//     snap-revision, snap-declaration, accounts, keys) are fetched;
//  5. verify everything in a trust database and cross-check each snap
//     (size, digest, revision, snap-id, name, publisher, provenance, type);
//  6. write assertions and seed.yaml / options.yaml (layout.ts), validate the
//     gadget, build the disk image if asked (disk.ts);
//  7. rename the temporary folder to --out. On any error nothing is left.
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, rmdir, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import {
  AssertionError,
  ModelType,
  SnapDeclarationType,
  SnapRevisionType,
  TrustDatabase,
  decode,
  type Assertion,
  type ModelData,
  type Ref,
  type SnapDeclarationData,
  type SnapRevisionData,
  type ValidationSetData,
} from '../assertions/index.ts';
import { GadgetYamlError, SnapError, SquashfsReader, parseGadgetYaml, readSnapMetadata, snapDigest, type GadgetYaml, type SnapYaml } from '../snap/index.ts';
import { ImageError } from './errors.ts';
import { isUC20, planSnaps, type PlannedSnap } from './plan.ts';
import { AssertionPool, fullRef, refKey } from './pool.ts';
import { checkLabel, defaultLabel, grubBootFiles, isAsserted, seedDir, seedFiles, snapPath, type SeedSnap } from './layout.ts';
import { StoreClient, type StoreSnap } from './store-client.ts';
import { DownloadPool } from './download-pool.ts';
import { checkGadgetContent, kernelSnap, missingTools, writeDiskImage, writeStructureContent, type DiskImageResult, type KernelSnap } from './disk.ts';
import { checkGadgetKernelContent } from './kernel-assets.ts';
import { layoutVolume, offsetWritesWithin, seedStructure, withImplicitSystemData } from './volumes.ts';
import { checkSeedSnaps, enforcedSetRefs, pinnedRevisions } from './validation-sets.ts';
import { lkBootFiles } from './lk-boot.ts';
import { pibootBootFiles } from './piboot-boot.ts';
import { readIfPresent } from './snap-tree.ts';
import { ubootBootFiles } from './uboot-boot.ts';

export type ProgressEvent =
  | { readonly kind: 'step'; readonly step: string }
  | { readonly kind: 'download-start'; readonly name: string; readonly revision: number; readonly size: number }
  | { readonly kind: 'download-progress'; readonly name: string; readonly bytes: number; readonly size: number }
  | { readonly kind: 'download-done'; readonly name: string; readonly revision: number; readonly size: number };

export interface BuildOptions {
  /** The signed model assertion. */
  readonly model: Buffer;
  readonly storeUrl: string;
  /** The output folder; must not exist, or be empty. */
  readonly out: string;
  /** Also write a disk image from the gadget's volumes. */
  readonly image?: string;
  /** --snap NAME=FILE. */
  readonly localSnaps?: ReadonlyMap<string, string>;
  /** --snap NAME[=CHANNEL]: optional model snaps and extra snaps from the store. */
  readonly storeSnaps?: ReadonlyMap<string, string>;
  readonly channel?: string;
  /** UC20+ system label; default: today's UTC date as YYYYMMDD. */
  readonly label?: string;
  /** The trusted accounts and account-keys (the root). */
  readonly trusted: readonly Assertion[];
  readonly now?: () => Date;
  /** An Authorization header value for the store. */
  readonly authorization?: string;
  readonly progress?: (e: ProgressEvent) => void;
  /** Parallel downloads (default 4). */
  readonly concurrency?: number;
  /** The tools a disk image needs (default DISK_TOOLS; tests name a missing one). */
  readonly diskTools?: readonly string[];
  /** Folders to look for the disk tools in before the system's own (the CLI passes PATH's). */
  readonly toolDirs?: readonly string[];
  /** The SHA3-384 of downloads: `node` (node:crypto), a native kernel name (`avx2`), or default: the native hasher's best (the CLI passes SNAPLINE_SHA3). */
  readonly sha3?: string;
}

export interface BuiltSnap {
  readonly name: string;
  readonly snapId: string;
  /** 0 for unasserted local snaps. */
  readonly revision: number;
  readonly channel: string;
  /** Path relative to --out. */
  readonly file: string;
  readonly size: number;
  readonly local: boolean;
}

export interface BuildResult {
  readonly out: string;
  /** The seed folder, relative to --out. */
  readonly seed: string;
  readonly form: 'uc16' | 'uc20';
  readonly label?: string;
  readonly brand: string;
  readonly model: string;
  readonly grade?: string;
  readonly snaps: readonly BuiltSnap[];
  readonly assertions: number;
  readonly image?: DiskImageResult;
}

/** Downloads in flight. */
const DOWNLOADS_IN_FLIGHT = 4;
const RESERVED_MODEL_HEADERS = ['core', 'os', 'class', 'allowed-modes'];
/** Model vocabulary to snap.yaml type. */
const YAML_TYPE: Record<string, string> = { kernel: 'kernel', gadget: 'gadget', base: 'base', core: 'os', snapd: 'snapd' };

function decodeModel(bytes: Buffer): Assertion<ModelData> {
  let a: Assertion;
  try {
    a = decode(bytes);
  } catch (err) {
    if (err instanceof AssertionError) throw new ImageError('image-model-invalid', `cannot decode the model assertion: ${err.message}`);
    throw err;
  }
  if (!a.is(ModelType)) throw new ImageError('image-model-invalid', `expected a model assertion, got ${JSON.stringify(a.type)}`);
  for (const h of RESERVED_MODEL_HEADERS) {
    if (a.header(h) !== undefined) throw new ImageError('image-model-invalid', `model assertion cannot have reserved header ${JSON.stringify(h)}`);
  }
  if (a.data.series !== '16') throw new ImageError('image-model-invalid', `model has series ${JSON.stringify(a.data.series)}, only "16" is supported`);
  return a;
}

/** Runs `fn` over items with at most `n` in flight; the first error stops new work and is thrown. */
async function parallel<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (failed !== undefined) throw failed;
}

/** The validation sets the model enforces, fetched (pinned sequence or newest) into the pool, where their chains are verified with the model's. */
async function fetchEnforcedSets(model: ModelData, client: StoreClient, pool: AssertionPool, step: (s: string) => void): Promise<Assertion<ValidationSetData>[]> {
  const refs = enforcedSetRefs(model);
  if (refs.length === 0) return [];
  step(`fetch: ${refs.length} enforced validation set${refs.length === 1 ? '' : 's'} of the model`);
  const out: Assertion<ValidationSetData>[] = [];
  for (const r of refs) {
    const seqKey = ['16', r.accountId, r.name];
    const a = r.sequence ? await client.assertion({ type: 'validation-set', primaryKey: [...seqKey, String(r.sequence)] }) : await client.latestInSequence('validation-set', seqKey);
    if (!a) throw new ImageError('image-validation-sets', `the model enforces validation set ${r.accountId}/${r.name}${r.sequence ? ` at sequence ${r.sequence}` : ''}, which the store does not have`);
    pool.add(a);
    out.push(a as Assertion<ValidationSetData>);
  }
  return out;
}

/** Fetches everything the pool says is missing until the chains are complete. */
async function drain(pool: AssertionPool, client: StoreClient, describe: (ref: Ref) => string): Promise<void> {
  for (;;) {
    const batch = pool.missing();
    if (batch.length === 0) return;
    await parallel(batch, 8, async ({ ref, optional }) => {
      const a = await client.assertion(ref);
      if (a) pool.add(a);
      else if (optional) pool.notFound(ref);
      else throw new ImageError('image-assertion-invalid', `the store has no ${describe(ref)}`);
    });
  }
}

async function readSnapYaml(path: string, what: string): Promise<{ yaml: SnapYaml; reader: SquashfsReader }> {
  let reader: SquashfsReader;
  try {
    reader = await SquashfsReader.openFile(path);
  } catch (err) {
    if (err instanceof SnapError) throw new ImageError('image-snap-invalid', `${what} is not a valid snap: ${err.message}`);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageError('image-snap-invalid', `${what}: no such file`);
    throw err;
  }
  try {
    const meta = await readSnapMetadata(reader);
    return { yaml: meta.snapYaml, reader };
  } catch (err) {
    await reader.close();
    if (err instanceof GadgetYamlError) throw new ImageError('image-gadget-invalid', `${what}: ${err.message}`);
    if (err instanceof SnapError) throw new ImageError('image-snap-invalid', `${what}: ${err.message}`);
    throw err;
  }
}

interface Work {
  plan: PlannedSnap;
  store?: StoreSnap;
  /** base64url digest, once known. */
  digest?: string;
  size: number;
  yaml?: SnapYaml;
  path?: string;
  seed?: SeedSnap;
}

export async function buildImage(opts: BuildOptions): Promise<BuildResult> {
  const now = opts.now ?? (() => new Date());
  const modelA = decodeModel(opts.model);
  const uc20 = isUC20(modelA.data);
  const label = uc20 ? (opts.label ?? defaultLabel(now())) : undefined;
  if (label !== undefined) checkLabel(label);
  const plan = planSnaps(modelA.data, { channel: opts.channel, localSnaps: opts.localSnaps, storeSnaps: opts.storeSnaps });
  if (opts.trusted.length === 0) throw new ImageError('image-model-untrusted', 'no trusted assertions: give --trusted FILE (the root account and account-key)');
  const fromStore = plan.filter((p) => p.localFile === undefined).length;
  const downloads = fromStore > 0 ? new DownloadPool(opts.sha3 !== undefined ? { sha3: opts.sha3 } : {}) : undefined;
  return await buildPlanned(opts, { now, modelA, uc20, label, plan, downloads });
}

interface Planned {
  readonly now: () => Date;
  readonly modelA: Assertion<ModelData>;
  readonly uc20: boolean;
  readonly label: string | undefined;
  readonly plan: readonly PlannedSnap[];
  readonly downloads: DownloadPool | undefined;
}

async function buildPlanned(opts: BuildOptions, { now, modelA, uc20, label, plan, downloads }: Planned): Promise<BuildResult> {
  const step = (s: string) => opts.progress?.({ kind: 'step', step: s });
  const model = modelA.data;

  const out = resolve(opts.out);
  const outStat = await stat(out).catch(() => undefined);
  if (outStat && (!outStat.isDirectory() || (await readdir(out)).length > 0)) {
    throw new ImageError('image-output', `${opts.out} already exists and is not an empty folder`);
  }
  if (opts.image !== undefined) {
    const missing = await missingTools(opts.diskTools, opts.toolDirs);
    if (missing.length > 0) throw new ImageError('image-tools-missing', `building a disk image needs ${missing.join(', ')}: install them (Debian: fdisk, dosfstools, e2fsprogs, mtools) or leave out --image`);
  }

  let db: TrustDatabase;
  try {
    db = new TrustDatabase({ trusted: opts.trusted, now });
  } catch (err) {
    if (err instanceof AssertionError) throw new ImageError('image-model-untrusted', `trusted set: ${err.message}`);
    throw err;
  }
  const client = new StoreClient({ baseUrl: opts.storeUrl, storeId: model.store, architecture: model.architecture, authorization: opts.authorization });
  const pool = new AssertionPool((ref) => db.findTrusted(ref.type, ref.primaryKey) !== undefined);

  // The model's enforced validation sets first (snapd 2.60+): they pin revisions the snap action asks for.
  const sets = await fetchEnforcedSets(model, client, pool, step);

  // 3 (asked now, used below). The snap action does not depend on the chain: both go over the network together.
  const work: Work[] = plan.map((p) => ({ plan: p, size: 0 }));
  const fromStore = work.filter((w) => w.plan.localFile === undefined);
  const pins = pinnedRevisions(sets, work.map((w) => ({ name: w.plan.name, snapId: w.plan.snapId })));
  const actions = fromStore.map((w) => {
    const pin = pins.get(w.plan.name);
    return pin ? { name: w.plan.name, revision: pin.revision, validationSets: pin.sets } : { name: w.plan.name, channel: w.plan.channel || undefined };
  });
  const answer = fromStore.length > 0 ? client.download(actions) : Promise.resolve([]);
  answer.catch(() => undefined);

  // 2. The model's chain.
  step('verify: the model and its signing chain');
  const descriptions = new Map<string, string>();
  const describe = (ref: Ref) => {
    const r = fullRef(ref);
    return descriptions.get(refKey(r.type, r.primaryKey)) ?? `${r.type} assertion ${r.primaryKey.join('/')}`;
  };
  const modelKeyRef = { type: 'account-key', primaryKey: [modelA.signKeyId] };
  descriptions.set(refKey('account-key', [modelA.signKeyId]), `account-key ${modelA.signKeyId} that signed the model (is the model signed by a registered brand key?)`);
  pool.want(modelKeyRef);
  pool.want({ type: 'account', primaryKey: [model.brandId] });
  const storeRef = { type: 'store', primaryKey: [model.store] };
  if (model.store !== '') pool.want(storeRef, { optional: true });
  try {
    await drain(pool, client, describe);
  } catch (err) {
    if (err instanceof ImageError && err.code === 'image-assertion-invalid') throw new ImageError('image-model-untrusted', `cannot verify the model: ${err.message}`);
    throw err;
  }
  try {
    db.addBatch(pool.all());
    db.add(modelA);
  } catch (err) {
    if (err instanceof AssertionError) throw new ImageError('image-model-untrusted', `cannot verify the model ${model.brandId}/${model.model}: ${err.message}`);
    throw err;
  }
  const storeKnown = model.store === '' || pool.get(storeRef) !== undefined;
  const modelChainKeys = new Set<string>();
  // The enforced sets travel with the model (and their signers' chains).
  const setRefs = sets.map((a) => ({ type: 'validation-set', primaryKey: [...a.primaryKey] }));
  const modelEtc = pool.closure([modelKeyRef, { type: 'account', primaryKey: [model.brandId] }, ...(model.store !== '' ? [storeRef] : []), ...setRefs], modelChainKeys);

  // 3. Ask the store for every non-local snap.
  step('fetch: resolving the snaps in the store');
  const outcomes = await answer;
  const failures: string[] = [];
  outcomes.forEach((o, i) => {
    const w = fromStore[i]!;
    if (!o.ok) {
      if (w.plan.presence === 'optional' && (o.code === 'name-not-found' || o.code === 'revision-not-found')) return;
      const pin = pins.get(w.plan.name);
      failures.push(pin ? `${w.plan.name} revision ${pin.revision}, pinned by the enforced validation set ${pin.sets.map((k) => k.slice(1).join('/')).join(', ')}: ${o.message}` : `${w.plan.name} (${w.plan.channel || 'default channel'}): ${o.message}`);
      return;
    }
    if (o.snap.name !== w.plan.name) failures.push(`${w.plan.name}: the store answered with snap ${JSON.stringify(o.snap.name)}`);
    if (w.plan.snapId !== '' && o.snap.snapId !== w.plan.snapId) failures.push(`${w.plan.name}: the store's snap-id ${o.snap.snapId} is not the model's ${w.plan.snapId}`);
    w.store = o.snap;
    w.size = o.snap.size;
    w.digest = Buffer.from(o.snap.sha3_384, 'hex').toString('base64url');
  });
  if (failures.length > 0) {
    // Nothing at all, and no store assertion: the server does not serve the model's store.
    if (!storeKnown && failures.length === fromStore.length) {
      throw new ImageError('image-store-mismatch', `the model names store ${JSON.stringify(model.store)}, which the store at ${opts.storeUrl} does not know: ${failures.join('; ')}`);
    }
    throw new ImageError('image-snap-not-found', `cannot get snaps from the store: ${failures.join('; ')}`);
  }
  const active = work.filter((w) => w.store !== undefined || w.plan.localFile !== undefined);

  const parent = dirname(out);
  await mkdir(parent, { recursive: true });
  const tmp = await mkdtemp(join(parent, `.${basename(out)}.tmp-`));
  const imageTmps: string[] = [];
  const readers: SquashfsReader[] = [];
  const yamlReads: Promise<void>[] = [];
  try {
    // 4. Local snaps: digest and metadata; downloads and assertions in parallel.
    for (const w of active.filter((x) => x.plan.localFile !== undefined)) {
      const file = w.plan.localFile!;
      const { yaml, reader } = await readSnapYaml(file, `--snap ${w.plan.name}=${file}`);
      await reader.close();
      if (yaml.name !== w.plan.name) throw new ImageError('image-snap-invalid', `--snap ${w.plan.name}=${file}: the file holds snap ${JSON.stringify(yaml.name)}`);
      w.yaml = yaml;
      const d = await snapDigest(file);
      w.digest = d.sha3_384Base64url;
      w.size = d.size;
      pool.want({ type: 'snap-revision', primaryKey: [w.digest] }, { optional: true });
    }
    for (const w of active) {
      if (w.store) {
        const ref = { type: 'snap-revision', primaryKey: [w.digest!] };
        descriptions.set(refKey('snap-revision', fullRef(ref).primaryKey), `snap-revision assertion for ${w.plan.name} revision ${w.store.revision} (digest ${w.digest})`);
        pool.want(ref);
      }
    }
    step('fetch: downloading snaps and assertions');
    // The assertions usually arrive long before the snaps: verified as soon as they are here.
    const assertionsDone = drain(pool, client, describe).then(() => {
      try {
        db.addBatch(pool.all());
      } catch (err) {
        if (err instanceof AssertionError) throw new ImageError('image-assertion-invalid', `the store's assertions do not verify: ${err.message}`);
        throw err;
      }
    });
    assertionsDone.catch(() => undefined);
    const fromStoreWork = active.filter((w) => w.store !== undefined);
    for (const w of fromStoreWork) {
      const s = w.store!;
      w.seed = {
        plan: w.plan,
        snapId: s.snapId,
        revision: s.revision,
        version: s.version,
        devmode: s.confinement === 'devmode',
        classic: s.confinement === 'classic',
        contact: s.contact,
        private: s.private,
      };
      w.path = snapPath(uc20, label ?? '', w.seed);
    }
    // Folders first: no file-system wait between one download and the next.
    for (const d of new Set(fromStoreWork.map((w) => dirname(join(tmp, w.path!))))) await mkdir(d, { recursive: true });
    await parallel(fromStoreWork, opts.concurrency ?? DOWNLOADS_IN_FLIGHT, async (w) => {
      const s = w.store!;
      const dest = join(tmp, w.path!);
      opts.progress?.({ kind: 'download-start', name: s.name, revision: s.revision, size: s.size });
      await client.fetchSnap(s, dest, downloads!, (bytes) => opts.progress?.({ kind: 'download-progress', name: s.name, bytes, size: s.size }));
      opts.progress?.({ kind: 'download-done', name: s.name, revision: s.revision, size: s.size });
      // Its snap.yaml now, while other downloads run (checked against the assertions below), without holding a download slot.
      const read = readSnapYaml(dest, `${w.plan.name} from the store`).then(({ yaml, reader }) => {
        readers.push(reader);
        w.yaml = yaml;
      });
      read.catch(() => undefined);
      yamlReads.push(read);
    });
    await Promise.all(yamlReads);
    await assertionsDone;

    // 5. Each snap against its (verified) assertions.
    step('verify: snaps against their snap-revisions and declarations');
    for (const w of active) {
      const rev = pool.get({ type: 'snap-revision', primaryKey: [w.digest!] }) as Assertion<SnapRevisionData> | undefined;
      if (!rev) {
        // A local file the store does not know: unasserted.
        const seed: SeedSnap = { plan: w.plan, snapId: '', revision: 0, version: w.yaml!.version, devmode: w.yaml!.confinement === 'devmode', classic: w.yaml!.confinement === 'classic' };
        w.seed = seed;
        w.path = snapPath(uc20, label ?? '', seed);
      } else {
        const r = rev.data;
        if (r.snapSize !== w.size) throw new ImageError('image-digest-mismatch', `${w.plan.name}: size ${w.size} does not match the snap-revision's ${r.snapSize}`);
        if (w.store && (r.snapRevision !== w.store.revision || r.snapId !== w.store.snapId)) {
          throw new ImageError('image-assertion-invalid', `${w.plan.name}: the store says revision ${w.store.revision} of ${w.store.snapId}, its snap-revision says revision ${r.snapRevision} of ${r.snapId}`);
        }
        const decl = db.find('snap-declaration', ['16', r.snapId]) as Assertion<SnapDeclarationData> | undefined;
        if (!decl || !decl.is(SnapDeclarationType)) throw new ImageError('image-assertion-invalid', `${w.plan.name}: no snap-declaration for ${r.snapId}`);
        if (decl.data.snapName === '') throw new ImageError('image-assertion-invalid', `${w.plan.name}: the snap-declaration of ${r.snapId} is revoked`);
        if (decl.data.snapName !== w.plan.name) throw new ImageError('image-assertion-invalid', `${w.plan.name}: snap-id ${r.snapId} is declared as ${JSON.stringify(decl.data.snapName)}`);
        if (w.plan.snapId !== '' && w.plan.snapId !== r.snapId) throw new ImageError('image-assertion-invalid', `${w.plan.name}: snap-id ${r.snapId} is not the model's ${w.plan.snapId}`);
        if ((w.plan.modelType === 'gadget' || w.plan.modelType === 'kernel') && decl.data.publisherId !== model.brandId && decl.data.publisherId !== 'canonical') {
          throw new ImageError('image-assertion-invalid', `cannot use ${w.plan.modelType} ${JSON.stringify(w.plan.name)} published by ${JSON.stringify(decl.data.publisherId)} for model by ${JSON.stringify(model.brandId)}`);
        }
        if (!rev.is(SnapRevisionType)) throw new ImageError('image-assertion-invalid', `${w.plan.name}: bad snap-revision`);
        if (!w.store) {
          // An asserted local file.
          const seed: SeedSnap = { plan: w.plan, snapId: r.snapId, revision: r.snapRevision, version: w.yaml!.version, devmode: w.yaml!.confinement === 'devmode', classic: w.yaml!.confinement === 'classic' };
          w.seed = seed;
          w.path = snapPath(uc20, label ?? '', seed);
        }
      }
      if (w.plan.localFile !== undefined) {
        const dest = join(tmp, w.path!);
        await mkdir(dirname(dest), { recursive: true });
        await copyFile(w.plan.localFile, dest);
      }
      if (!w.yaml) {
        const { yaml, reader } = await readSnapYaml(join(tmp, w.path!), `${w.plan.name} from the store`);
        readers.push(reader);
        w.yaml = yaml;
      }
      const y = w.yaml;
      if (y.name !== w.plan.name) throw new ImageError('image-snap-invalid', `${w.plan.name}: the snap file is named ${JSON.stringify(y.name)} in its snap.yaml`);
      if (rev && (y.provenance ?? 'global-upload') !== (rev.data as SnapRevisionData).provenance) {
        throw new ImageError('image-snap-invalid', `${w.plan.name}: snap.yaml provenance ${JSON.stringify(y.provenance ?? 'global-upload')} does not match the snap-revision's`);
      }
      const want = YAML_TYPE[w.plan.modelType];
      if (want && y.type !== want) throw new ImageError('image-snap-invalid', `${w.plan.name}: the model wants a snap of type ${w.plan.modelType}, the snap is of type ${y.type}`);
    }
    const seedSnaps = active.map((w) => w.seed!);
    checkSeedSnaps(sets, seedSnaps.map((x) => ({ name: x.plan.name, snapId: x.snapId, revision: x.revision })));
    const names = new Set(active.map((w) => w.plan.name));
    for (const w of active) {
      // No base means the `core` snap (snapd's rule for apps and gadgets).
      const b = w.yaml!.base ?? 'core';
      if ((w.yaml!.type === 'app' || w.yaml!.type === 'gadget') && b !== 'none' && !names.has(b)) {
        throw new ImageError('image-snap-invalid', `cannot add snap ${JSON.stringify(w.plan.name)} without also adding its base ${JSON.stringify(b)}`);
      }
    }

    // The gadget: gadget.yaml valid for this model; on UC20 its base is the model's.
    const gadgetW = active.find((w) => w.yaml!.type === 'gadget');
    let gadget: GadgetYaml | undefined;
    let gadgetReader: SquashfsReader | undefined;
    if (gadgetW) {
      gadgetReader = await SquashfsReader.openFile(join(tmp, gadgetW.path!));
      readers.push(gadgetReader);
      try {
        gadget = parseGadgetYaml(await gadgetReader.readFile('meta/gadget.yaml'), { model: uc20 ? 'uc20' : 'uc16' });
      } catch (err) {
        if (err instanceof GadgetYamlError || err instanceof SnapError) throw new ImageError('image-gadget-invalid', `gadget ${gadgetW.plan.name}: ${err.message}`);
        throw err;
      }
      await checkGadgetContent(gadget, gadgetReader);
      // The disk layout too, before anything is written: overlaps, MBR limits, offset-writes; a UC16/18 gadget
      // without system-data with its implicit writable partition at its smallest (the disk is at least that big).
      if (opts.image !== undefined) {
        for (const v of Object.values((uc20 ? gadget : withImplicitSystemData(gadget, 0)).volumes)) offsetWritesWithin(v, layoutVolume(v).size);
      }
      if (uc20 && (gadgetW.yaml!.base ?? 'core') !== model.base) {
        throw new ImageError('image-gadget-invalid', `cannot use gadget snap because its base ${JSON.stringify(gadgetW.yaml!.base ?? 'core')} is different from model base ${JSON.stringify(model.base)}`);
      }
    }
    // The kernel's assets (meta/kernel.yaml) against the gadget's `$kernel:` content, as prepare-image checks them.
    const kernelW = active.find((w) => w.yaml!.type === 'kernel');
    let kernel: KernelSnap | undefined;
    if (gadget && kernelW) {
      const reader = await SquashfsReader.openFile(join(tmp, kernelW.path!));
      readers.push(reader);
      kernel = await kernelSnap(kernelW.plan.name, reader);
      checkGadgetKernelContent(gadget, kernel.assets, kernelW.plan.name);
    }

    // 6. The seed's other files.
    step('seed: writing the seed');
    const modelSnapRefs = active.filter((w) => w.plan.inModel && isAsserted(w.seed!)).map((w) => ({ type: 'snap-revision', primaryKey: [w.digest!] }));
    const extraRefs = active.filter((w) => !w.plan.inModel && isAsserted(w.seed!)).map((w) => ({ type: 'snap-revision', primaryKey: [w.digest!] }));
    const written = new Set(modelChainKeys);
    // Per snap: its declaration first, then its revision, then what they need.
    const snapsAssertions = uc20 ? perSnap(pool, modelSnapRefs, written) : pool.closure(modelSnapRefs, written);
    const extraAssertions = uc20 ? perSnap(pool, extraRefs, written) : pool.closure(extraRefs, written);
    const files = seedFiles(uc20, label ?? '', seedSnaps, { model: modelA, modelEtc, snaps: snapsAssertions, extraSnaps: extraAssertions }, model.grade);
    const baseW = active.find((w) => w.yaml!.type === 'base' || w.yaml!.type === 'os');
    if (gadget && kernelW && baseW && Object.values(gadget.volumes).some((v) => v.bootloader === 'grub')) {
      files.push(...grubBootFiles(uc20, label ?? '', kernelW.seed!, baseW.seed!, model.model));
      // UC16/18: the gadget's grub.conf becomes the image's grub.cfg.
      if (!uc20 && gadgetReader) {
        const conf = await gadgetReader.readFile('grub.conf').catch(() => undefined);
        if (conf) files.push({ path: 'image/boot/grub/grub.cfg', data: conf });
      }
    }
    if (gadget && gadgetReader && kernelW && kernel && (uc20 || baseW) && Object.values(gadget.volumes).some((v) => v.bootloader === 'u-boot')) {
      const gadgetConf = await gadgetReader.readFile('uboot.conf').catch(() => undefined);
      files.push(
        ...(await ubootBootFiles(
          { uc20, label: label ?? '', gadgetConf, kernel: { name: kernelW.plan.name, file: basename(kernelW.path!), reader: kernel.reader }, ...(baseW ? { baseFile: basename(baseW.path!) } : {}), menuEntry: model.model },
          seedDir(uc20),
        )),
      );
    }
    if (gadget && gadgetReader && kernelW && kernel && (uc20 || baseW) && Object.values(gadget.volumes).some((v) => v.bootloader === 'lk')) {
      const gadgetConf = await readIfPresent(gadgetReader, 'lk.conf');
      files.push(...(await lkBootFiles({ uc20, label: label ?? '', gadgetConf, kernel: { name: kernelW.plan.name, file: basename(kernelW.path!), reader: kernel.reader }, ...(baseW ? { baseFile: basename(baseW.path!) } : {}) }, seedDir(uc20))));
    }
    // UC20+: the seed structure's gadget content is part of the seed partition (prepare-image pre-writes it).
    if (uc20 && gadget && gadgetReader) {
      await writeStructureContent(gadgetReader, seedStructure(gadget, true).structure, join(tmp, seedDir(true)), { skipKernelAssets: true });
    }
    if (gadget && kernelW && kernel && Object.values(gadget.volumes).some((v) => v.bootloader === 'piboot')) {
      // piboot rewrites the seed's config.txt and reads its cmdline.txt: the gadget's, written just above.
      if (!uc20) throw new ImageError('image-gadget-invalid', 'a piboot gadget boots core 20 and later only (snapd sets piboot up for recovery systems)');
      const seedFile = (name: string) => readFile(join(tmp, seedDir(true), name)).catch(() => undefined);
      files.push(...(await pibootBootFiles({ label: label ?? '', configTxt: await seedFile('config.txt'), cmdlineTxt: await seedFile('cmdline.txt'), kernel: { name: kernelW.plan.name, reader: kernel.reader } }, seedDir(true))));
    }
    for (const f of files) {
      const p = join(tmp, f.path);
      if (f.directory) {
        await mkdir(p, { recursive: true });
        continue;
      }
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, f.data);
    }
    // Downloaded snaps are owner-only, as snapd's downloads are (0600); local files keep their mode.
    for (const w of active) if (w.plan.localFile === undefined) await chmod(join(tmp, w.path!), 0o600);
    // UC16/18: the boot base and kernel are "installed" from the seed (snapd's makeBootable16):
    // relative links in var/lib/snapd/snaps, which the first boot mounts.
    if (!uc20 && kernelW && baseW) {
      const blobs = join(tmp, 'image/var/lib/snapd/snaps');
      await mkdir(blobs, { recursive: true });
      for (const w of [baseW, kernelW]) await symlink(`../seed/snaps/${basename(w.path!)}`, join(blobs, basename(w.path!)));
    }

    let image: DiskImageResult | undefined;
    if (opts.image !== undefined && gadget && gadgetReader) {
      step('partitions: writing the disk image');
      const dest = resolve(opts.image);
      // Other volumes of the gadget go beside it: FILE.img -> FILE.<volume>.img.
      const otherName = (p: string, v: string) => `${p.endsWith('.img') ? p.slice(0, -4) : p}.${v}.img`;
      const inside = relative(out, dest);
      const base = { gadget, gadgetReader, seedRoot: join(tmp, seedDir(uc20)), ...(uc20 ? {} : { imageRoot: join(tmp, 'image') }), uc20, step, ...(kernel ? { kernel } : {}), ...(opts.toolDirs ? { toolDirs: opts.toolDirs } : {}) };
      if (inside !== '' && !inside.startsWith('..') && !isAbsolute(inside)) {
        // Inside --out: written in the temporary folder, published with it.
        const at = join(tmp, inside);
        await mkdir(dirname(at), { recursive: true });
        const r = await writeDiskImage({ ...base, dest: at, otherVolumeDest: (v) => otherName(at, v) });
        image = { ...r, path: dest, ...(r.otherVolumes ? { otherVolumes: r.otherVolumes.map((o) => ({ ...o, path: otherName(dest, o.volume) })) } : {}) };
      } else {
        await mkdir(dirname(dest), { recursive: true });
        const suffix = `.partial-${basename(tmp).slice(-6)}`;
        imageTmps.push(`${dest}${suffix}`);
        for (const v of Object.keys(gadget.volumes)) imageTmps.push(`${otherName(dest, v)}${suffix}`);
        const r = await writeDiskImage({ ...base, dest: `${dest}${suffix}`, otherVolumeDest: (v) => `${otherName(dest, v)}${suffix}` });
        const others = (r.otherVolumes ?? []).map((o) => ({ ...o, path: otherName(dest, o.volume) }));
        for (const o of others) {
          await rename(`${o.path}${suffix}`, o.path);
          imageTmps.push(o.path);
        }
        await rename(`${dest}${suffix}`, dest);
        imageTmps.push(dest);
        image = { ...r, path: dest, ...(others.length > 0 ? { otherVolumes: others } : {}) };
      }
    } else if (opts.image !== undefined) {
      throw new ImageError('image-gadget-invalid', 'cannot build a disk image: the model has no gadget');
    }

    // 7. Publish.
    for (const r of readers.splice(0)) await r.close();
    if (outStat) await rmdir(out);
    await rename(tmp, out);
    step('done');
    return {
      out,
      seed: seedDir(uc20),
      form: uc20 ? 'uc20' : 'uc16',
      ...(label !== undefined ? { label } : {}),
      brand: model.brandId,
      model: model.model,
      ...(model.grade ? { grade: model.grade } : {}),
      snaps: active.map((w) => ({
        name: w.plan.name,
        snapId: w.seed!.snapId,
        revision: w.seed!.revision,
        channel: isAsserted(w.seed!) ? w.plan.channel || w.store?.effectiveChannel || '' : '',
        file: w.path!,
        size: w.size,
        local: w.plan.localFile !== undefined,
      })),
      assertions: 1 + modelEtc.length + snapsAssertions.length + extraAssertions.length,
      ...(image ? { image } : {}),
    };
  } catch (err) {
    await Promise.allSettled(yamlReads);
    for (const r of readers) await r.close().catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    for (const f of imageTmps) await rm(f, { force: true });
    throw err;
  }
}

/** UC20 `snaps` stream order: for each snap its declaration, its revision, then accounts and keys not yet written. */
function perSnap(pool: AssertionPool, revisionRefs: readonly Ref[], written: Set<string>): Assertion[] {
  const out: Assertion[] = [];
  for (const ref of revisionRefs) {
    const rev = pool.get(ref) as Assertion<SnapRevisionData> | undefined;
    if (!rev) continue;
    const declRef = { type: 'snap-declaration', primaryKey: ['16', rev.data.snapId] };
    const main = [...pool.closure([declRef], new Set(written))].filter((a) => a.type === 'snap-declaration');
    for (const a of main) written.add(refKey(a.type, a.primaryKey));
    const own = pool.closure([ref], new Set(written)).filter((a) => a.type === 'snap-revision');
    for (const a of own) written.add(refKey(a.type, a.primaryKey));
    out.push(...main, ...own, ...pool.closure([declRef, ref], written));
  }
  return out;
}
