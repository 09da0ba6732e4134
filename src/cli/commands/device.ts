// snapline device boot|refresh|status: a thin shell over src/device (progress
// on stderr, the state on stdout with --json). The state folder keeps every
// outcome; the exit status says whether the device got where it was asked to.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { PrivateKey, decodeStream } from '../../assertions/index.ts';
import { boot, refreshDevice, type AgentEnv } from '../../device/agent.ts';
import { readState } from '../../device/state-store.ts';
import type { DeviceState, StoredState } from '../../device/state.ts';
import { CliError, io } from '../io.ts';
import { readNoHooks } from '../no-hooks-input.ts';
import { readTrusted } from '../trusted-input.ts';
import { seedFolder } from '../seed-input.ts';

const collect = (v: string, acc: string[]) => [...acc, v];


function env(flags: { hookTimeout?: string }): AgentEnv {
  const timeout = flags.hookTimeout === undefined ? undefined : Number(flags.hookTimeout);
  if (timeout !== undefined && !(timeout > 0)) throw new CliError(`--hook-timeout ${flags.hookTimeout}: expected a number of seconds`);
  return {
    clock: { now: () => io.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
    nodePath: process.execPath,
    path: io.env['PATH'] ?? '/usr/bin:/bin',
    ...(timeout !== undefined ? { hookTimeoutMs: timeout * 1000 } : {}),
    log: (line) => io.err(`${line}\n`),
  };
}

async function readDeviceKey(file: string): Promise<PrivateKey> {
  try {
    return PrivateKey.fromPem(await readFile(file));
  } catch (err) {
    throw new CliError(`--device-key ${file}: ${(err as Error).message}`);
  }
}

function snapLines(s: DeviceState): string[] {
  const rows = s.snaps.map((x) => [x.name, x.revision ? String(x.revision) : 'x1', x.channel || '-', x.refreshedDate, x.cohort ? 'cohort' : '']);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['name', 'rev', 'channel', 'refreshed'][i]!.length));
  const fmt = (r: string[]) => `  ${r.slice(0, 4).map((c, i) => c.padEnd(widths[i]!)).join('  ')}${r[4] ? `  ${r[4]}` : ''}`.trimEnd();
  return [fmt(['name', 'rev', 'channel', 'refreshed']), ...rows.map(fmt)];
}

/** What `device status` prints for people. */
export function statusText(st: StoredState): string {
  if (st.phase === 'seed-failed') return `device: not booted\nseed: ${st.seed.dir}\nerror: ${st.error.reason} (${st.error.code})\n`;
  const r = st.registration;
  const serial = st.serial ? decodeStream(st.serial)[0]!.headerString('serial') : '-';
  const lines = [
    `model: ${st.brand}/${st.modelName}`,
    `seed: ${st.seed.dir} (${st.seed.form}${st.seed.label ? `, system ${st.seed.label}` : ''})`,
    `serial: ${serial}`,
    `registration: ${r.status}${r.attempts ? ` (${r.attempts} attempt${r.attempts > 1 ? 's' : ''})` : ''}`,
  ];
  if (r.status === 'failed') {
    lines.push(`  error: ${r.reason} (${r.code})`);
    if (r.nextAttemptAt) lines.push(`  next attempt: ${r.nextAttemptAt} or at the next boot`);
  }
  if (r.hook?.ran) lines.push(`  prepare-device hook: ${r.hook.timedOut ? 'timed out' : `exit ${r.hook.exitCode ?? 'none'}`}${r.hook.output ? `, output:\n${r.hook.output.replace(/^/gm, '    | ').trimEnd()}` : ''}`);
  lines.push('snaps:', ...snapLines(st));
  const l = st.lastRefresh;
  if (l) {
    lines.push(`last refresh: ${l.at} ${l.outcome}${l.code ? ` (${l.code}: ${l.reason})` : ''}`);
    for (const u of l.updated) lines.push(`  ${u.name} ${u.from} -> ${u.to} (${u.channel})`);
    for (const f of l.failed) lines.push(`  ${f.name}${f.revision ? ` ${f.revision}` : ''} failed: ${f.reason} (${f.code})`);
  } else lines.push('last refresh: never');
  return lines.join('\n') + '\n';
}

function statusJson(st: StoredState): unknown {
  if (st.phase === 'seed-failed') return st;
  // The assertion streams are long and not for scripts: leave them to the state file.
  const { trusted: _t, assertions: _a, model: _m, ...rest } = st;
  return { ...rest, serial: st.serial ? decodeStream(st.serial)[0]!.headerString('serial') : undefined };
}

