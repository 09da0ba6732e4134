// A folder tree as one comparable list: every file with its permission bits,
// every symbolic link with its target, every folder. Two trees written by
// different tools are equal when their lists are.
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export async function treeEntries(root: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(join(root, prefix), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isSymbolicLink()) out.push(`${rel} -> ${await readlink(join(root, rel))}`);
    else if (e.isDirectory()) out.push(`${rel}/`, ...(await treeEntries(root, rel)));
    else out.push(`${rel} ${((await lstat(join(root, rel))).mode & 0o7777).toString(8)}`);
  }
  return out;
}
