// Rollout plans (update control, docs/update-control.md): a release goes
// through steps (a percentage of devices and/or device groups), each with a
// soak time, a success threshold, an error threshold with a minimum number
// of devices, and advancing by itself or waiting for a person. Pure: what a
// plan file says, what a release is at a step, and what the store should do
// next given the counts it measured and the time it passes in.
import { formatWindows, parseWindow, WindowError, type MaintenanceWindow } from './window.ts';

export interface PlanStep {
  /** Percentage of devices offered the revision at this step (null: only the step's groups and earlier ones). */
  readonly percentage: number | null;
  /** Device groups whose devices are offered the revision from this step on. */
  readonly groups: readonly string[];
  /** Seconds the step runs before it may advance. */
  readonly soakSeconds: number;
  /** Percent of the devices offered that must run the revision before advancing (null: no condition). */
  readonly successThreshold: number | null;
  /** Percent of the devices offered counted as failed that pauses the rollout by itself (null: never). */
  readonly errorThreshold: number | null;
  /** Devices that must have been offered the revision before the error threshold applies. */
  readonly minDevices: number;
  /** After this step, wait for `rollout advance` instead of advancing by itself. */
  readonly approval: boolean;
}

export interface RolloutPlan {
  readonly steps: readonly PlanStep[];
  /** A device offered the revision that still reports another at this many check-ins has failed (snapd reverted it). */
  readonly failAfterCheckins: number;
  /** ... or this many seconds after it downloaded the revision (null: check-ins only). */
  readonly failAfterSeconds: number | null;
  /** When devices are offered the revision (empty: any time). */
  readonly windows: readonly MaintenanceWindow[];
}

export class PlanError extends Error {}

export const MAX_STEPS = 20;
const DEFAULT_FAIL_AFTER_CHECKINS = 3;
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** A soak time: seconds, or "90s", "30m", "2h", "1d". */
export function parseDuration(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  const m = typeof v === 'string' ? /^(\d+)([smhd])$/.exec(v.trim()) : null;
  if (!m) throw new PlanError(`${what} must be seconds or a duration such as 30m, 2h, 1d; got ${JSON.stringify(v)}`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** Plan files may write keys kebab-case (soak-time) or camelCase (soakTime). */
const camel = (k: string) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
function fields(o: unknown, what: string, known: readonly string[]): Record<string, unknown> {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new PlanError(`${what} must be an object`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const c = camel(k);
    if (!known.includes(c)) throw new PlanError(`unknown field ${JSON.stringify(k)} in ${what} (${known.join(', ')})`);
    out[c] = v;
  }
  return out;
}

function percent(v: unknown, what: string, min: number): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > 100) throw new PlanError(`${what} must be a number from ${min} to 100, got ${JSON.stringify(v)}`);
  return v;
}

function count(v: unknown, what: string, dflt: number, max = 10_000_000): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw new PlanError(`${what} must be a whole number from 1 to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

const GROUP = /^[a-zA-Z0-9](?:[a-zA-Z0-9._-]{0,62}[a-zA-Z0-9])?$/;

/**
 * A plan as a file or request body writes it (already parsed from YAML or
 * JSON), checked and normalised; PlanError says what is wrong and where.
 * Percentages never go down from a step to the next (raising only adds devices).
 */
export function parsePlan(input: unknown): RolloutPlan {
  const o = fields(input, 'the plan', ['steps', 'failAfterCheckins', 'failAfter', 'windows']);
  if (!Array.isArray(o.steps) || o.steps.length === 0) throw new PlanError('the plan needs steps: a list of at least one step');
  if (o.steps.length > MAX_STEPS) throw new PlanError(`a plan has at most ${MAX_STEPS} steps`);
  let before = 0;
  const steps = o.steps.map((raw, i): PlanStep => {
    const where = `step ${i + 1}`;
    const s = fields(raw, where, ['percentage', 'group', 'groups', 'soak', 'soakTime', 'successThreshold', 'errorThreshold', 'minDevices', 'advance']);
    const groups = [...(s.group !== undefined ? [s.group] : []), ...(Array.isArray(s.groups) ? s.groups : s.groups !== undefined ? [null] : [])];
    for (const g of groups) if (typeof g !== 'string' || !GROUP.test(g)) throw new PlanError(`${where}: a group is a device group's name, got ${JSON.stringify(g)}`);
    const percentage = percent(s.percentage, `${where}: percentage`, 0.01);
    if (percentage === null && groups.length === 0) throw new PlanError(`${where} needs a percentage or a group`);
    if (percentage !== null && percentage < before) throw new PlanError(`${where}: percentage ${percentage} is under the previous step's ${before} (a plan only adds devices)`);
    if (percentage !== null) before = percentage;
    const advance = s.advance ?? 'auto';
    if (advance !== 'auto' && advance !== 'approval') throw new PlanError(`${where}: advance is auto or approval, got ${JSON.stringify(advance)}`);
    return {
      percentage,
      groups: groups as string[],
      soakSeconds: s.soak !== undefined || s.soakTime !== undefined ? parseDuration(s.soak ?? s.soakTime, `${where}: soak`) : 0,
      successThreshold: percent(s.successThreshold, `${where}: success-threshold`, 0),
      errorThreshold: percent(s.errorThreshold, `${where}: error-threshold`, 0.01),
      minDevices: count(s.minDevices, `${where}: min-devices`, 1),
      approval: advance === 'approval',
    };
  });
  let windows: MaintenanceWindow[] = [];
  if (o.windows !== undefined) {
    if (!Array.isArray(o.windows)) throw new PlanError('windows must be a list of {days?, start, end}');
    try {
      windows = o.windows.map(parseWindow);
    } catch (e) {
      if (e instanceof WindowError) throw new PlanError(e.message);
      throw e;
    }
  }
  const failAfterSeconds = o.failAfter === undefined ? null : parseDuration(o.failAfter, 'fail-after');
  if (failAfterSeconds === 0) throw new PlanError('fail-after must be longer than 0');
  return { steps, failAfterCheckins: count(o.failAfterCheckins, 'fail-after-checkins', DEFAULT_FAIL_AFTER_CHECKINS, 1000), failAfterSeconds, windows };
}

