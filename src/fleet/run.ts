// `snapline fleet run`: N simulated devices in one process. The seed is read
// and verified once for the fleet (src/device/seed.ts), the gadget's
// prepare-device hook run once (or --no-hooks), then each device, with its
// own key, registers through the device agent's registration state machine,
// opens a store session and refreshes (the agent's refresh, undo included)
// every `refreshEveryMs` until `durationMs`, at most `concurrency` steps at a
// time. A device is a compact record in memory (key, serial, session,
// installed snaps, counters), no state folder; the devices share one trust
// database (they trust the same root and see the same store) and one folder
// of refreshed snaps.
import { TrustDatabase, type Assertion, type PrivateKey, type SerialData, type StoreData } from '../assertions/index.ts';
import { userAgent } from '../device/agent.ts';
import { nestConfig, registrationConfig, type ConfigDoc } from '../device/config.ts';
import { DeviceError, isDeviceError } from '../device/errors.ts';
import { runPrepareDevice, DEFAULT_HOOK_TIMEOUT_MS } from '../device/hook.ts';
import { fetchTransport } from '../device/http.ts';
import { TransportError, errorMessage, type Clock, type Transport } from '../device/io.ts';
import { refresh as runRefresh } from '../device/refresh.ts';
import { register } from '../device/registration.ts';
import { loadSeed, type LoadedSeed } from '../device/seed.ts';
import { rfc3339, type InstalledSnap, type RegistrationConfig } from '../device/state.ts';
import { StoreClient } from '../device/store-client.ts';
import { FleetError } from './errors.ts';
import { partialDir, sharedSnapFiles } from './files.ts';
import { Limiter, nextRefreshAt, seededRandom } from './scheduler.ts';
import { FleetStats, type FleetProgress, type FleetSummary } from './stats.ts';

export const DEFAULT_CONCURRENCY = 64;

export interface FleetRunOptions {
  seed: string;
  trusted: readonly Assertion[];
  label?: string;
  count: number;
  /** One key per device, at least `count` (the keys file; `ensureKeysFile` makes missing ones). */
  keys: readonly PrivateKey[];
  /** Steps (registration, session, refresh) running at once; default 64. */
  concurrency?: number;
  /** Refresh period of each device (ms); 0 or absent: one refresh after registering. */
  refreshEveryMs?: number;
  /** How long the fleet keeps refreshing, from its start (ms); 0 or absent: one refresh each. */
  durationMs?: number;
  /** Probability that installing a refreshed snap fails (the device keeps the old revision, snapd's undo). */
  failProbability?: number;
  /** Seed of the --fail draws (default: random). */
  randomSeed?: number;
  /** Store API base URL (default: the url of the model's store assertion). */
  storeUrl?: string;
  /** Registration settings instead of running the gadget's prepare-device hook. */
  noHooks?: ConfigDoc;
  /** A scratch folder of the run: downloads and the fleet's refreshed snaps. */
  workDir: string;
  /**
   * After every device's life (registration, session, refreshes) has ended:
   * for each round, its step runs (a release in the store, say), then every
   * device in session refreshes once more. `snapline demo` releases a new
   * revision this way and watches the fleet take it.
   */
  rounds?: readonly (() => Promise<void>)[];
}

export interface FleetEnv {
  clock: Clock;
  /** Default: node's fetch, downloads into workDir. */
  transport?: Transport;
  /** Runs the hook's snapctl stand-in (process.execPath). */
  nodePath: string;
  /** PATH for the hook. */
  path: string;
  hookTimeoutMs?: number;
  log?: (line: string) => void;
  /** The live display, called every `progressEveryMs` (default 1 s) and once at the end (`final`). */
  onProgress?: (p: FleetProgress, final: boolean) => void;
  progressEveryMs?: number;
}

/** A simulated device: what refresh needs, nothing more. */
export interface SimDevice {
  readonly index: number;
  readonly key: PrivateKey;
  serial?: Assertion<SerialData>;
  session?: string;
  snaps: readonly InstalledSnap[];
  refreshes: number;
  updates: number;
  failures: number;
  /** The last error that stopped the device (registration or session), code and reason. */
  error?: { code: string; reason: string };
}

export interface FleetResult {
  summary: FleetSummary;
  devices: SimDevice[];
}

