// Prometheus metrics of update control, in the process's registry: rollout
// events (a device downloading a release's revision it was offered, counted
// as failed; a plan advancing; a rollout pausing by itself), and the devices
// of the current watched releases by state (read from the facts at each
// scrape). One set per registry (a test server has its own).
import { Counter, Gauge, type Registry } from 'prom-client';

export type RolloutEvent = 'downloaded' | 'failed' | 'advance' | 'auto-pause';

export interface RolloutMetrics {
  readonly events: Counter<'event'>;
}

const byRegistry = new WeakMap<Registry, RolloutMetrics>();

export function rolloutMetrics(registry: Registry): RolloutMetrics {
  let m = byRegistry.get(registry);
  if (!m) {
    m = {
      events: new Counter({
        name: 'snapline_rollout_events_total',
        help: 'Update control: devices first downloading a release revision they were offered, counted as failed (tried and reverted); plan steps advanced; rollouts paused by themselves',
        labelNames: ['event'] as const,
        registers: [registry],
      }),
    };
    byRegistry.set(registry, m);
  }
  return m;
}

/** One watched release's devices, as rollout status counts them. */
export interface ReleaseProgress {
  releaseId: string;
  snap: string;
  offered: number;
  took: number;
  failed: number;
  notTried: number;
  paused: boolean;
}

const watchedRegistries = new WeakSet<Registry>();

/**
 * The devices of the current watched releases by state, read at each scrape
 * (`read` queries the database). Every worker reads the same rows: under
 * `serve --workers` the primary keeps one worker's value, not the sum.
 */
export function watchRolloutProgress(registry: Registry, read: () => Promise<ReleaseProgress[]>): void {
  if (watchedRegistries.has(registry)) return;
  watchedRegistries.add(registry);
  new Gauge({
    name: 'snapline_rollout_devices',
    help: 'Update control: devices of each current progressive, paused, planned or health-watched release, by state (offered, took, failed, not-tried); paused 1 when paused',
    labelNames: ['release', 'snap', 'state'] as const,
    aggregator: 'max',
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await read()) {
        for (const [state, n] of [['offered', r.offered], ['took', r.took], ['failed', r.failed], ['not-tried', r.notTried], ['paused', r.paused ? 1 : 0]] as const) this.set({ release: r.releaseId, snap: r.snap, state }, n);
      }
    },
  });
}
