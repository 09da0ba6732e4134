// `snapline serve --workers N`: one primary process and N workers (node:cluster)
// serving every route on one port; the primary accepts connections and hands
// them out round-robin. A worker is an ordinary `serve` process: what a
// process keeps in memory is either a read-through cache of at most a second
// (sessions, catalog, tokens), signed (cohort keys), or a shortcut that falls
// back to the database (the vault's request-ids), so any worker can answer
// any request. The primary supervises: a worker that dies is replaced, and a
// crash loop stops the whole server rather than spin.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

const METRICS_REQUEST = 'snapline:metrics';

export interface SuperviseOptions {
  count: number;
  /** Status lines for the operator (stderr). */
  log(line: string): void;
  /** Deaths within `crashWindowMs` that stop the server (default 5 in 60 s). */
  maxCrashes?: number;
  crashWindowMs?: number;
  /** How long a worker may take to finish its requests after SIGTERM (default 30 s). */
  stopTimeoutMs?: number;
}

export interface Supervisor {
  /** The address every worker listens on. */
  address: { host: string; port: number };
  /** Stops every worker (SIGTERM, then SIGKILL after the timeout); resolves when all have exited. */
  stop(): Promise<void>;
  /** Kills every worker at once (SIGKILL); a stop() under way then resolves. */
  kill(): void;
  /** Resolves with an exit code when the server ends on its own (crash loop). */
  ended: Promise<number>;
}

/**
 * Starts `count` workers running this same command line; resolves once every
 * one listens, rejects if one exits before that (its own error is on stderr).
 */
export function superviseWorkers(opts: SuperviseOptions): Promise<Supervisor> {
  const maxCrashes = opts.maxCrashes ?? 5;
  const crashWindowMs = opts.crashWindowMs ?? 60_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 30_000;
  const aggregator = new AggregatorRegistry();
  const crashes: number[] = [];
  let stopping = false;
  let started = false;
  let endWith: (code: number) => void = () => undefined;
  const ended = new Promise<number>((resolve) => (endWith = resolve));

  // /metrics in any worker answers for all of them: it asks the primary, which gathers every worker's registry.
  cluster.on('message', (worker: Worker, msg: unknown) => {
    if (!isMetricsRequest(msg)) return;
    aggregator.clusterMetrics().then(
      (text) => worker.isConnected() && worker.send({ type: METRICS_REQUEST, id: msg.id, text }),
      (err: unknown) => worker.isConnected() && worker.send({ type: METRICS_REQUEST, id: msg.id, error: String(err) }),
    );
  });

  const alive = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
  const killAll = (): void => {
    stopping = true;
    for (const w of alive()) w.process.kill('SIGKILL');
  };
  const stopAll = async (): Promise<void> => {
    stopping = true;
    await Promise.all(
      alive().map(
        (w) =>
          new Promise<void>((resolve) => {
            const force = setTimeout(() => w.process.kill('SIGKILL'), stopTimeoutMs);
            w.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
            w.process.kill('SIGTERM');
          }),
      ),
    );
  };

  return new Promise<Supervisor>((resolve, reject) => {
    let listening = 0;
    const fork = (): void => {
      const w = cluster.fork();
      w.once('listening', (address) => {
        if (started) return opts.log(`worker ${w.process.pid} replaced a dead one and listens\n`);
        if (++listening < opts.count) return;
        started = true;
        resolve({ address: { host: address.address ?? '127.0.0.1', port: address.port }, stop: stopAll, kill: killAll, ended });
      });
      w.once('exit', (code, signal) => {
        if (stopping) return;
        if (!started) {
          void stopAll().then(() => reject(new Error(`a worker exited while starting (${signal ?? `exit code ${code}`})`)));
          return;
        }
        const now = Date.now();
        crashes.push(now);
        while (crashes.length > 0 && crashes[0]! < now - crashWindowMs) crashes.shift();
        if (crashes.length >= maxCrashes) {
          opts.log(`worker ${w.process.pid} died (${signal ?? `exit code ${code}`}); ${crashes.length} deaths in ${crashWindowMs / 1000} s: stopping\n`);
          void stopAll().then(() => endWith(1));
          return;
        }
        opts.log(`worker ${w.process.pid} died (${signal ?? `exit code ${code}`}); starting another\n`);
        fork();
      });
    };
    for (let i = 0; i < opts.count; i++) fork();
  });
}

/** In a worker: lets the primary gather this registry, and returns how to read every worker's metrics. */
export function clusterMetricsReader(registry: Registry): (() => Promise<string>) | undefined {
  if (!cluster.isWorker) return undefined;
  new AggregatorRegistry(); // registers the answer to the primary's gathering requests
  AggregatorRegistry.setRegistries([registry]);
  let next = 0;
  const pending = new Map<number, { resolve(text: string): void; reject(err: Error): void; timer: NodeJS.Timeout }>();
  const settle = (id: number): ReturnType<typeof pending.get> => {
    const p = pending.get(id);
    pending.delete(id);
    if (p) clearTimeout(p.timer);
    return p;
  };
  process.on('message', (msg: unknown) => {
    if (typeof msg !== 'object' || msg === null || (msg as { type?: unknown }).type !== METRICS_REQUEST) return;
    const { id, text, error } = msg as { id: number; text?: string; error?: string };
    const p = settle(id);
    if (!p) return;
    if (text !== undefined) p.resolve(text);
    else p.reject(new Error(error ?? 'no metrics'));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => settle(id)?.reject(new Error('the primary process did not answer')), 10_000);
      pending.set(id, { resolve, reject, timer });
      process.send!({ type: METRICS_REQUEST, id });
    });
}

function isMetricsRequest(msg: unknown): msg is { type: string; id: number } {
  return typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === METRICS_REQUEST && typeof (msg as { id?: unknown }).id === 'number' && !('text' in msg) && !('error' in msg);
}
