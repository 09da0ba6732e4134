// The fleet's figures, in constant memory whatever the fleet's size: latency
// histograms with logarithmic buckets (2% wide, so a percentile is within 2%
// of the exact one), counters, errors by code, and the summary. Pure.

/** Bucket width: each bucket's upper bound is 2% above its lower bound. */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** Durations below this (ms) share the first bucket. */
const MIN_MS = 0.01;

/** A latency histogram (milliseconds). */
export class Histogram {
  private readonly buckets = new Map<number, number>();
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  add(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const b = ms <= MIN_MS ? 0 : Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH);
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + 1);
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  /**
   * The q-quantile (0 < q <= 1), nearest-rank: the smallest recorded value
   * at or below which a fraction q of the values lie, given as its bucket's
   * upper bound clamped to [min, max]. NaN when empty.
   */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (const b of [...this.buckets.keys()].sort((x, y) => x - y)) {
      seen += this.buckets.get(b)!;
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, MIN_MS * GROWTH ** b));
    }
    return this.max;
  }

  get mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }
}

/** The steps the fleet times. */
export const STEPS = ['register', 'session', 'refresh'] as const;
export type Step = (typeof STEPS)[number];

/** What the live display shows; a snapshot of FleetStats. */
export interface FleetProgress {
  readonly devices: number;
  readonly registered: number;
  readonly registrationFailed: number;
  readonly sessions: number;
  readonly refreshes: number;
  /** Snaps updated to a new revision, over all devices and refreshes. */
  readonly updates: number;
  /** Snaps whose refresh failed (the device kept the old revision), simulated or not. */
  readonly failures: number;
  readonly errors: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
}

export interface StepFigures {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly maxMs: number;
}

export interface FleetSummary extends FleetProgress {
  /** Registrations per second, from the first registration's start to the last one's end. */
  readonly registrationsPerSecond: number;
  readonly steps: Readonly<Record<Step, StepFigures>>;
  /** For each snap, how many devices end at each revision. */
  readonly revisions: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** Counters and timings of a fleet run. */
export class FleetStats {
  registered = 0;
  registrationFailed = 0;
  sessions = 0;
  refreshes = 0;
  updates = 0;
  failures = 0;
  readonly errors = new Map<string, number>();
  readonly steps: Record<Step, Histogram> = { register: new Histogram(), session: new Histogram(), refresh: new Histogram() };
  private firstRegistrationStart = Infinity;
  private lastRegistrationEnd = -Infinity;

  constructor(
    readonly devices: number,
    private readonly startMs: number,
  ) {}

  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  /** A registration (ok or not) that ran from `start` to `end` (ms). */
  registration(start: number, end: number, ok: boolean): void {
    if (ok) this.registered++;
    else this.registrationFailed++;
    this.steps.register.add(end - start);
    this.firstRegistrationStart = Math.min(this.firstRegistrationStart, start);
    this.lastRegistrationEnd = Math.max(this.lastRegistrationEnd, end);
  }

  registrationsPerSecond(): number {
    const span = this.lastRegistrationEnd - this.firstRegistrationStart;
    return this.registered === 0 || !(span > 0) ? 0 : this.registered / (span / 1000);
  }

  progress(nowMs: number): FleetProgress {
    return {
      devices: this.devices,
      registered: this.registered,
      registrationFailed: this.registrationFailed,
      sessions: this.sessions,
      refreshes: this.refreshes,
      updates: this.updates,
      failures: this.failures,
      errors: Object.fromEntries([...this.errors].sort(([a], [b]) => a.localeCompare(b))),
      elapsedMs: nowMs - this.startMs,
    };
  }

  summary(nowMs: number, revisions: FleetSummary['revisions']): FleetSummary {
    const fig = (h: Histogram): StepFigures => ({ count: h.count, p50Ms: h.quantile(0.5), p99Ms: h.quantile(0.99), meanMs: h.mean, maxMs: h.count ? h.max : NaN });
    return {
      ...this.progress(nowMs),
      registrationsPerSecond: this.registrationsPerSecond(),
      steps: { register: fig(this.steps.register), session: fig(this.steps.session), refresh: fig(this.steps.refresh) },
      revisions,
    };
  }
}

function ms(v: number): string {
  if (!Number.isFinite(v)) return '-';
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v >= 100 ? 0 : 1)} ms`;
}

function errorsText(errors: Readonly<Record<string, number>>): string {
  const e = Object.entries(errors);
  return e.length === 0 ? 'none' : e.map(([c, n]) => `${c} ${n}`).join(', ');
}

/** One line of the live display. */
export function progressLine(p: FleetProgress): string {
  return (
    `${(p.elapsedMs / 1000).toFixed(0)}s registered ${p.registered}/${p.devices}` +
    (p.registrationFailed ? ` (${p.registrationFailed} failed)` : '') +
    ` sessions ${p.sessions} refreshes ${p.refreshes} updates ${p.updates} failures ${p.failures} errors: ${errorsText(p.errors)}`
  );
}

/** The final summary for people. */
export function summaryText(s: FleetSummary): string {
  const lines = [
    `devices: ${s.devices}, registered ${s.registered}${s.registrationFailed ? `, ${s.registrationFailed} failed` : ''} in ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `registrations/s: ${s.registrationsPerSecond.toFixed(1)}`,
    `sessions: ${s.sessions}, refreshes: ${s.refreshes}, updates taken: ${s.updates}, failed installs: ${s.failures}`,
    'step       count      p50      p99     mean',
    ...STEPS.map((k) => `${k.padEnd(8)} ${String(s.steps[k].count).padStart(7)} ${ms(s.steps[k].p50Ms).padStart(8)} ${ms(s.steps[k].p99Ms).padStart(8)} ${ms(s.steps[k].meanMs).padStart(8)}`),
    `errors: ${errorsText(s.errors)}`,
    'revisions:',
    ...Object.entries(s.revisions).map(([name, revs]) => `  ${name}: ${Object.entries(revs).map(([r, n]) => `r${r} ×${n}`).join(', ')}`),
  ];
  return lines.join('\n') + '\n';
}
