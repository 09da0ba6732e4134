// snapline fleet keys|run: the fleet simulator's thin CLI (src/fleet). Progress
// on stderr (a bar redrawn in place on a terminal, plain lines otherwise), the
// summary on stdout (JSON with --json).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { PrivateKey } from '../../assertions/index.ts';
import { DEVICE_KEY_BITS, ensureKeysFile, generateKeys, readKeysFile } from '../../fleet/keys.ts';
import { DEFAULT_CONCURRENCY, runFleet } from '../../fleet/run.ts';
import { progressLine, summaryText } from '../../fleet/stats.ts';
import { CliError, io, positiveInt, processIO } from '../io.ts';
import { readNoHooks } from '../no-hooks-input.ts';
import { readTrusted } from '../trusted-input.ts';
import { checkSeedFlags, seedFolder } from '../seed-input.ts';

const collect = (v: string, acc: string[]) => [...acc, v];

/** A progress display on stderr: redrawn in place on a terminal, else a plain line at most every `plainEveryMs`. */
function display(plainEveryMs: number): { tty: boolean; show(line: string, force?: boolean): void; done(): void } {
  const tty = io === processIO && process.stderr.isTTY === true;
  let last = 0;
  let drawn = false;
  return {
    tty,
    show(line, force = false) {
      if (tty) {
        io.err(`\r${line.slice(0, Math.max(20, (process.stderr.columns || 120) - 1))}\x1b[K`);
        drawn = true;
        return;
      }
      const t = Date.now();
      if (!force && t - last < plainEveryMs) return;
      last = t;
      io.err(`${line}\n`);
    },
    done() {
      if (tty && drawn) io.err('\n');
    },
  };
}

function bar(done: number, total: number, width = 30): string {
  const full = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

function keysProgress(startMs: number, d: ReturnType<typeof display>, offset: number) {
  return (done: number, total: number) => {
    const made = done - offset;
    const secs = (Date.now() - startMs) / 1000;
    const rate = secs > 0 ? made / secs : 0;
    const eta = rate > 0 ? ` ETA ${Math.ceil((total - done) / rate)} s` : '';
    d.show(`${bar(done, total)} ${done}/${total} keys, ${rate.toFixed(2)} keys/s${eta}`, done === total);
  };
}

function seconds(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n >= 0) || !Number.isFinite(n)) throw new CliError(`${flag} ${v}: expected a number of seconds`);
  return n * 1000;
}


const SLOW = 'RSA-4096 key generation is slow (about 0.1 to 1 s per key per core)';

interface KeysFlags {
  count: string;
  out: string;
  workers?: string;
  bits?: string;
}

interface RunFlags {
  seed?: string;
  image?: string;
  count: string;
  keys?: string;
  trusted: string[];
  label?: string;
  concurrency?: string;
  refreshEvery?: string;
  duration?: string;
  fail?: string;
  randomSeed?: string;
  store?: string;
  hooks?: string | boolean;
  hookTimeout?: string;
  workers?: string;
  bits?: string;
  json?: boolean;
}

