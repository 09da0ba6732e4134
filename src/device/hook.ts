// Running the gadget's prepare-device hook as snapd does (hookstate,
// ctlcmd): the gadget is unpacked into a scratch folder ($SNAP), a `snapctl`
// stand-in comes first on PATH and keeps `snapctl set` values in a JSON file
// (and answers `snapctl get`), the hook has a time limit (snapd's default
// hook timeout is 10 minutes) after which its whole process group is
// killed. Output is recorded, bounded. I/O adapter.
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SquashfsReader } from '../snap/index.ts';
import type { ConfigDoc } from './config.ts';
import { errorMessage } from './io.ts';

export const DEFAULT_HOOK_TIMEOUT_MS = 10 * 60_000;
const MAX_OUTPUT = 64 * 1024;

export interface HookOptions {
  gadgetFile: string;
  gadgetName: string;
  revision: number;
  architecture: string;
  timeoutMs?: number;
  /** The node binary that runs the snapctl stand-in (process.execPath). */
  nodePath: string;
  /** PATH after the stand-in's folder. */
  path: string;
}

export interface HookOutcome {
  ok: boolean;
  exitCode: number | null;
  timedOut: boolean;
  output: string;
  /** What the hook set (nested, as snapd's config). */
  config: ConfigDoc;
  /** Why it failed, in words. */
  reason?: string;
}

// The snapctl stand-in: get / set / unset over a JSON file, as snapd's ctlcmd treats values
// (a value that parses as JSON is stored as such, otherwise as a string; `-s` forces a string,
// `-t` requires JSON; `key!` or `unset key` removes it).
const SNAPCTL = String.raw`
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
const file = process.env.SNAPLINE_SNAPCTL_CONFIG;
const snap = process.env.SNAP_NAME;
const die = (m) => { process.stderr.write('error: ' + m + '\n'); process.exit(1); };
const load = () => { try { return JSON.parse(readFileSync(file, 'utf8')); } catch { return {}; } };
const save = (c) => { writeFileSync(file + '.tmp', JSON.stringify(c)); renameSync(file + '.tmp', file); };
const KEY = /^(?:[a-z0-9]+-?)*[a-z](?:-?[a-z0-9])*$/;
const path = (k) => { const p = k.split('.'); if (p.some((s) => !KEY.test(s))) die('invalid option name: "' + k + '"'); return p; };
const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const lookup = (c, p) => p.reduce((o, s) => (isObj(o) && s in o ? o[s] : undefined), c);
const put = (c, p, v) => { let o = c; for (const s of p.slice(0, -1)) { if (!isObj(o[s])) o[s] = {}; o = o[s]; } if (v === undefined) delete o[p.at(-1)]; else o[p.at(-1)] = v; };
const [cmd, ...args] = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('-')));
const rest = args.filter((a) => !a.startsWith('-'));
if (cmd === 'set' || cmd === 'unset') {
  const c = load();
  for (const a of rest) {
    if (cmd === 'unset' || a.endsWith('!')) { put(c, path(cmd === 'unset' ? a : a.slice(0, -1)), undefined); continue; }
    const i = a.indexOf('=');
    if (i <= 0) die('invalid configuration: "' + a + '" (want key=value)');
    const raw = a.slice(i + 1);
    let v = raw;
    if (!flags.has('-s')) { try { v = JSON.parse(raw); } catch { if (flags.has('-t')) die('failed to parse JSON: ' + raw); } }
    put(c, path(a.slice(0, i)), v);
  }
  save(c);
} else if (cmd === 'get') {
  const c = load();
  if (rest.length === 0) { process.stdout.write(JSON.stringify(c, null, '\t') + '\n'); process.exit(0); }
  const out = {};
  for (const k of rest) {
    const v = lookup(c, path(k));
    if (v === undefined) { if (rest.length === 1 && !flags.has('-d')) die('snap "' + snap + '" has no "' + k + '" configuration option'); continue; }
    out[k] = v;
  }
  if (rest.length === 1 && !flags.has('-d')) { const v = out[rest[0]]; process.stdout.write((typeof v === 'string' ? v : JSON.stringify(v, null, '\t')) + '\n'); }
  else process.stdout.write(JSON.stringify(out, null, '\t') + '\n');
} else {
  die('snapctl ' + (cmd ?? '') + ': not available on the simulated device (get, set and unset are)');
}
`;

