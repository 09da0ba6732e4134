// `snapline demo`: the advanced production model end to end, on the embedded
// defaults, in one process (docs/demo.md). A server on the data folder; the
// brand acme, its key, its store and the operator's store; the serial vault
// with a factory API key; the seed example's snaps packed and published
// privately; the model signed; the image built; N devices booting from it
// "in the factory" (prepare-device, serial from the vault, store session,
// install); then a new acme-dashboard revision released and taken by every
// device. Every step goes through the HTTP API with the administrator's
// token, like the CLI and the console; every step prints what it made. The
// data folder stays for `snapline serve --data DIR` to browse.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAccountKeyRequest, encodeStream, formatTimestamp, ModelType, PrivateKey, sign, type Assertion, type ModelData } from '../assertions/index.ts';
import { buildImage } from '../image/build.ts';
import { DISK_TOOLS, missingTools } from '../image/disk.ts';
import { extractSeedFromDisk } from '../image/seed-from-disk.ts';
import { runFleet, type FleetResult } from '../fleet/run.ts';
import { progressLine } from '../fleet/stats.ts';
import { Keyring } from '../keys/keyring.ts';
import type { Config } from '../platform/config.ts';
import { startServer, type RunningServer } from '../platform/server.ts';
import type { Service } from '../platform/services.ts';
import { packSnap } from '../snap/index.ts';
import { apiClient, type ApiClient } from './api.ts';
import { DemoError } from './errors.ts';
import { dashboard, demoSnaps, writeSnapSource, type DemoSnap } from './snaps.ts';

export const BRAND = 'acme';
export const MODEL = 'acme-device-1';
const BRAND_STORE = 'acme-store';
const OPERATOR_STORE = 'operator-store';
const LABEL = 'demo';

export interface DemoOptions {
  /** The server's configuration: its data folder must be new or empty. */
  config: Config;
  env: NodeJS.ProcessEnv;
  services: readonly Service[];
  devices: number;
  /** One device key per device (the CLI keeps them in a file between runs); a promise lets slow key generation overlap the other steps. */
  deviceKeys: readonly PrivateKey[] | Promise<readonly PrivateKey[]>;
  /** The brand key (RSA-4096 by default; tests pass a smaller one). */
  brandKey?: PrivateKey;
  /** Folders to look for the disk tools in; without them the devices boot from the seed folder. */
  toolDirs?: readonly string[];
  /** Runs the gadget's hook's snapctl stand-in, and the PATH the hook sees. */
  nodePath: string;
  path: string;
  /** Where the server's log goes (the CLI: stderr, so stdout holds only the steps). */
  logStream?: NodeJS.WritableStream;
}

export interface DemoOutput {
  /** A step's title, then what it made, one line each. */
  step(title: string, lines: readonly string[]): void;
  /** Progress lines of long steps. */
  progress(line: string): void;
}

export interface DemoResult {
  url: string;
  work: string;
  fleet: FleetResult;
  /** The acme-dashboard revisions released: the first and the refresh. */
  dashboard: { first: number; second: number };
}

/** The device keys file's default place: in the data folder, the one thing a fresh data folder may already hold. */
export const KEYS_FILE = join('demo', 'device-keys.jsonl');

