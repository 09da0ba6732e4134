// Reading boot files out of a kernel or gadget snap for the boot file writers
// (uboot-boot.ts, piboot-boot.ts, lk-boot.ts), which had each written these.
import type { SquashfsReader } from '../snap/index.ts';
import { SquashfsPathError } from '../snap/index.ts';
import type { SeedFile } from './layout.ts';

/** A file of the snap, or undefined when the snap has no such path (other errors are thrown). */
export function readIfPresent(reader: SquashfsReader, path: string): Promise<Buffer | undefined> {
  return reader.readFile(path).catch((err: unknown) => {
    if (err instanceof SquashfsPathError) return undefined;
    throw err;
  });
}

/**
 * Every file under the snap's folder `from`, as seed files under `to`
 * (symbolic links followed); with `directories`, its folders too (made even
 * when empty); `skip` leaves top-level entries of `from` out.
 */
export async function treeFiles(reader: SquashfsReader, from: string, to: string, o: { directories?: boolean; skip?: (name: string) => boolean } = {}): Promise<SeedFile[]> {
  const out: SeedFile[] = [];
  const walk = async (src: string, dest: string, top: boolean): Promise<void> => {
    for (const e of await reader.list(src)) {
      if (top && o.skip?.(e.name)) continue;
      const st = await reader.stat(`${src}/${e.name}`, { follow: true });
      if (st.type === 'directory') {
        if (o.directories) out.push({ path: `${dest}/${e.name}`, data: Buffer.alloc(0), directory: true });
        await walk(`${src}/${e.name}`, `${dest}/${e.name}`, false);
      } else if (st.type === 'file') out.push({ path: `${dest}/${e.name}`, data: await reader.readFile(`${src}/${e.name}`) });
    }
  };
  await walk(from, to, true);
  return out;
}
