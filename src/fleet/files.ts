// Where a fleet's refreshed snaps go: one shared folder for the whole fleet,
// not one per device. Every device still downloads and checks its own copy
// (the store's load is real); a verified download is kept once per name and
// revision (the same snap-revision means the same bytes), the others
// dropped. Only downloads in progress are ever removed: seed files and kept
// revisions are shared by many devices. I/O adapter.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { SnapFiles } from '../device/io.ts';
import { inspectSnapFile } from '../device/state-store.ts';

export function sharedSnapFiles(dir: string): SnapFiles {
  const root = resolve(dir, 'snaps');
  const partial = resolve(partialDir(dir));
  const inPartial = (p: string) => resolve(p).startsWith(partial + '/');
  return {
    async commit(tmp, name, revision) {
      await mkdir(root, { recursive: true });
      const dest = join(root, `${name}_${revision}.snap`);
      if (existsSync(dest)) await rm(tmp, { force: true });
      else await rename(tmp, dest);
      return dest;
    },
    async remove(path) {
      if (inPartial(path)) await rm(path, { force: true });
    },
    inspect: inspectSnapFile,
  };
}

/** Where downloads land until verified. */
export function partialDir(dir: string): string {
  return join(dir, 'partial');
}
