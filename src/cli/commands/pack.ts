// snapline pack DIR [-o OUT] and snapline snap info FILE.snap: thin shells over src/snap.
import type { Command } from 'commander';
import { packSnap, snapFileInfo, SnapError } from '../../snap/index.ts';
import { CliError, io } from '../io.ts';

/** Maps the snap module's typed errors to user errors (message plus stable code). */
function userError(err: unknown): never {
  if (err instanceof SnapError) throw new CliError(`${err.message} (${err.code})`);
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && typeof e.path === 'string') throw new CliError(`cannot access ${e.path}: ${e.code}`);
  throw err;
}

function sourceDateEpoch(): number | undefined {
  const v = io.env['SOURCE_DATE_EPOCH'];
  if (v === undefined || v === '') return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) > 0xffffffff) throw new CliError(`SOURCE_DATE_EPOCH must be a number of seconds, not ${JSON.stringify(v)}`);
  return Number(v);
}

export function registerPack(program: Command): void {
  program
    .command('pack')
    .argument('<dir>', 'directory with meta/snap.yaml')
    .option('-o, --output <out>', 'output file, or directory for <name>_<version>_<arch>.snap')
    .description('pack a directory into a .snap (squashfs, xz), as `snap pack`; honours SOURCE_DATE_EPOCH')
    .action(async (dir: string, opts: { output?: string }) => {
      const res = await packSnap(dir, { output: opts.output, mtime: sourceDateEpoch() }).catch(userError);
      io.out(`built: ${res.path}\n`);
    });

  const snap = program.command('snap').description('inspect snap files');
  snap
    .command('info')
    .argument('<file>', 'a .snap file')
    .description('show the metadata, size and sha3-384 of a .snap')
    .action(async (file: string) => {
      const i = await snapFileInfo(file).catch(userError);
      const lines: [string, string][] = [
        ['name', i.name],
        ['version', i.version],
        ['type', i.type],
        ['base', i.base ?? ''],
        ['confinement', i.confinement],
        ['grade', i.grade],
        ['architectures', i.architectures.join(', ')],
        ['size', String(i.size)],
        ['sha3-384', i.sha3_384],
      ];
      io.out(lines.map(([k, v]) => `${k}:${' '.repeat(15 - k.length)}${v}`.trimEnd() + '\n').join(''));
    });
}
