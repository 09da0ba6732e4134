// The device agent: boot (seed, prepare-device, key, registration), refresh
// (session, auto-refresh) and status, over a state folder. It wires the pure
// core (registration.ts, store-client.ts, refresh.ts) to the adapters (seed,
// hook, HTTP, state folder). Every outcome, good or bad, ends in state.json.
import {
  AssertionError,
  PrivateKey,
  TrustDatabase,
  decodeStream,
  encodeStream,
  type Assertion,
  type ModelData,
  type StoreData,
} from '../assertions/index.ts';
import { nestConfig, registrationConfig, type ConfigDoc } from './config.ts';
import { DeviceError, isDeviceError } from './errors.ts';
import { runPrepareDevice, DEFAULT_HOOK_TIMEOUT_MS } from './hook.ts';
import { fetchTransport } from './http.ts';
import { SquashfsReader, listHookFiles } from '../snap/index.ts';
import { errorMessage, TransportError, type Clock, type Transport } from './io.ts';
import { refresh as runRefresh } from './refresh.ts';
import { register, type RegistrationEvent } from './registration.ts';
import { loadSeed } from './seed.ts';
import { downloadDir, readBootedState, readKey, readState, stateSnapFiles, writeKey, writeState } from './state-store.ts';
import { nextBackoffMs, rfc3339, STATE_VERSION, type DeviceState, type HookRun, type RegistrationConfig, type RegistrationState } from './state.ts';
import { StoreClient } from './store-client.ts';

export interface AgentEnv {
  clock: Clock;
  /** Default: node's fetch, downloads into the state folder. */
  transport?: Transport;
  /** Runs the snapctl stand-in (process.execPath). */
  nodePath: string;
  /** PATH for hooks, after the snapctl stand-in. */
  path: string;
  hookTimeoutMs?: number;
  /** Makes the device key when none is given or kept (default: RSA-4096, slow). */
  generateKey?: () => Promise<PrivateKey>;
  maxPolls?: number;
  log?: (line: string) => void;
}

export interface BootOptions {
  seed: string;
  state: string;
  trusted: readonly Assertion[];
  label?: string;
  /** The registration settings, instead of running the prepare-device hook (--no-hooks). */
  noHooks?: ConfigDoc;
  /** A pre-made device key (simulations, tests). */
  deviceKey?: PrivateKey;
  /** Store API base URL (default: the url of the model's store assertion, if the seed has one). */
  storeUrl?: string;
}

/** The agent's user agent, snapd's form (the fleet simulator sends the same). */
export function userAgent(model: Assertion<ModelData>): string {
  return `snapd/2.57.6 (series 16; snapline-device) ubuntu-core/${model.data.base.replace(/^core/, '') || '16'} (${model.data.architecture}) linux/simulated`;
}

const iso = rfc3339;

/** The device's trust database: the root, then everything it verified before. */
export function databaseOf(s: DeviceState, now: () => Date): TrustDatabase {
  try {
    const db = new TrustDatabase({ trusted: decodeStream(s.trusted), now });
    const failed = db.addEach(decodeStream(s.assertions)).filter((o) => o.error);
    if (failed.length > 0) throw new DeviceError('device-state-invalid', `stored assertions no longer verify: ${failed.map((f) => f.error!.message).join('; ')}`);
    return db;
  } catch (err) {
    if (err instanceof AssertionError) throw new DeviceError('device-state-invalid', `cannot read the stored assertions: ${err.message}`);
    throw err;
  }
}

function modelOf(s: DeviceState): Assertion<ModelData> {
  return decodeStream(s.model)[0] as Assertion<ModelData>;
}

/** The store URL: the one given, else the url of the model's store assertion. */
export function storeUrlOf(s: DeviceState, db: TrustDatabase): string | undefined {
  if (s.storeUrl) return s.storeUrl;
  const model = modelOf(s);
  if (!model.data.store) return undefined;
  const store = db.find('store', [model.data.store]) as Assertion<StoreData> | undefined;
  const url = store?.headerString('url');
  return url ? url : undefined;
}

function appendAssertions(stream: string, added: readonly Assertion[]): string {
  return added.length === 0 ? stream : encodeStream([...decodeStream(stream), ...added]).toString('utf8');
}

