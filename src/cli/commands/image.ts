// snapline image build: a thin shell over src/image (progress on stderr, --json result on stdout).
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { buildImage, type ProgressEvent } from '../../image/build.ts';
import { toolDirs } from '../../image/disk.ts';
import { authorizationFromEnv, authorizationFromFile } from '../../image/store-client.ts';
import { SnapError, snapFileInfo } from '../../snap/index.ts';
import { CliError, io, readInput } from '../io.ts';
import { readTrusted } from '../trusted-input.ts';

const collect = (v: string, acc: string[]) => [...acc, v];

function mib(n: number): string {
  return n >= 1 << 20 ? `${(n / 1048576).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}


/** Human progress: one line per step, per download start and end, and per quarter of a download over 1 MiB. */
function progressPrinter(): (e: ProgressEvent) => void {
  const quarter = new Map<string, number>();
  return (e) => {
    if (e.kind === 'step') io.err(`${e.step}\n`);
    else if (e.kind === 'download-start') io.err(`  ${e.name} ${e.revision}: downloading ${mib(e.size)}\n`);
    else if (e.kind === 'download-progress' && e.size > 1 << 20) {
      const q = Math.floor((e.bytes * 4) / e.size);
      if (q > (quarter.get(e.name) ?? 0) && q < 4) {
        quarter.set(e.name, q);
        io.err(`  ${e.name}: ${mib(e.bytes)} of ${mib(e.size)} (${q * 25}%)\n`);
      }
    } else if (e.kind === 'download-done') io.err(`  ${e.name} ${e.revision}: ${mib(e.size)} done\n`);
  };
}

async function snapName(file: string): Promise<string> {
  try {
    return (await snapFileInfo(file)).name;
  } catch (err) {
    if (err instanceof SnapError) throw new CliError(`--snap ${file}: ${err.message}`);
    throw new CliError(`--snap ${file}: ${(err as Error).message}`);
  }
}

interface BuildFlags {
  model: string;
  store?: string;
  out: string;
  image?: string;
  snap: string[];
  channel?: string;
  label?: string;
  trusted: string[];
  json?: boolean;
}

/** Store credentials as ubuntu-image and snapd's tooling take them: UBUNTU_STORE_AUTH, else the file UBUNTU_STORE_AUTH_DATA_FILENAME names. */
async function storeAuthorization(): Promise<string | undefined> {
  const inline = io.env['UBUNTU_STORE_AUTH'];
  if (inline) return authorizationFromEnv(inline);
  const file = io.env['UBUNTU_STORE_AUTH_DATA_FILENAME'];
  if (!file) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read auth file ${file}: ${(err as Error).message}`);
  }
  return authorizationFromFile(text, file);
}

export function registerImage(program: Command): void {
  const image = program.command('image').description('build seeds and disk images from signed models');
  image
    .command('build')
    .requiredOption('--model <file>', 'the signed model assertion')
    .option('--store <url>', 'store API base URL ($UBUNTU_STORE_URL by default)')
    .requiredOption('--out <dir>', 'output folder (must not exist, or be empty)')
    .option('--image <file>', 'also write a disk image from the gadget volumes')
    .option('--snap <snap>', 'NAME[=CHANNEL] from the store, or a local [NAME=]FILE.snap (repeatable; optional and extra snaps, channels as snapd allows)', collect, [] as string[])
    .option('--channel <channel>', 'channel for every snap (core20+: grade dangerous only)')
    .option('--label <label>', 'core20+ system label (default: today, YYYYMMDD)')
    .option('--trusted <file>', 'trusted root accounts and account-keys (repeatable; $SNAPLINE_TRUSTED by default)', collect, [] as string[])
    .option('--json', 'print the result as JSON on stdout')
    .description('verify a model against its chain, fetch and verify its snaps, write the seed (and a disk image)')
    .action(async (flags: BuildFlags) => {
      const storeUrl = flags.store ?? io.env['UBUNTU_STORE_URL'];
      if (!storeUrl) throw new CliError('no store: give --store URL (or set UBUNTU_STORE_URL)');
      const trustedFiles = flags.trusted.length > 0 ? flags.trusted : (io.env['SNAPLINE_TRUSTED'] ?? '').split(':').filter(Boolean);
      if (trustedFiles.length === 0) throw new CliError('no trusted assertions: give --trusted FILE (e.g. the output of `snapline root export`)');
      const localSnaps = new Map<string, string>();
      const storeSnaps = new Map<string, string>();
      const isFile = (v: string) => v.endsWith('.snap') || v.includes('/');
      for (const s of flags.snap) {
        const eq = s.indexOf('=');
        let name: string;
        let file: string | undefined;
        let channel = '';
        if (eq === -1 && isFile(s)) {
          // `--snap FILE.snap`, as prepare-image takes it: the name comes from its snap.yaml.
          file = s;
          name = await snapName(file);
        } else if (eq === -1) {
          name = s;
        } else {
          if (eq === 0 || eq === s.length - 1) throw new CliError(`--snap ${JSON.stringify(s)}: expected NAME, NAME=CHANNEL, NAME=FILE.snap or FILE.snap`);
          name = s.slice(0, eq);
          const v = s.slice(eq + 1);
          if (isFile(v)) file = v;
          else channel = v;
        }
        if (localSnaps.has(name) || storeSnaps.has(name)) throw new CliError(`--snap ${name} given twice`);
        if (file !== undefined) localSnaps.set(name, file);
        else storeSnaps.set(name, channel);
      }
      const res = await buildImage({
        model: await readInput(flags.model),
        storeUrl,
        out: flags.out,
        ...(flags.image !== undefined ? { image: flags.image } : {}),
        localSnaps,
        storeSnaps,
        ...(flags.channel !== undefined ? { channel: flags.channel } : {}),
        ...(flags.label !== undefined ? { label: flags.label } : {}),
        trusted: await readTrusted(trustedFiles),
        now: () => io.now(),
        authorization: await storeAuthorization(),
        progress: progressPrinter(),
        toolDirs: toolDirs(io.env['PATH']),
        ...(io.env['SNAPLINE_SHA3'] ? { sha3: io.env['SNAPLINE_SHA3'] } : {}),
      });
      if (flags.json) {
        io.out(JSON.stringify(res) + '\n');
        return;
      }
      io.out(`seed: ${res.out}/${res.seed}${res.label ? ` (system ${res.label})` : ''}\n`);
      for (const s of res.snaps) io.out(`  ${s.name} ${s.revision || 'unasserted'} ${s.channel} ${s.file}\n`);
      for (const i of res.image ? [res.image, ...(res.image.otherVolumes ?? [])] : []) {
        io.out(`image: ${i.path} (${mib(i.size)}, volume ${i.volume}, ${i.partitions.length} partitions)\n`);
        for (const p of i.partitions) {
          const what = [p.name, p.label && p.label !== p.name ? `label ${p.label}` : undefined, p.role, p.filesystem].filter(Boolean).join(', ');
          io.out(`  ${p.number}: ${what} at ${mib(p.start)}, ${mib(p.size)}\n`);
        }
      }
    });
}
