// Device keys for the fleet: made once in worker threads (RSA-4096 is slow:
// about 0.1 to 1 s per key per core) and kept in one file to be reused by
// every later run. The file is line-delimited JSON, one key a line
// ({"key-id", "pem"}, PKCS#8), mode 0600; new keys are appended as they come,
// so an interrupted run keeps what it made. I/O adapter.
import { open, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AssertionError, PrivateKey } from '../assertions/index.ts';
import { FleetError } from './errors.ts';

/** snapd makes RSA-4096 device keys; smaller keys are only for tests. */
export const DEVICE_KEY_BITS = 4096;

/**
 * The worker module (plain JavaScript): keygen-worker.mjs next to this file
 * in the sources, an entry point of its own in dist/ (scripts/build.js).
 */
function workerUrl(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('./keygen-worker.mjs', import.meta.url) : new URL('./fleet-keygen-worker.js', import.meta.url);
}

/** Reads a keys file; a missing file holds no keys. */
export async function readKeysFile(file: string): Promise<PrivateKey[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new FleetError('fleet-keys-invalid', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const keys: PrivateKey[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const where = `${file}:${i + 1}`;
    let entry: { 'key-id'?: unknown; pem?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      // A line cut short by an interrupted run is the last one: drop it, keep the others.
      if (i >= lines.length - 2) break;
      throw new FleetError('fleet-keys-invalid', `${where}: not a JSON line`);
    }
    if (typeof entry.pem !== 'string') throw new FleetError('fleet-keys-invalid', `${where}: no "pem"`);
    let key: PrivateKey;
    try {
      key = PrivateKey.fromPem(entry.pem);
    } catch (err) {
      if (err instanceof AssertionError) throw new FleetError('fleet-keys-invalid', `${where}: ${err.message}`);
      throw err;
    }
    if (entry['key-id'] !== undefined && entry['key-id'] !== key.id) throw new FleetError('fleet-keys-invalid', `${where}: the key-id is not the key's`);
    keys.push(key);
  }
  return keys;
}

export interface GenerateOptions {
  count: number;
  /** Worker threads (default: one per core, at most `count`). */
  workers?: number;
  bits?: number;
  /** Called after each key with how many are done. */
  onProgress?: (done: number, total: number) => void;
  /** Each key as it is made (e.g. appended to the file). */
  onKey?: (key: PrivateKey, pem: string) => Promise<void> | void;
}

/** Makes `count` RSA keys in worker threads. */
export async function generateKeys(o: GenerateOptions): Promise<PrivateKey[]> {
  const out: PrivateKey[] = [];
  if (o.count <= 0) return out;
  const bits = o.bits ?? DEVICE_KEY_BITS;
  const nWorkers = Math.max(1, Math.min(o.workers ?? availableParallelism(), o.count));
  let asked = 0;
  let sinkChain: Promise<void> = Promise.resolve();
  const runWorker = () =>
    new Promise<void>((resolve, reject) => {
      const w = new Worker(workerUrl(), { workerData: { bits } });
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        void w.terminate();
        if (err) reject(err);
        else resolve();
      };
      const ask = () => {
        if (asked >= o.count) return finish();
        w.postMessage({ seq: asked++ });
      };
      w.on('message', (m: { pem?: string; error?: string }) => {
        if (m.error !== undefined || m.pem === undefined) return finish(new FleetError('fleet-keygen-failed', `key generation failed: ${m.error ?? 'no key'}`));
        const key = PrivateKey.fromPem(m.pem);
        out.push(key);
        const pem = m.pem;
        sinkChain = sinkChain.then(() => o.onKey?.(key, pem));
        o.onProgress?.(out.length, o.count);
        ask();
      });
      w.on('error', (err) => finish(new FleetError('fleet-keygen-failed', `a key generation worker failed: ${err.message}`, { cause: err })));
      w.on('exit', (code) => finish(code === 0 || settled ? undefined : new FleetError('fleet-keygen-failed', `a key generation worker exited with ${code}`)));
      w.on('online', ask);
    });
  await Promise.all(Array.from({ length: nWorkers }, runWorker));
  await sinkChain;
  return out;
}

/**
 * Makes sure `file` holds at least `count` keys: reads it, makes the missing
 * ones in workers and appends them (mode 0600). Returns the first `count`.
 */
export async function ensureKeysFile(file: string, o: Omit<GenerateOptions, 'onKey'>): Promise<{ keys: PrivateKey[]; generated: number }> {
  const have = await readKeysFile(file);
  const missing = o.count - have.length;
  if (missing <= 0) return { keys: have.slice(0, o.count), generated: 0 };
  const fh = await open(file, 'a', 0o600);
  try {
    await fh.chmod(0o600);
    const made = await generateKeys({
      ...o,
      count: missing,
      ...(o.onProgress ? { onProgress: (done) => o.onProgress!(have.length + done, o.count) } : {}),
      onKey: async (key, pem) => {
        await fh.appendFile(JSON.stringify({ 'key-id': key.id, pem }) + '\n');
      },
    });
    await fh.sync();
    return { keys: [...have, ...made], generated: made.length };
  } finally {
    await fh.close();
  }
}
