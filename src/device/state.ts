// The device's state as the state folder keeps it (state.json; the device key
// is a separate PEM file, mode 0600). Pure: types and small rules; the file
// adapter is state-store.ts. Times are RFC 3339 strings, assertions their
// encoded text, so that the file is readable and diffable.
import type { Epoch } from './io.ts';
import type { DeviceErrorCode } from './errors.ts';

export const STATE_VERSION = 1;

export interface InstalledSnap {
  readonly name: string;
  /** "" for unasserted snaps (never refreshed). */
  readonly snapId: string;
  /** 0 for unasserted snaps. */
  readonly revision: number;
  /** The tracking channel. */
  readonly channel: string;
  /** RFC 3339; when this revision was installed (seeding or refresh). */
  readonly refreshedDate: string;
  /** "" when not in a cohort. */
  readonly cohort: string;
  readonly type: string;
  readonly version: string;
  readonly epoch: Epoch;
  /** Absolute path of the snap file of this revision. */
  readonly file: string;
}

/** What the prepare-device hook (or --no-hooks) set for registration (snapd's gadget config keys). */
export interface RegistrationConfig {
  /** device-service.url, with a trailing slash. */
  readonly url?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly proposedSerial?: string;
  readonly body?: string;
}

export type RegistrationStatus =
  /** Not tried yet (or waiting for the next attempt, `nextAttemptAt`). */
  | 'unregistered'
  /** A serial is stored. */
  | 'registered'
  /** The last attempt failed; `code`, `reason`; another may follow after `nextAttemptAt`. */
  | 'failed';

export interface HookRun {
  readonly ran: boolean;
  /** 'no-hook': the gadget has none; 'file': --no-hooks. */
  readonly source: 'hook' | 'no-hook' | 'file';
  readonly exitCode?: number | null;
  readonly timedOut?: boolean;
  /** stdout and stderr, interleaved, truncated. */
  readonly output?: string;
}

export interface RegistrationState {
  readonly status: RegistrationStatus;
  /** Become-operational attempts so far (snapd's change-level retries). */
  readonly attempts: number;
  readonly code?: DeviceErrorCode;
  readonly reason?: string;
  /** snapd's become-operational back-off: 5 min, doubling; past 12 h it becomes 24 h. */
  readonly backoffMs?: number;
  readonly nextAttemptAt?: string;
  readonly hook?: HookRun;
  readonly config?: RegistrationConfig;
  /** Requests of the last attempt: request-ids asked, serial POSTs, 202 polls. */
  readonly requests?: { requestIds: number; serialPosts: number; polls: number };
}

export interface RefreshOutcome {
  readonly at: string;
  readonly outcome: 'updated' | 'no-updates' | 'failed' | 'partial';
  readonly updated: readonly { name: string; from: number; to: number; channel: string }[];
  readonly failed: readonly { name: string; revision?: number; code: DeviceErrorCode; reason: string }[];
  readonly code?: DeviceErrorCode;
  readonly reason?: string;
}

export interface DeviceState {
  readonly version: typeof STATE_VERSION;
  readonly phase: 'seeded';
  /** The model assertion. */
  readonly model: string;
  readonly brand: string;
  readonly modelName: string;
  /** The trusted root (accounts and account-keys), as a stream. */
  readonly trusted: string;
  /** Every other assertion the device verified (seed, serial chain, refreshes), as a stream. */
  readonly assertions: string;
  readonly seed: { readonly dir: string; readonly form: 'uc16' | 'uc20'; readonly label?: string };
  /** Store API base URL; undefined: the model's store assertion's url, if any. */
  readonly storeUrl?: string;
  readonly snaps: readonly InstalledSnap[];
  /** SHA3-384 id of the device key (the key itself is device-key.pem). */
  readonly deviceKeyId?: string;
  readonly registration: RegistrationState;
  /** The serial assertion. */
  readonly serial?: string;
  readonly session?: { readonly macaroon: string; readonly obtainedAt: string };
  readonly lastRefresh?: RefreshOutcome;
  readonly bootedAt: string;
}

/** snapd's become-operational back-off after a failed attempt (devicemgr.go ensureOperationalShouldBackoff). */
export function nextBackoffMs(previous: number | undefined): number {
  if (!previous) return 5 * 60_000;
  const doubled = previous * 2;
  return doubled > 12 * 3_600_000 ? 24 * 3_600_000 : doubled;
}

/** A device whose seed did not verify: nothing is installed; the reason is kept. */
export interface SeedFailedState {
  readonly version: typeof STATE_VERSION;
  readonly phase: 'seed-failed';
  readonly seed: { readonly dir: string };
  readonly error: { readonly code: DeviceErrorCode; readonly reason: string };
  readonly at: string;
}

export type StoredState = DeviceState | SeedFailedState;

/** RFC 3339 in UTC with milliseconds (snapd marshals its times as RFC 3339 with fractional seconds). */
export function rfc3339(d: Date): string {
  return d.toISOString();
}
