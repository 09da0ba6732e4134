// The state folder on disk: state.json (written atomically: a temporary file,
// fsync, rename, fsync of the folder), the device key as device-key.pem
// (mode 0600), refreshed snap files under snaps/. I/O adapter.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PrivateKey } from '../assertions/index.ts';
import { SquashfsReader, readSnapMetadata } from '../snap/index.ts';
import { DeviceError } from './errors.ts';
import { errorMessage, type SnapFiles } from './io.ts';
import { STATE_VERSION, type DeviceState, type StoredState } from './state.ts';

export const STATE_FILE = 'state.json';
export const KEY_FILE = 'device-key.pem';
export const SNAPS_DIR = 'snaps';

/** Writes `data` to `path` so that readers see the old or the new content, never a mix. */
export async function writeAtomic(path: string, data: string | Buffer, mode = 0o600): Promise<void> {
  const dir = resolve(path, '..');
  const tmp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

export async function readState(dir: string): Promise<StoredState | undefined> {
  const path = join(dir, STATE_FILE);
  if (!existsSync(path)) return undefined;
  let v: StoredState;
  try {
    v = JSON.parse(await readFile(path, 'utf8')) as StoredState;
  } catch (err) {
    throw new DeviceError('device-state-invalid', `cannot read ${path}: ${errorMessage(err)}`);
  }
  if (typeof v !== 'object' || v === null || v.version !== STATE_VERSION) throw new DeviceError('device-state-invalid', `${path} is not a version ${STATE_VERSION} device state`);
  return v;
}

/** The state of a device that booted (seeded); DeviceError otherwise. */
export async function readBootedState(dir: string): Promise<DeviceState> {
  const s = await readState(dir);
  if (!s) throw new DeviceError('device-state-invalid', `${dir} holds no device state: run \`snapline device boot\` first`);
  if (s.phase !== 'seeded') throw new DeviceError('device-seed-invalid', `the device never booted: ${s.error.reason}`);
  return s;
}

export async function writeState(dir: string, s: StoredState): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeAtomic(join(dir, STATE_FILE), JSON.stringify(s, null, 2) + '\n');
}

export async function readKey(dir: string): Promise<PrivateKey | undefined> {
  const path = join(dir, KEY_FILE);
  if (!existsSync(path)) return undefined;
  try {
    return PrivateKey.fromPem(await readFile(path));
  } catch (err) {
    throw new DeviceError('device-state-invalid', `cannot read the device key ${path}: ${errorMessage(err)}`);
  }
}

export async function writeKey(dir: string, key: PrivateKey): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeAtomic(join(dir, KEY_FILE), key.toPem(), 0o600);
}

/** Refreshed snap files under `<state>/snaps`; only files there are ever removed (seed files stay). */
export function stateSnapFiles(dir: string): SnapFiles {
  const root = resolve(dir, SNAPS_DIR);
  const owned = (p: string) => resolve(p).startsWith(root + '/');
  return {
    async commit(tmp, name, revision) {
      await mkdir(root, { recursive: true });
      const dest = join(root, `${name}_${revision}.snap`);
      await rename(tmp, dest);
      return dest;
    },
    async remove(path) {
      if (owned(path)) await rm(path, { force: true });
    },
    inspect: inspectSnapFile,
  };
}

/** What the agent needs of a downloaded snap file: the facts of its snap.yaml. */
export const inspectSnapFile: SnapFiles['inspect'] = async (path) => {
  const r = await SquashfsReader.openFile(path);
  try {
    const y = (await readSnapMetadata(r)).snapYaml;
    return { name: y.name, version: y.version, type: y.type, epoch: y.epoch };
  } finally {
    await r.close();
  }
};

export function downloadDir(dir: string): string {
  return resolve(dir, SNAPS_DIR);
}
