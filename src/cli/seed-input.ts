// `--seed DIR | --image FILE` of `device boot` and `fleet run`: a seed folder
// as is, or the seed taken out of a disk image (src/image/seed-from-disk.ts)
// into a folder the caller names (the device's state folder, the fleet's
// scratch folder).
import { rm } from 'node:fs/promises';
import { isImageError } from '../image/errors.ts';
import { toolDirs } from '../image/disk.ts';
import { extractSeedFromDisk } from '../image/seed-from-disk.ts';
import { CliError, io } from './io.ts';

export interface SeedFlags {
  seed?: string;
  image?: string;
}

/** Exactly one of --seed and --image (commands check it before slow work, like making keys). */
export function checkSeedFlags(flags: SeedFlags): void {
  if ((flags.seed === undefined) === (flags.image === undefined)) throw new CliError('give either --seed DIR or --image FILE.img');
}

/** The seed folder to boot from; with --image, the seed copied out of the disk image into `into` (replaced). */
export async function seedFolder(flags: SeedFlags, into: string): Promise<string> {
  checkSeedFlags(flags);
  if (flags.seed !== undefined) return flags.seed;
  await rm(into, { recursive: true, force: true });
  try {
    const found = await extractSeedFromDisk(flags.image!, into, { toolDirs: toolDirs(io.env['PATH']) });
    io.err(`seed read from ${flags.image}, partition ${found.partition.number}${found.partition.name ? ` (${found.partition.name})` : ''}, ${found.filesystem}\n`);
    return found.seed;
  } catch (err) {
    if (isImageError(err)) throw new CliError(`--image ${flags.image}: ${err.message} (${err.code})`);
    throw err;
  }
}