/** What a release is at a step: steps add up (a group stays in, the percentage is the highest so far; 0 with groups only). */
export function atStep(plan: RolloutPlan, step: number): { percentage: number; groups: string[] } {
  const upTo = plan.steps.slice(0, step + 1);
  return { percentage: Math.max(0, ...upTo.map((s) => s.percentage ?? 0)), groups: [...new Set(upTo.flatMap((s) => s.groups))] };
}

/** What the store measured of the release: devices offered its revision, running it, counted as failed. */
export interface PlanCounts {
  readonly offered: number;
  readonly took: number;
  readonly failed: number;
}

/** Where a plan stands: the store acts on `advance` and `halt`; the others are shown. */
export type PlanVerdict =
  | { readonly state: 'done'; readonly step: number }
  | { readonly state: 'paused'; readonly step: number }
  | { readonly state: 'halt'; readonly step: number; readonly reason: string }
  | { readonly state: 'soaking'; readonly step: number; readonly until: string }
  | { readonly state: 'below-success'; readonly step: number; readonly share: number; readonly threshold: number }
  | { readonly state: 'awaiting-approval'; readonly step: number }
  | { readonly state: 'advance'; readonly step: number; readonly to: number };

const share = (n: number, of: number) => (of === 0 ? 0 : Math.round((n / of) * 1000) / 10);

/**
 * What a plan at `step` (0-based), started at `startedAt`, should do now:
 * paused stays; at the error threshold (once enough devices were offered)
 * it halts; before the soak time ends, or under the success threshold, it
 * waits; an approval step waits for a person; else it advances. The last
 * step is done.
 */
export function evaluateStep(plan: RolloutPlan, step: number, startedAt: Date, paused: boolean, c: PlanCounts, now: Date): PlanVerdict {
  const s = plan.steps[step];
  if (!s) return { state: 'done', step };
  if (paused) return { state: 'paused', step };
  if (s.errorThreshold !== null && c.offered >= s.minDevices && c.failed * 100 >= s.errorThreshold * c.offered && c.failed > 0) {
    return { state: 'halt', step, reason: `${c.failed} of ${c.offered} devices offered the revision still reported another ${failRule(plan.failAfterCheckins, plan.failAfterSeconds)} (${share(c.failed, c.offered)}%, threshold ${s.errorThreshold}%) at step ${step + 1} of ${plan.steps.length}` };
  }
  if (step === plan.steps.length - 1) return { state: 'done', step };
  const until = startedAt.getTime() + s.soakSeconds * 1000;
  if (now.getTime() < until) return { state: 'soaking', step, until: new Date(until).toISOString() };
  if (s.successThreshold !== null && (c.offered === 0 || c.took * 100 < s.successThreshold * c.offered)) return { state: 'below-success', step, share: share(c.took, c.offered), threshold: s.successThreshold };
  if (s.approval) return { state: 'awaiting-approval', step };
  return { state: 'advance', step, to: step + 1 };
}

/** When a device that tried the revision has failed, as a person reads it: "after 2 check-ins", "after 2 check-ins or 1h after downloading it". */
export function failRule(checkins: number, seconds: number | null | undefined): string {
  if (seconds == null) return `after ${checkins} check-ins`;
  const d = seconds % 86_400 === 0 ? `${seconds / 86_400}d` : seconds % 3600 === 0 ? `${seconds / 3600}h` : seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
  return `after ${checkins} check-ins or ${d} after downloading it`;
}

/** A verdict as a person reads it. */
export function explainVerdict(plan: RolloutPlan, v: PlanVerdict): string {
  const at = `step ${v.step + 1} of ${plan.steps.length}`;
  const windows = plan.windows.length ? ` (offered in ${formatWindows(plan.windows)})` : '';
  switch (v.state) {
    case 'done':
      return `${at}: the last step${windows}`;
    case 'paused':
      return `${at}: paused (resume, then it goes on)`;
    case 'halt':
      return `${at}: pausing: ${v.reason}`;
    case 'soaking':
      return `${at}: soaking until ${v.until}${windows}`;
    case 'below-success':
      return `${at}: ${v.share}% of the devices offered run the revision, under the success threshold ${v.threshold}%${windows}`;
    case 'awaiting-approval':
      return `${at}: waiting for approval (snapline rollout advance)${windows}`;
    case 'advance':
      return `${at}: ready to advance to step ${v.to + 1}`;
  }
}