/** Refuses a data folder holding anything but the demo's device keys: the demo makes a root authority there. */
export async function ensureFreshDataDir(dir: string): Promise<void> {
  const list = (d: string) =>
    readdir(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
  const names = await list(dir);
  const onlyKeys = names.length === 1 && names[0] === 'demo' && (await list(join(dir, 'demo'))).every((n) => n === 'device-keys.jsonl');
  if (names.length > 0 && !onlyKeys) {
    throw new DemoError('demo-data-not-empty', `${dir} is not empty: the demo creates a root authority, a brand and its store; give a new folder with --data (or browse this one with \`snapline serve --data ${dir}\`)`);
  }
}

interface Published {
  snapId: string;
  revision: number;
}

async function publish(api: ApiClient, work: string, snap: DemoSnap, version: string, register: boolean): Promise<Published & { file: string }> {
  const src = join(work, 'snaps', 'src', `${snap.name}_${version}`);
  await writeSnapSource(src, snap);
  const file = join(work, 'snaps', `${snap.name}_${version}.snap`);
  await packSnap(src, { output: file });
  let snapId = '';
  if (register) {
    const store = snap.store === 'operator' ? OPERATOR_STORE : BRAND_STORE;
    snapId = (await api.json<{ snap: { snapId: string } }>('POST', `/api/store/stores/${store}/snaps`, { name: snap.name, private: snap.store === 'brand' })).snap.snapId;
  }
  const pushed = await api.upload<{ revision: { revision: number; snapId?: string } }>(`/api/store/snaps/${snap.name}/revisions?release=${encodeURIComponent('latest/stable')}`, await readFile(file));
  return { snapId: snapId || (pushed.revision.snapId ?? ''), revision: pushed.revision.revision, file };
}

function signModel(key: PrivateKey, snaps: readonly (DemoSnap & Published)[], now: Date): Assertion<ModelData> {
  return sign(
    ModelType,
    {
      headers: {
        'authority-id': BRAND,
        'brand-id': BRAND,
        series: '16',
        model: MODEL,
        architecture: 'amd64',
        base: 'core22',
        grade: 'signed',
        store: BRAND_STORE,
        snaps: snaps.map((s) => ({ name: s.name, id: s.snapId, type: s.modelType, 'default-channel': 'latest/stable' })),
        timestamp: formatTimestamp(new Date(now.getTime() - 60_000)),
      },
    },
    key,
    now,
  ) as Assertion<ModelData>;
}

/** Runs the demo; the server stops before it returns (the data folder stays). */
export async function runDemo(o: DemoOptions, out: DemoOutput): Promise<DemoResult> {
  const dataDir = o.config.dataDir;
  await ensureFreshDataDir(dataDir);
  const server: RunningServer = await startServer({ config: o.config, env: o.env, services: o.services, ...(o.logStream ? { logStream: o.logStream } : {}) });
  try {
    return await scenario(o, out, server);
  } finally {
    await server.close();
  }
}

async function scenario(o: DemoOptions, out: DemoOutput, server: RunningServer): Promise<DemoResult> {
  const url = server.url!.replace(/\/$/, '');
  const work = join(o.config.dataDir, 'demo');
  await mkdir(work, { recursive: true, mode: 0o700 });
  if (!server.admin?.token) throw new DemoError('demo-step-failed', 'the server did not create its administrator token (is SNAPLINE_ADMIN_TOKEN set? the demo needs a first start of its own)');
  const api = apiClient(url, server.admin.token);
  const rootId = server.ctx.root.rootId;
  const trusted = [...server.ctx.root.trusted];
  const trustedFile = join(work, 'trusted.assert');
  await writeFile(trustedFile, encodeStream(trusted));
  out.step('Server', [
    `listening on ${url} (store, serial vault${o.services.length > 2 ? ', console' : ''}), data in ${o.config.dataDir}, database ${o.config.db.startsWith('sqlite:') ? 'SQLite' : 'PostgreSQL'}`,
    `root authority ${rootId}: trusted root written to ${trustedFile}`,
    `administrator credentials: ${server.adminCredentialsFile}`,
  ]);

  // The brand, its model-signing key (kept in a keyring in the work folder) and its stores.
  await api.json('POST', '/api/accounts', { accountId: BRAND });
  const brandKey = o.brandKey ?? (await PrivateKey.generateAsync(4096));
  const keyring = new Keyring(join(work, 'keyring'));
  const passphrase = randomBytes(18).toString('base64url');
  await keyring.add('acme-models', brandKey, passphrase);
  await writeFile(join(work, 'keyring.passphrase'), passphrase + '\n', { mode: 0o600 });
  const since = new Date(Date.now() - 3600_000);
  await api.json('POST', `/api/accounts/${BRAND}/account-keys`, { accountKeyRequest: createAccountKeyRequest({ key: brandKey, accountId: BRAND, name: 'acme-models', since }).toString() });
  await api.json('POST', '/api/store/stores', { storeId: OPERATOR_STORE, brand: rootId });
  await api.json('POST', '/api/store/stores', { storeId: BRAND_STORE, brand: BRAND, includes: [OPERATOR_STORE] });
  out.step('Brand', [
    `account ${BRAND}, brand key acme-models ${brandKey.id} (RSA-${brandKey.publicKey.bits}) registered`,
    `  keyring ${join(work, 'keyring')}, passphrase in ${join(work, 'keyring.passphrase')} (SNAPLINE_KEYRING and SNAPLINE_PASSPHRASE for \`snapline sign\`)`,
    `store ${OPERATOR_STORE} (the operator's base snaps) and ${BRAND_STORE} (brand ${BRAND}, includes ${OPERATOR_STORE}; private snaps need a device of the brand or a store-download credential)`,
  ]);

  // The serial vault: a key it holds for serials, the model it signs for, a factory API key.
  const vaultKey = await api.json<{ key: { keyId: string } }>('POST', `/api/vault/brands/${BRAND}/keys`, { name: 'serials' });
  await api.json('POST', `/api/vault/brands/${BRAND}/models`, { model: MODEL, key: 'serials' });
  const apiKey = await api.json<{ secret: string; apiKey?: { id: number } }>('POST', `/api/vault/brands/${BRAND}/api-keys`, { name: 'factory-line-1' });
  const vaultUrl = `${url}/v1/`;
  out.step('Serial vault', [
    `signing key serials ${vaultKey.key?.keyId ?? ''} generated and registered in the server's custody`,
    `model ${MODEL} signed for with key serials; device service ${vaultUrl}`,
    `factory API key factory-line-1 (its secret is in the gadget's prepare-device hook; the vault keeps only a hash)`,
  ]);

  // The snaps of the seed example, packed here and published to stable.
  const published: (DemoSnap & Published)[] = [];
  const lines: string[] = [];
  for (const snap of demoSnaps(vaultUrl, apiKey.secret)) {
    const p = await publish(api, work, snap, '1.0', true);
    published.push({ ...snap, ...p });
    lines.push(`${snap.name.padEnd(19)} ${p.snapId}  revision ${p.revision}  ${snap.store === 'brand' ? `${BRAND_STORE}, private` : OPERATOR_STORE}  ${p.file}`);
  }
  out.step('Snaps (packed and released to latest/stable; snapd, core22 and acme-kernel are local stand-ins)', lines);

  const model = signModel(brandKey, published, new Date());
  const modelFile = join(work, `${MODEL}.model`);
  await writeFile(modelFile, model.encode());
  out.step('Model', [`${BRAND}/${MODEL} (core22, grade signed, store ${BRAND_STORE}) signed with acme-models: ${modelFile}`]);

  // The image, with a store-download credential (the brand's snaps are private): the
  // administrator takes that role on acme and makes a token with only that role.
  await api.json('PUT', `/api/accounts/${BRAND}/members/admin`, { roles: ['store-download'] });
  const download = await api.json<{ token: string }>('POST', '/api/tokens', { name: 'demo image build', accountId: BRAND, roles: ['store-download'] });
  const missing = await missingTools(DISK_TOOLS, o.toolDirs ?? []);
  const imageDir = join(work, 'image');
  const diskImage = missing.length === 0 ? join(work, `${MODEL}.img`) : undefined;
  const built = await buildImage({ model: model.encode(), storeUrl: url, out: imageDir, trusted, label: LABEL, authorization: `Macaroon ${download.token}`, ...(diskImage ? { image: diskImage, toolDirs: o.toolDirs ?? [] } : {}) });
  let seed = imageDir;
  const imageLines = [`built with a store-download token of ${BRAND} (the administrator holds that role on ${BRAND})`, `seed ${join(imageDir, built.seed)} (system ${built.label}, ${built.snaps.length} snaps, ${built.assertions} assertions)`];
  if (diskImage) {
    imageLines.push(`disk image ${diskImage} (${built.image!.partitions.map((p) => p.name ?? p.role).join(', ')})`);
    seed = (await extractSeedFromDisk(diskImage, join(work, 'factory-seed'), { toolDirs: o.toolDirs ?? [] })).seed;
    imageLines.push(`the factory boots from the disk image: seed read back from its ubuntu-seed partition`);
  } else {
    imageLines.push(`no disk image (missing ${missing.join(', ')}): the factory boots from the seed folder`);
  }
  out.step('Image', imageLines);

  // The factory line: N devices boot, register with the vault, open sessions, install; then the release.
  let second = 0;
  const t0 = Date.now();
  const fleet = await runFleet(
    {
      seed,
      trusted,
      label: LABEL,
      count: o.devices,
      keys: await o.deviceKeys,
      storeUrl: url,
      workDir: join(work, 'fleet'),
      rounds: [
        async () => {
          const p = await publish(api, work, dashboard('1.1'), '1.1', false);
          second = p.revision;
          out.step('Release', [`acme-dashboard 1.1: revision ${p.revision} released to latest/stable; every device refreshes`]);
        },
      ],
    },
    {
      clock: { now: () => new Date(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
      nodePath: o.nodePath,
      path: o.path,
      log: out.progress,
      onProgress: (p) => out.progress(progressLine(p)),
      progressEveryMs: 5000,
    },
  );
  const s = fleet.summary;
  const revisions = fleet.summary.revisions;
  out.step('Fleet', [
    `${s.registered}/${s.devices} devices registered (serials from the vault), ${s.sessions} store sessions, ${s.refreshes} refreshes, ${s.updates} updates taken, in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    ...Object.entries(revisions).map(([name, byRev]) => `${name.padEnd(19)} ${Object.entries(byRev).map(([rev, n]) => `revision ${rev} on ${n} device${n === 1 ? '' : 's'}`).join(', ')}`),
    ...(Object.keys(s.errors).length > 0 ? [`errors: ${Object.entries(s.errors).map(([c, n]) => `${c} ×${n}`).join(', ')}`] : []),
  ]);
  const first = published.find((p) => p.name === 'acme-dashboard')!.revision;
  if (s.registered < s.devices || (revisions['acme-dashboard']?.[String(second)] ?? 0) < s.devices) {
    throw new DemoError('demo-step-failed', `the fleet did not end where it should: ${s.registered}/${s.devices} registered, ${revisions['acme-dashboard']?.[String(second)] ?? 0} on acme-dashboard revision ${second}`);
  }
  return { url, work, fleet, dashboard: { first, second } };
}
