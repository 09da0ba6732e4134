// How values are stored so that they read back the same on both engines.
// Times are TEXT in the fixed-width ISO-8601 UTC form of Date.toISOString()
// ("2025-01-31T12:00:00.000Z"): readable in a SQL shell, and string order is
// time order, so range conditions compare strings. Booleans are INTEGER 0/1
// (SQLite has no boolean type). JSON is TEXT (SQLite has no JSON column type;
// we never query inside it).

/** A time as stored: ISO-8601 UTC with milliseconds. */
export type DbTime = string;
/** A boolean as stored: 0 or 1. */
export type DbBool = 0 | 1;

export function toDbTime(date: Date): DbTime {
  if (Number.isNaN(date.getTime())) throw new RangeError('invalid date');
  const year = date.getUTCFullYear();
  // Outside 0000..9999 toISOString switches to a longer "+YYYYYY" form, which
  // would break string ordering.
  if (year < 0 || year > 9999) throw new RangeError(`date outside years 0000-9999: ${year}`);
  return date.toISOString();
}

export function fromDbTime(value: DbTime): Date {
  return new Date(value);
}

export function fromDbTimeOrNull(value: DbTime | null): Date | null {
  return value === null ? null : new Date(value);
}

export function toDbBool(value: boolean): DbBool {
  return value ? 1 : 0;
}

export function fromDbBool(value: number): boolean {
  return value !== 0;
}

export function toDbJson(value: unknown): string {
  return JSON.stringify(value);
}

export function fromDbJson<T = unknown>(value: string): T {
  return JSON.parse(value) as T;
}
