// Prometheus metrics of update control, in the process's registry: rollout
// events (a device offered a release's revision, running it, counted as
// failed; a plan advancing; a rollout pausing by itself) by snap and
// channel-free release id. One set per registry (a test server has its own).
import { Counter, type Registry } from 'prom-client';

export type RolloutEvent = 'offered' | 'took' | 'failed' | 'advance' | 'auto-pause';

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
        help: 'Update control: devices first offered a release revision, first running it, counted as failed; plan steps advanced; rollouts paused by themselves',
        labelNames: ['event'] as const,
        registers: [registry],
      }),
    };
    byRegistry.set(registry, m);
  }
  return m;
}