export function registerDevice(program: Command): void {
  const device = program.command('device').description('a simulated device: boot from a seed, register with the serial vault, refresh from the brand store');
  device
    .command('boot')
    .option('--seed <dir>', "the seed folder (or an image builder's output folder)")
    .option('--image <file>', 'a disk image (as flashed): the seed is read from its seed partition into STATE/seed (needs mtools / e2fsprogs)')
    .requiredOption('--state <dir>', 'the device state folder (created; a booted device resumes its registration)')
    .option('--trusted <file>', 'trusted root accounts and account-keys (repeatable; $SNAPLINE_TRUSTED by default)', collect, [] as string[])
    .option('--label <label>', 'core20+ recovery system to boot (default: the only one, or the one the seed boots)')
    .option('--no-hooks <file>', "registration settings from a JSON or YAML file instead of the gadget's prepare-device hook")
    .option('--device-key <file>', 'a pre-made device key (PEM); default: an RSA-4096 key made on first boot (slow)')
    .option('--store <url>', "store API base URL (default: the model's store assertion url)")
    .option('--hook-timeout <seconds>', 'time limit of the prepare-device hook (default 600, as snapd)')
    .option('--json', 'print the state as JSON on stdout')
    .description('verify the seed, install its snaps, run prepare-device, register (RSA-4096 key, request-id, serial)')
    .action(async (flags: { seed?: string; image?: string; state: string; trusted: string[]; label?: string; hooks?: string | boolean; deviceKey?: string; store?: string; hookTimeout?: string; json?: boolean }) => {
      const trustedFiles = flags.trusted.length > 0 ? flags.trusted : (io.env['SNAPLINE_TRUSTED'] ?? '').split(':').filter(Boolean);
      if (trustedFiles.length === 0) throw new CliError('no trusted assertions: give --trusted FILE (e.g. the output of `snapline root export`)');
      const seed = (await readState(flags.state))?.phase === 'seeded' ? (flags.seed ?? join(flags.state, 'seed')) : await seedFolder(flags, join(flags.state, 'seed'));
      const st = await boot(
        {
          seed,
          state: flags.state,
          trusted: await readTrusted(trustedFiles),
          ...(flags.label !== undefined ? { label: flags.label } : {}),
          ...(typeof flags.hooks === 'string' ? { noHooks: await readNoHooks(flags.hooks) } : {}),
          ...(flags.deviceKey !== undefined ? { deviceKey: await readDeviceKey(flags.deviceKey) } : {}),
          ...(flags.store !== undefined ? { storeUrl: flags.store } : {}),
        },
        env(flags),
      );
      const stored = st ?? (await readState(flags.state))!;
      io.out(flags.json ? JSON.stringify(statusJson(stored)) + '\n' : statusText(stored));
      if (stored.phase === 'seed-failed') throw new CliError(`the seed does not verify (${stored.error.code})`);
      if (stored.registration.status !== 'registered') throw new CliError(`the device is not registered (${stored.registration.code})`);
    });
  device
    .command('refresh')
    .requiredOption('--state <dir>', 'the device state folder')
    .option('--store <url>', 'store API base URL (kept for later refreshes)')
    .option('--fail <snap>', 'simulate a failed install of SNAP (or SNAP=REVISION): the device undoes it as snapd does (repeatable)', collect, [] as string[])
    .option('--json', 'print the state as JSON on stdout')
    .description('refresh as snapd auto-refresh does: device session, snap action with the full context, download, verify, install')
    .action(async (flags: { state: string; store?: string; fail: string[]; json?: boolean }) => {
      const rules = flags.fail.map((f) => {
        const [name, rev] = f.split('=');
        if (!name || (rev !== undefined && !/^\d+$/.test(rev))) throw new CliError(`--fail ${f}: expected SNAP or SNAP=REVISION`);
        return { name, revision: rev === undefined ? undefined : Number(rev) };
      });
      const st = await refreshDevice(
        {
          state: flags.state,
          ...(flags.store !== undefined ? { storeUrl: flags.store } : {}),
          ...(rules.length > 0 ? { failInstall: (name: string, revision: number) => rules.some((r) => r.name === name && (r.revision === undefined || r.revision === revision)) } : {}),
        },
        env({}),
      );
      io.out(flags.json ? JSON.stringify(statusJson(st)) + '\n' : statusText(st));
      const outcome = st.lastRefresh?.outcome;
      if (outcome === 'failed' || outcome === 'partial') throw new CliError(`refresh ${outcome}${st.lastRefresh?.code ? ` (${st.lastRefresh.code})` : ''}`);
    });
  device
    .command('status')
    .requiredOption('--state <dir>', 'the device state folder')
    .option('--json', 'print the state as JSON')
    .description('model, serial, registration, installed snaps, last refresh')
    .action(async (flags: { state: string; json?: boolean }) => {
      const st = await readState(flags.state);
      if (!st) throw new CliError(`${flags.state} holds no device state: run \`snapline device boot\` first`);
      io.out(flags.json ? JSON.stringify(statusJson(st)) + '\n' : statusText(st));
    });
}