/** Writes the gadget's files under `dir` (modes kept; symlinks as they are). */
async function unpack(file: string, dir: string): Promise<void> {
  const r = await SquashfsReader.openFile(file);
  try {
    for await (const { path, stat } of r.walk()) {
      if (path === '' || path === '/') continue;
      const dest = join(dir, path);
      if (!dest.startsWith(dir + '/')) continue;
      if (stat.type === 'directory') await mkdir(dest, { recursive: true });
      else if (stat.type === 'file') {
        await mkdir(dirname(dest), { recursive: true });
        await writeFile(dest, await r.readFile(path, Number.MAX_SAFE_INTEGER));
        await chmod(dest, stat.mode & 0o777);
      } else if (stat.type === 'symlink' && stat.target !== undefined) {
        await mkdir(dirname(dest), { recursive: true });
        await symlink(stat.target, dest);
      }
    }
  } finally {
    await r.close();
  }
}

/** Runs meta/hooks/prepare-device of the gadget; never throws for what the hook does. */
export async function runPrepareDevice(o: HookOptions): Promise<HookOutcome> {
  const work = await mkdtemp(join(tmpdir(), 'snapline-hook-'));
  const snapDir = join(work, 'snap');
  const binDir = join(work, 'bin');
  const configFile = join(work, 'config.json');
  const failed = (reason: string, output = ''): HookOutcome => ({ ok: false, exitCode: null, timedOut: false, output, config: {}, reason });
  try {
    try {
      await unpack(o.gadgetFile, snapDir);
    } catch (err) {
      return failed(`cannot unpack the gadget ${o.gadgetFile}: ${errorMessage(err)}`);
    }
    await mkdir(binDir);
    await mkdir(join(work, 'data'));
    await mkdir(join(work, 'common'));
    await writeFile(join(work, 'snapctl.mjs'), SNAPCTL);
    await writeFile(join(binDir, 'snapctl'), `#!/bin/sh\nexec '${o.nodePath.replaceAll("'", `'\\''`)}' '${join(work, 'snapctl.mjs')}' "$@"\n`, { mode: 0o755 });
    await writeFile(configFile, '{}');
    const hook = join(snapDir, 'meta/hooks/prepare-device');
    const env = {
      PATH: `${binDir}:${o.path}`,
      HOME: join(work, 'data'),
      SNAP: snapDir,
      SNAP_NAME: o.gadgetName,
      SNAP_INSTANCE_NAME: o.gadgetName,
      SNAP_REVISION: String(o.revision || 'x1'),
      SNAP_DATA: join(work, 'data'),
      SNAP_COMMON: join(work, 'common'),
      SNAP_ARCH: o.architecture,
      SNAP_COOKIE: 'snapline-simulated',
      SNAPLINE_SNAPCTL_CONFIG: configFile,
    };
    const run = await new Promise<{ exitCode: number | null; timedOut: boolean; output: string; error?: string }>((resolve) => {
      let output = '';
      let timedOut = false;
      const child = spawn(hook, [], { cwd: snapDir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      const take = (b: Buffer) => {
        if (output.length < MAX_OUTPUT) output += b.toString('utf8').slice(0, MAX_OUTPUT - output.length);
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      const killGroup = () => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup();
      }, o.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS);
      child.on('error', (err) => {
        clearTimeout(timer);
        resolve({ exitCode: null, timedOut, output, error: err.message });
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        // Whatever the hook left running goes with it; then the pipes close.
        killGroup();
        const done = () => resolve({ exitCode: code, timedOut, output });
        const grace = setTimeout(done, 2000);
        child.on('close', () => {
          clearTimeout(grace);
          done();
        });
      });
    });
    const output = run.output.length >= MAX_OUTPUT ? `${run.output}\n[output truncated at ${MAX_OUTPUT} bytes]` : run.output;
    if (run.error) return failed(`cannot run the prepare-device hook: ${run.error}`, output);
    if (run.timedOut) return { ok: false, exitCode: run.exitCode, timedOut: true, output, config: {}, reason: `the prepare-device hook did not finish within ${Math.round((o.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS) / 1000)} s and was killed` };
    let config: ConfigDoc = {};
    try {
      config = JSON.parse(await readFile(configFile, 'utf8')) as ConfigDoc;
    } catch (err) {
      return failed(`cannot read what the hook set: ${errorMessage(err)}`, output);
    }
    if (run.exitCode !== 0) return { ok: false, exitCode: run.exitCode, timedOut: false, output, config, reason: `the prepare-device hook exited with status ${run.exitCode ?? 'none (killed)'}` };
    return { ok: true, exitCode: 0, timedOut: false, output, config };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
