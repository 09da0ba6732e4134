// Maintenance windows (update control, docs/update-control.md): the hours at
// which devices are offered a new revision; outside them devices keep what
// they have. Pure: the caller passes the time. Times are UTC.

export const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Day = (typeof DAYS)[number];

export interface MaintenanceWindow {
  /** Days the window opens on (0 = Sunday); a window that wraps midnight ends on the next day. */
  readonly days: readonly number[];
  /** Minutes after midnight UTC: from `start` (included) to `end` (excluded); end ≤ start wraps midnight, end = start is the whole day. */
  readonly start: number;
  readonly end: number;
}

export class WindowError extends Error {}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

function minutes(s: unknown, what: string): number {
  const m = typeof s === 'string' ? HHMM.exec(s) : null;
  if (!m) throw new WindowError(`${what} must be a time HH:MM (UTC), got ${JSON.stringify(s)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** A window as a plan file writes it: `{days?: [mon, …], start: "02:00", end: "05:00"}` (every day without days). */
export function parseWindow(w: unknown): MaintenanceWindow {
  if (typeof w !== 'object' || w === null || Array.isArray(w)) throw new WindowError('a maintenance window is an object {days?, start, end}');
  const o = w as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['days', 'start', 'end'].includes(k)) throw new WindowError(`unknown field ${JSON.stringify(k)} in a maintenance window (days, start, end)`);
  let days = [0, 1, 2, 3, 4, 5, 6];
  if (o.days !== undefined) {
    if (!Array.isArray(o.days) || o.days.length === 0) throw new WindowError('days must be a list such as [mon, tue]');
    days = o.days.map((d) => {
      const i = DAYS.indexOf(String(d).toLowerCase().slice(0, 3) as Day);
      if (i < 0 || typeof d !== 'string') throw new WindowError(`unknown day ${JSON.stringify(d)} (mon, tue, wed, thu, fri, sat, sun)`);
      return i;
    });
  }
  return { days: [...new Set(days)].sort(), start: minutes(o.start, 'start'), end: minutes(o.end, 'end') };
}

/** Whether `now` is in one of the windows (no windows: always). */
export function inWindow(windows: readonly MaintenanceWindow[] | undefined, now: Date): boolean {
  if (!windows || windows.length === 0) return true;
  const day = now.getUTCDay();
  const minute = now.getUTCHours() * 60 + now.getUTCMinutes();
  return windows.some((w) => {
    if (w.start === w.end) return w.days.includes(day);
    if (w.start < w.end) return w.days.includes(day) && minute >= w.start && minute < w.end;
    return (w.days.includes(day) && minute >= w.start) || (w.days.includes((day + 6) % 7) && minute < w.end);
  });
}

const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

/** The windows as a person reads them: "mon,tue 02:00-05:00 UTC; every day 22:00-01:00 UTC". */
export function formatWindows(windows: readonly MaintenanceWindow[]): string {
  return windows.map((w) => `${w.days.length === 7 ? 'every day' : w.days.map((d) => DAYS[d]).join(',')} ${hhmm(w.start)}-${hhmm(w.end)} UTC`).join('; ');
}