/** Boots a device from a seed (or resumes the registration of a booted one). Returns the state it ends in. */
export async function boot(o: BootOptions, env: AgentEnv): Promise<DeviceState | undefined> {
  const log = env.log ?? (() => {});
  const existing = await readState(o.state);
  let state: DeviceState;
  if (existing?.phase === 'seeded') {
    state = existing;
    log(`device already seeded from ${state.seed.dir}: resuming registration`);
    if (o.storeUrl && o.storeUrl !== state.storeUrl) state = { ...state, storeUrl: o.storeUrl };
  } else {
    let seed;
    try {
      seed = await loadSeed(o.seed, { trusted: o.trusted, ...(o.label !== undefined ? { label: o.label } : {}), now: () => env.clock.now() });
    } catch (err) {
      if (!isDeviceError(err)) throw err;
      await writeState(o.state, { version: STATE_VERSION, phase: 'seed-failed', seed: { dir: o.seed }, error: { code: err.code, reason: err.message }, at: iso(env.clock.now()) });
      log(`seed verification failed: ${err.message}`);
      return undefined;
    }
    const now = iso(env.clock.now());
    log(`seed verified: ${seed.form} ${seed.label ? `system ${seed.label} ` : ''}model ${seed.model.data.brandId}/${seed.model.data.model}, ${seed.snaps.length} snaps`);
    state = {
      version: STATE_VERSION,
      phase: 'seeded',
      model: seed.model.toString(),
      brand: seed.model.data.brandId,
      modelName: seed.model.data.model,
      trusted: encodeStream(o.trusted).toString('utf8'),
      assertions: encodeStream(seed.assertions).toString('utf8'),
      seed: { dir: seed.root, form: seed.form, ...(seed.label ? { label: seed.label } : {}) },
      ...(o.storeUrl ? { storeUrl: o.storeUrl } : {}),
      snaps: seed.snaps.map((s) => ({ name: s.name, snapId: s.snapId, revision: s.revision, channel: s.channel, refreshedDate: now, cohort: '', type: s.type, version: s.version, epoch: s.epoch, file: s.file })),
      registration: { status: 'unregistered', attempts: 0 },
      bootedAt: now,
    };
    await writeState(o.state, state);
  }
  if (state.registration.status === 'registered') return state;
  return registerDevice(state, o, env);
}

async function prepareDevice(state: DeviceState, o: BootOptions, env: AgentEnv): Promise<{ config: RegistrationConfig; hook: HookRun }> {
  if (o.noHooks) return { config: registrationConfig(nestConfig(o.noHooks)), hook: { ran: false, source: 'file' } };
  const model = modelOf(state);
  const gadgetName = model.data.gadget?.name;
  const gadget = state.snaps.find((s) => s.name === gadgetName);
  if (!gadget) return { config: {}, hook: { ran: false, source: 'no-hook' } };
  let hasHook: boolean;
  try {
    const r = await SquashfsReader.openFile(gadget.file);
    try {
      hasHook = (await listHookFiles(r)).includes('prepare-device');
    } finally {
      await r.close();
    }
  } catch (err) {
    throw new DeviceError('device-hook-failed', `cannot read the gadget ${gadget.file}: ${errorMessage(err)}`, { cause: err });
  }
  if (!hasHook) return { config: {}, hook: { ran: false, source: 'no-hook' } };
  env.log?.(`running the prepare-device hook of ${gadget.name}`);
  const out = await runPrepareDevice({
    gadgetFile: gadget.file,
    gadgetName: gadget.name,
    revision: gadget.revision,
    architecture: model.data.architecture,
    timeoutMs: env.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS,
    nodePath: env.nodePath,
    path: env.path,
  });
  const hook: HookRun = { ran: true, source: 'hook', exitCode: out.exitCode, timedOut: out.timedOut, output: out.output };
  if (!out.ok) throw Object.assign(new DeviceError('device-hook-failed', out.reason ?? 'the prepare-device hook failed'), { hook });
  try {
    return { config: registrationConfig(out.config), hook };
  } catch (err) {
    if (isDeviceError(err)) throw Object.assign(err, { hook });
    throw err;
  }
}