export function registerFleet(program: Command): void {
  const fleet = program.command('fleet').description('the fleet simulator: many simulated devices in one process, registering and refreshing');
  fleet
    .command('keys')
    .requiredOption('--count <n>', 'how many device keys the file should hold')
    .requiredOption('--out <file>', 'the keys file (line-delimited JSON, one PEM a line, mode 0600); an existing file is kept and only the missing keys are made')
    .option('--workers <n>', 'worker threads (default: one per core)')
    .option('--bits <n>', `RSA key size (default ${DEVICE_KEY_BITS}, as snapd; smaller keys only for tests)`)
    .description(`make device keys once, in worker threads, to reuse in every fleet run (${SLOW}: keep the file)`)
    .action(async (flags: KeysFlags) => {
      const count = positiveInt(flags.count, '--count');
      const d = display(5000);
      const have = (await readKeysFile(flags.out)).length;
      if (have < count) io.err(`making ${count - have} RSA-${flags.bits ?? DEVICE_KEY_BITS} keys (${have} already in ${flags.out}); ${SLOW}\n`);
      const r = await ensureKeysFile(flags.out, {
        count,
        ...(flags.workers !== undefined ? { workers: positiveInt(flags.workers, '--workers') } : {}),
        ...(flags.bits !== undefined ? { bits: positiveInt(flags.bits, '--bits') } : {}),
        onProgress: keysProgress(Date.now(), d, have),
      });
      d.done();
      io.out(`${flags.out}: ${r.keys.length} keys (${r.generated} new)\n`);
    });
  fleet
    .command('run')
    .option('--seed <dir>', "the seed folder (or an image builder's output folder), verified once for the fleet")
    .option('--image <file>', 'a disk image (as flashed): the seed is read from its seed partition (needs mtools / e2fsprogs)')
    .requiredOption('--count <n>', 'how many devices')
    .option('--keys <file>', `device keys made by \`snapline fleet keys\`; missing ones are made in worker threads and added to the file (${SLOW})`)
    .option('--trusted <file>', 'trusted root accounts and account-keys (repeatable; $SNAPLINE_TRUSTED by default)', collect, [] as string[])
    .option('--label <label>', 'core20+ recovery system to boot')
    .option('--concurrency <n>', `registrations, sessions and refreshes in flight at once (default ${DEFAULT_CONCURRENCY})`)
    .option('--refresh-every <seconds>', 'each device refreshes this often until --duration (default: once)')
    .option('--duration <seconds>', 'how long the fleet keeps refreshing, from its start (default: one refresh each)')
    .option('--fail <p>', 'probability that installing a refreshed snap fails; the device keeps the old revision (snapd undo)')
    .option('--random-seed <n>', 'seed of the --fail draws, to replay a run')
    .option('--store <url>', "store API base URL (default: the model's store assertion url)")
    .option('--no-hooks <file>', "registration settings from a JSON or YAML file instead of the gadget's prepare-device hook (run once for the fleet)")
    .option('--hook-timeout <seconds>', 'time limit of the prepare-device hook (default 600)')
    .option('--workers <n>', 'key generation worker threads (default: one per core)')
    .option('--bits <n>', `RSA size of keys made here (default ${DEVICE_KEY_BITS}; smaller only for tests)`)
    .option('--json', 'print the summary as JSON on stdout')
    .description('boot N simulated devices from a seed (or a disk image) in one process: register with the vault, open store sessions, keep refreshing; live progress on stderr, a summary at the end')
    .action(async (flags: RunFlags) => {
      const count = positiveInt(flags.count, '--count');
      checkSeedFlags(flags);
      const trustedFiles = flags.trusted.length > 0 ? flags.trusted : (io.env['SNAPLINE_TRUSTED'] ?? '').split(':').filter(Boolean);
      if (trustedFiles.length === 0) throw new CliError('no trusted assertions: give --trusted FILE (e.g. the output of `snapline root export`)');
      const fail = flags.fail === undefined ? undefined : Number(flags.fail);
      if (fail !== undefined && !(fail >= 0 && fail <= 1)) throw new CliError(`--fail ${flags.fail}: expected a probability within 0 and 1`);
      const hookTimeout = seconds(flags.hookTimeout, '--hook-timeout');
      const genOpts = {
        count,
        ...(flags.workers !== undefined ? { workers: positiveInt(flags.workers, '--workers') } : {}),
        ...(flags.bits !== undefined ? { bits: positiveInt(flags.bits, '--bits') } : {}),
      };
      // Keys first: from the file, the missing ones made in workers (and kept in the file).
      const kd = display(5000);
      let keys: PrivateKey[];
      const t0 = Date.now();
      if (flags.keys !== undefined) {
        const have = (await readKeysFile(flags.keys)).length;
        if (have < count) io.err(`making ${count - have} device keys for ${flags.keys}; ${SLOW}\n`);
        keys = (await ensureKeysFile(flags.keys, { ...genOpts, onProgress: keysProgress(t0, kd, have) })).keys;
      } else {
        io.err(`making ${count} device keys (no --keys file: they are not kept); ${SLOW}\n`);
        keys = await generateKeys({ ...genOpts, onProgress: keysProgress(t0, kd, 0) });
      }
      kd.done();
      const workDir = await mkdtemp(join(tmpdir(), 'snapline-fleet-'));
      const d = display(5000);
      try {
        const { summary } = await runFleet(
          {
            seed: await seedFolder(flags, join(workDir, 'seed')),
            trusted: await readTrusted(trustedFiles),
            ...(flags.label !== undefined ? { label: flags.label } : {}),
            count,
            keys,
            ...(flags.concurrency !== undefined ? { concurrency: positiveInt(flags.concurrency, '--concurrency') } : {}),
            ...(flags.refreshEvery !== undefined ? { refreshEveryMs: seconds(flags.refreshEvery, '--refresh-every')! } : {}),
            ...(flags.duration !== undefined ? { durationMs: seconds(flags.duration, '--duration')! } : {}),
            ...(fail !== undefined ? { failProbability: fail } : {}),
            ...(flags.randomSeed !== undefined ? { randomSeed: positiveInt(flags.randomSeed, '--random-seed') } : {}),
            ...(flags.store !== undefined ? { storeUrl: flags.store } : {}),
            ...(typeof flags.hooks === 'string' ? { noHooks: await readNoHooks(flags.hooks) } : {}),
            workDir,
          },
          {
            clock: { now: () => io.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
            nodePath: process.execPath,
            path: io.env['PATH'] ?? '/usr/bin:/bin',
            ...(hookTimeout !== undefined ? { hookTimeoutMs: hookTimeout } : {}),
            log: (line) => io.err(`${line}\n`),
            onProgress: (p, final) => d.show(progressLine(p), final),
            progressEveryMs: d.tty ? 500 : 5000,
          },
        );
        d.done();
        io.out(flags.json ? JSON.stringify(summary) + '\n' : summaryText(summary));
        const down = summary.devices - summary.sessions;
        if (down > 0) throw new CliError(`${down} of ${summary.devices} devices did not register or open a store session (errors: ${Object.entries(summary.errors).map(([c, n]) => `${c} ${n}`).join(', ')})`);
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    });
}