/** The fleet's trust database: adding what another device already added is a no-op (devices verify concurrently). */
class SharedDatabase extends TrustDatabase {
  override add(a: Assertion): void {
    if (this.has(a)) return;
    super.add(a);
  }
}

/** The proposed serial of device `index` (1-based) when the gadget proposes one: the hook ran once for the fleet. */
export function proposedSerialOf(config: RegistrationConfig, index: number): RegistrationConfig {
  return config.proposedSerial ? { ...config, proposedSerial: `${config.proposedSerial}-${index}` } : config;
}

async function gadgetSettings(seed: LoadedSeed, o: FleetRunOptions, env: FleetEnv): Promise<RegistrationConfig> {
  if (o.noHooks) return registrationConfig(nestConfig(o.noHooks));
  const gadget = seed.snaps.find((s) => s.name === seed.model.data.gadget?.name);
  if (!gadget?.hasPrepareDeviceHook) return {};
  env.log?.(`running the prepare-device hook of ${gadget.name} once for the fleet`);
  const out = await runPrepareDevice({
    gadgetFile: gadget.file,
    gadgetName: gadget.name,
    revision: gadget.revision,
    architecture: seed.model.data.architecture,
    timeoutMs: env.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS,
    nodePath: env.nodePath,
    path: env.path,
  });
  if (!out.ok) throw new DeviceError('device-hook-failed', `${out.reason ?? 'the prepare-device hook failed'}${out.output ? `; its output:\n${out.output}` : ''}`);
  return registrationConfig(out.config);
}

function checkOptions(o: FleetRunOptions): void {
  const bad = (msg: string): never => {
    throw new FleetError('fleet-options-invalid', msg);
  };
  if (!Number.isInteger(o.count) || o.count < 1) bad(`the device count must be a positive integer, not ${o.count}`);
  if (o.keys.length < o.count) bad(`${o.count} devices need ${o.count} keys, ${o.keys.length} given`);
  if (o.concurrency !== undefined && (!Number.isInteger(o.concurrency) || o.concurrency < 1)) bad(`the concurrency must be a positive integer, not ${o.concurrency}`);
  if (o.failProbability !== undefined && !(o.failProbability >= 0 && o.failProbability <= 1)) bad(`the failure probability must be within 0 and 1, not ${o.failProbability}`);
  if (o.refreshEveryMs !== undefined && !(o.refreshEveryMs >= 0)) bad('the refresh period must not be negative');
  if (o.durationMs !== undefined && !(o.durationMs >= 0)) bad('the duration must not be negative');
  const ids = new Set(o.keys.slice(0, o.count).map((k) => k.id));
  if (ids.size < o.count) bad('the keys are not distinct: each device needs its own (the vault gives one key one serial)');
}

