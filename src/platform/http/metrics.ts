// Prometheus metrics of one server process: requests by route and status,
// latencies, signing counts, database pool. Each process has its own
// registry; under `serve --workers N` a scrape of any worker answers with
// every worker's registry summed (the primary gathers them).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { clusterMetricsReader } from '../workers.ts';

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'snapline_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'snapline_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly signatures = new Counter({
    name: 'snapline_signatures_total',
    help: 'Assertions signed, by assertion type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  private poolStats: () => { total: number; idle: number; waiting: number } | undefined = () => undefined;
  readonly dbPool: Gauge<'state'>;

  constructor(opts: { defaults?: boolean } = {}) {
    if (opts.defaults !== false) collectDefaultMetrics({ register: this.registry, prefix: 'snapline_' });
    const readPool = () => this.poolStats();
    this.dbPool = new Gauge({
      name: 'snapline_db_pool_connections',
      help: 'Database pool connections by state: total, idle, waiting clients (PostgreSQL only)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const s = readPool();
        if (!s) return;
        this.set({ state: 'total' }, s.total);
        this.set({ state: 'idle' }, s.idle);
        this.set({ state: 'waiting' }, s.waiting);
      },
    });
  }

  private readonly gatherWorkers = clusterMetricsReader(this.registry);

  /** The Prometheus text of this process, or of every worker under `serve --workers`. */
  render(): Promise<string> {
    return this.gatherWorkers ? this.gatherWorkers() : this.registry.metrics();
  }

  /** Where the pool gauge reads its values at each scrape. */
  watchPool(stats: () => { total: number; idle: number; waiting: number } | undefined): void {
    this.poolStats = stats;
  }
}
