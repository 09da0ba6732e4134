// A folder tree as one comparable list: every file with its permission bits,
// every symbolic link with its target, every folder. Two trees written by
// different tools are equal when their lists are.
import assert from 'node:assert/strict';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { sameFiles } from './snapd-go.ts';

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

/** prepare-image's intermediates for ubuntu-image, which Snapline's builder does not need (it writes disk images itself). */
const INTERMEDIATES = /^(gadget|kernel|resolved-content)(\/|$)/;

/** The two whole trees are equal but for the intermediates; the recovery grub.cfg exists on both sides, each its own text. */
export async function sameTree(ref: string, ours: string): Promise<void> {
  const want = (await treeEntries(ref)).filter((e) => !INTERMEDIATES.test(e));
  assert.deepEqual(await treeEntries(ours), want);
  const files = want.filter((e) => / \d+$/.test(e)).map((e) => e.replace(/ \d+$/, ''));
  const own = (f: string) => f.endsWith('EFI/ubuntu/grub.cfg') && f.startsWith('system-seed/');
  await sameFiles(ref, ours, files.filter((f) => !own(f)));
  for (const f of files.filter(own)) assert.match(await readFile(join(ours, f), 'utf8'), /^# Snapd-Boot-Config-Edition: 1\n/);
}