/** Runs a fleet; returns its summary and the devices as they ended. Throws only when the fleet cannot start (seed, hook, options). */
export async function runFleet(o: FleetRunOptions, env: FleetEnv): Promise<FleetResult> {
  checkOptions(o);
  const clock = env.clock;
  const log = env.log ?? (() => {});
  const seed = await loadSeed(o.seed, { trusted: o.trusted, ...(o.label !== undefined ? { label: o.label } : {}), now: () => clock.now() });
  log(`seed verified once for the fleet: ${seed.form} model ${seed.model.data.brandId}/${seed.model.data.model}, ${seed.snaps.length} snaps`);
  const db = new SharedDatabase({ trusted: o.trusted, now: () => clock.now() });
  db.addBatch(seed.assertions);
  const model = seed.model;
  const storeUrl = o.storeUrl ?? (model.data.store ? (db.find('store', [model.data.store]) as Assertion<StoreData> | undefined)?.headerString('url') || undefined : undefined);
  const config = await gadgetSettings(seed, o, env);
  const ua = userAgent(model);
  const transport = env.transport ?? fetchTransport({ downloadDir: partialDir(o.workDir) });
  const files = sharedSnapFiles(o.workDir);
  const limiter = new Limiter(o.concurrency ?? DEFAULT_CONCURRENCY);
  const random = seededRandom(o.randomSeed ?? Math.floor(Math.random() * 2 ** 32));
  const p = o.failProbability ?? 0;
  const failInstall = p > 0 ? () => random() < p : undefined;
  const startMs = clock.now().getTime();
  const endMs = startMs + (o.durationMs ?? 0);
  const stats = new FleetStats(o.count, startMs);
  const now = () => clock.now().getTime();
  const bootedAt = rfc3339(clock.now());
  const seeded: InstalledSnap[] = seed.snaps.map((s) => ({ name: s.name, snapId: s.snapId, revision: s.revision, channel: s.channel, refreshedDate: bootedAt, cohort: '', type: s.type, version: s.version, epoch: s.epoch, file: s.file }));
  const devices: SimDevice[] = o.keys.slice(0, o.count).map((key, index) => ({ index, key, snaps: seeded, refreshes: 0, updates: 0, failures: 0 }));

  const client = (d: SimDevice) =>
    new StoreClient({
      storeUrl: storeUrl!,
      model,
      transport,
      clock,
      userAgent: ua,
      ...(d.serial ? { serial: d.serial, key: d.key } : {}),
      ...(d.session ? { session: d.session } : {}),
      onSession: (m) => (d.session = m),
    });

  const registerOne = async (d: SimDevice): Promise<boolean> => {
    const t0 = now();
    const res = await register({
      model,
      key: d.key,
      config: proposedSerialOf(config, d.index + 1),
      ...(storeUrl ? { storeUrl } : {}),
      db,
      transport,
      clock,
      userAgent: ua,
      ...(storeUrl ? { fetchAssertion: (t: string, pk: readonly string[]) => client(d).assertion(t, pk) } : {}),
    });
    stats.registration(t0, now(), res.ok);
    if (!res.ok) {
      stats.error(res.code);
      d.error = { code: res.code, reason: res.reason };
      return false;
    }
    d.serial = res.serial;
    return true;
  };

  const sessionOne = async (d: SimDevice): Promise<boolean> => {
    if (!storeUrl) {
      stats.error('device-store-error');
      d.error = { code: 'device-store-error', reason: 'no store URL: give --store, or use a model whose store assertion has a url' };
      return false;
    }
    const t0 = now();
    try {
      await client(d).refreshSession();
    } catch (err) {
      const code = isDeviceError(err) ? err.code : err instanceof TransportError ? 'device-session-failed' : undefined;
      if (!code) throw err;
      stats.error(code);
      d.error = { code, reason: errorMessage(err) };
      return false;
    }
    stats.steps.session.add(now() - t0);
    stats.sessions++;
    return true;
  };

  const refreshOne = async (d: SimDevice): Promise<void> => {
    const t0 = now();
    const res = await runRefresh({ snaps: d.snaps, db, client: client(d), files, clock, model, ...(failInstall ? { failInstall } : {}) });
    stats.steps.refresh.add(now() - t0);
    stats.refreshes++;
    d.refreshes++;
    d.snaps = res.snaps;
    d.updates += res.outcome.updated.length;
    d.failures += res.outcome.failed.length;
    stats.updates += res.outcome.updated.length;
    stats.failures += res.outcome.failed.length;
    if (res.outcome.code) stats.error(res.outcome.code);
    for (const f of res.outcome.failed) stats.error(f.code);
  };

  const lifeOf = async (d: SimDevice): Promise<void> => {
    if (!(await limiter.run(() => registerOne(d)))) return;
    if (!(await limiter.run(() => sessionOne(d)))) return;
    for (;;) {
      const started = now();
      await limiter.run(() => refreshOne(d));
      const next = nextRefreshAt(started, o.refreshEveryMs ?? 0, endMs);
      if (next === undefined) return;
      const wait = next - now();
      if (wait > 0) await clock.sleep(wait);
    }
  };

  const ticker = env.onProgress ? setInterval(() => env.onProgress!(stats.progress(now()), false), env.progressEveryMs ?? 1000) : undefined;
  ticker?.unref();
  try {
    await Promise.all(devices.map(lifeOf));
    for (const step of o.rounds ?? []) {
      await step();
      await Promise.all(devices.filter((d) => d.session !== undefined).map((d) => limiter.run(() => refreshOne(d))));
    }
  } finally {
    if (ticker) clearInterval(ticker);
  }
  env.onProgress?.(stats.progress(now()), true);
  return { summary: stats.summary(now(), revisionsOf(devices)), devices };
}

/** For each snap, how many devices hold each revision. */
export function revisionsOf(devices: readonly SimDevice[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const d of devices) {
    for (const s of d.snaps) {
      const byRev = (out[s.name] ??= {});
      byRev[String(s.revision)] = (byRev[String(s.revision)] ?? 0) + 1;
    }
  }
  return out;
}