/** One become-operational attempt: hook, key, request-serial. */
async function registerDevice(state: DeviceState, o: BootOptions, env: AgentEnv): Promise<DeviceState> {
  const log = env.log ?? (() => {});
  const prev = state.registration;
  const failWith = async (code: DeviceError['code'], reason: string, extra: Partial<RegistrationState> = {}): Promise<DeviceState> => {
    const backoffMs = nextBackoffMs(prev.backoffMs);
    const registration: RegistrationState = {
      ...extra,
      status: 'failed',
      attempts: prev.attempts + 1,
      code,
      reason,
      backoffMs,
      nextAttemptAt: iso(new Date(env.clock.now().getTime() + backoffMs)),
    };
    const next: DeviceState = { ...state, registration };
    await writeState(o.state, next);
    log(`registration failed (${code}): ${reason}`);
    return next;
  };
  let prepared: { config: RegistrationConfig; hook: HookRun };
  try {
    prepared = await prepareDevice(state, o, env);
  } catch (err) {
    if (!isDeviceError(err)) throw err;
    const hook = (err as { hook?: HookRun }).hook;
    return failWith(err.code, err.message, hook ? { hook } : {});
  }
  // The key: given, kept from an earlier attempt, or made now (snapd's generate-device-key).
  let key = o.deviceKey ?? (await readKey(o.state));
  if (!key) {
    log('generating the device key (RSA-4096)');
    key = await (env.generateKey ?? (() => PrivateKey.generateAsync(4096)))();
  }
  if (state.deviceKeyId !== key.id || !(await readKey(o.state))) await writeKey(o.state, key);
  state = { ...state, deviceKeyId: key.id };
  const db = databaseOf(state, () => env.clock.now());
  const model = modelOf(state);
  const storeUrl = storeUrlOf(state, db);
  const transport = env.transport ?? fetchTransport({ downloadDir: downloadDir(o.state) });
  const store = storeUrl ? new StoreClient({ storeUrl, model, transport, clock: env.clock, userAgent: userAgent(model) }) : undefined;
  const res = await register({
    model,
    key,
    config: prepared.config,
    ...(storeUrl ? { storeUrl } : {}),
    db,
    transport,
    clock: env.clock,
    userAgent: userAgent(model),
    ...(store ? { fetchAssertion: (t: string, pk: readonly string[]) => store.assertion(t, pk) } : {}),
    ...(env.maxPolls !== undefined ? { maxPolls: env.maxPolls } : {}),
    onEvent: (e: RegistrationEvent) => {
      if (e.kind === 'retry') log(`retrying in ${e.afterMs / 1000} s: ${e.reason}`);
      else if (e.kind === 'poll') log(`serial request accepted (202): polling in ${e.afterMs / 1000} s`);
      else log(`POST ${e.url}`);
    },
  });
  const common = { hook: prepared.hook, config: redacted(prepared.config), requests: res.requests };
  if (!res.ok) return failWith(res.code, res.reason, common);
  const next: DeviceState = {
    ...state,
    serial: res.serial.toString(),
    assertions: appendAssertions(state.assertions, res.added.filter((a) => a.type !== 'serial')),
    registration: { status: 'registered', attempts: prev.attempts + 1, ...common },
  };
  await writeState(o.state, next);
  log(`registered: serial ${res.serial.data.serial}`);
  return next;
}

/** Header values (API keys) are not kept in the state file; their names are. */
function redacted(c: RegistrationConfig): RegistrationConfig {
  return c.headers ? { ...c, headers: Object.fromEntries(Object.keys(c.headers).map((k) => [k, '(set)'])) } : c;
}

export interface RefreshCommandOptions {
  state: string;
  storeUrl?: string;
  failInstall?: (name: string, revision: number) => boolean;
}

/** One auto-refresh; the outcome is in the returned state's lastRefresh. */
export async function refreshDevice(o: RefreshCommandOptions, env: AgentEnv): Promise<DeviceState> {
  const log = env.log ?? (() => {});
  let state = await readBootedState(o.state);
  if (o.storeUrl) state = { ...state, storeUrl: o.storeUrl };
  const at = iso(env.clock.now());
  const failed = async (code: DeviceError['code'], reason: string): Promise<DeviceState> => {
    const next: DeviceState = { ...state, lastRefresh: { at, outcome: 'failed', updated: [], failed: [], code, reason } };
    await writeState(o.state, next);
    log(`refresh failed (${code}): ${reason}`);
    return next;
  };
  if (state.registration.status !== 'registered' || !state.serial) return failed('device-not-registered', 'the device has no serial yet: it does not refresh before it is registered');
  const db = databaseOf(state, () => env.clock.now());
  const storeUrl = storeUrlOf(state, db);
  if (!storeUrl) return failed('device-store-error', 'no store URL: give --store, or use a model whose store assertion has a url');
  const key = await readKey(o.state);
  if (!key) return failed('device-state-invalid', 'the device key is missing from the state folder');
  const model = modelOf(state);
  let session = state.session;
  const client = new StoreClient({
    storeUrl,
    model,
    transport: env.transport ?? fetchTransport({ downloadDir: downloadDir(o.state) }),
    clock: env.clock,
    userAgent: userAgent(model),
    serial: decodeStream(state.serial)[0]!,
    key,
    ...(session ? { session: session.macaroon } : {}),
    onSession: (macaroon) => {
      session = { macaroon, obtainedAt: iso(env.clock.now()) };
      log('device session opened');
    },
  });
  try {
    await client.ensureSession();
  } catch (err) {
    if (isDeviceError(err)) return failed(err.code, err.message);
    if (err instanceof TransportError) return failed('device-session-failed', err.message);
    throw err;
  }
  const res = await runRefresh({
    snaps: state.snaps,
    db,
    client,
    files: stateSnapFiles(o.state),
    clock: env.clock,
    model: modelOf(state),
    ...(o.failInstall ? { failInstall: o.failInstall } : {}),
    onEvent: (e) => log(e.kind === 'update' ? `${e.name}: refreshing to revision ${e.revision}` : e.kind === 'updated' ? `${e.name}: now at revision ${e.revision}` : `${e.name} ${e.revision}: ${e.reason}`),
  });
  const next: DeviceState = {
    ...state,
    snaps: res.snaps,
    assertions: appendAssertions(state.assertions, res.added),
    ...(session ? { session } : {}),
    lastRefresh: res.outcome,
  };
  await writeState(o.state, next);
  return next;
}

