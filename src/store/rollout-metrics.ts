// Prometheus metrics of update control, in the process's registry: rollout
// events (a device downloading a release's revision it was offered, counted
// as failed; a plan advancing; a rollout pausing by itself), and the devices
// of the current watched releases by state (read from the facts at each
// scrape). One set per registry (a test server has its own).
import { Counter, type Registry } from 'prom-client';

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
