// What snapd checks about a snap's files (snapd 2.57.6 snap/container.go
// ValidateContainer) and what `snap pack` leaves out (snap/pack/pack.go).
// Pure: works on a list of entries, so the same rules apply to a directory
// about to be packed and to a .snap read back from a store upload.
import { SnapPackError } from './errors.ts';
import type { SnapYaml } from './snap-yaml.ts';

/** One entry of a snap's file tree: path relative to the root ("." for the root), kind and permission bits. */
export interface ContainerEntry {
  readonly path: string;
  readonly type: 'file' | 'directory' | 'symlink' | 'other';
  readonly mode: number;
}

/** Top-level names snap pack never includes. */
const ANCHORED_EXCLUDES = new Set([
  'DEBIAN',
  '.arch-ids',
  '.arch-inventory',
  '.bzr',
  '.bzr-builddeb',
  '.bzr.backup',
  '.bzr.tags',
  '.bzrignore',
  '.cvsignore',
  '.git',
  '.gitattributes',
  '.gitignore',
  '.gitmodules',
  '.hg',
  '.hgignore',
  '.hgsigs',
  '.hgtags',
  '.shelf',
  '.svn',
  'CVS',
  'DEADJOE',
  'RCS',
  '_MTN',
  '_darcs',
  '{arch}',
  '.snapignore',
]);
/** Names excluded at any depth (mksquashfs wildcards `... .[#~]*`, `*.snap`, `*.click`, `.*.sw?`, `*~`, `,,*`). */
const ANYWHERE_EXCLUDES = [/^\.[#~]/, /\.snap$/, /\.click$/, /^\..*\.sw.$/, /~$/, /^,,/];

/** Whether `snap pack` leaves out the entry `name` found at `depth` (1 = directly in the snap root). */
export function isPackExcluded(name: string, depth: number): boolean {
  if (depth === 1 && ANCHORED_EXCLUDES.has(name)) return true;
  return ANYWHERE_EXCLUDES.some((re) => re.test(name));
}

function normPath(p: string | undefined): string {
  if (!p) return '';
  // filepath.Clean, then drop a leading slash; paths leaving the snap are ignored.
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0 || parts[parts.length - 1] === '..') parts.push('..');
      else parts.pop();
    } else parts.push(seg);
  }
  let out = parts.join('/');
  if (out === '' || out.startsWith('..')) return '';
  const sp = out.indexOf(' ');
  if (sp > -1) out = out.slice(0, sp);
  return out;
}

function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i === -1 ? '.' : p.slice(0, i);
}

/**
 * Checks the files of a snap as snapd does before installing it: app
 * commands exist and are usable, everything under meta/ is world-readable,
 * hooks are executable. Throws SnapPackError listing every problem.
 */
export function validateContainer(entries: Iterable<ContainerEntry>, snap: Pick<SnapYaml, 'name' | 'apps'>): void {
  const needsrx = new Set(['.', 'meta']);
  const needsx = new Set<string>();
  const needsr = new Set(['meta/snap.yaml']);
  const needsf = new Set<string>();
  const noskipd = new Set<string>();
  for (const app of Object.values(snap.apps)) {
    const service = app.daemon !== undefined;
    const bag = service ? noskipd : needsrx;
    const paths = [app.command];
    if (service) {
      for (const f of ['stop-command', 'reload-command', 'post-stop-command']) {
        const v = app.raw[f];
        if (typeof v === 'string') paths.push(v);
      }
    }
    for (let p of paths.map(normPath)) {
      if (p === '') continue;
      needsf.add(p);
      if (service) needsx.add(p);
      for (; p !== '.'; p = dirname(p)) bag.add(p);
    }
    const completer = normPath(typeof app.raw.completer === 'string' ? app.raw.completer : undefined);
    if (completer !== '') {
      needsr.add(completer);
      for (let p = dirname(completer); p !== '.'; p = dirname(p)) needsrx.add(p);
    }
  }
  for (const k of needsr) needsf.add(k);
  for (const p of needsrx) {
    needsx.delete(p);
    needsr.delete(p);
  }
  for (const p of [...needsx]) {
    if (needsr.has(p)) {
      needsx.delete(p);
      needsr.delete(p);
      needsrx.add(p);
    }
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  const byPath = new Map<string, ContainerEntry>();
  for (const e of entries) byPath.set(e.path, e);
  const name = JSON.stringify(snap.name);
  const fmtMode = (m: number): string => `0${(m & 0o7777).toString(8)}`;
  // snapd walks only into directories it needs; entries elsewhere are not checked.
  const visible = (path: string): boolean => {
    for (let d = dirname(path); d !== '.'; d = dirname(d)) {
      const e = byPath.get(d);
      if (!e || e.type !== 'directory') return false;
      if (!needsrx.has(d) && !needsx.has(d) && !needsr.has(d) && !d.startsWith('meta/') && d !== 'meta' && !noskipd.has(d)) return false;
    }
    return true;
  };
  for (const e of byPath.values()) {
    const path = e.path;
    if (path !== '.' && !visible(path)) continue;
    const needed = needsrx.has(path) || needsx.has(path) || needsr.has(path);
    if (needed) seen.add(path);
    if (!needed && !path.startsWith('meta/')) continue;
    const perm = e.mode & 0o777;
    if (needsrx.has(path) || e.type === 'directory') {
      if ((perm & 0o555) !== 0o555) problems.push(`${JSON.stringify(path)} should be world-readable and executable, and isn't: ${fmtMode(e.mode)}`);
    } else {
      if (needsf.has(path) && e.type !== 'file' && e.type !== 'symlink') problems.push(`${JSON.stringify(path)} should be a regular file (or a symlink) and isn't`);
      if (needsx.has(path) || path.startsWith('meta/hooks/')) {
        if ((perm & 0o111) === 0 && e.type !== 'symlink') problems.push(`${JSON.stringify(path)} should be executable, and isn't: ${fmtMode(e.mode)}`);
      } else if ((perm & 0o444) !== 0o444 && e.type !== 'symlink') {
        problems.push(`${JSON.stringify(path)} should be world-readable, and isn't: ${fmtMode(e.mode)}`);
      }
    }
  }
  const missing = [...needsx, ...needsrx, ...needsr].filter((p) => !seen.has(p));
  if (missing.length > 0) {
    throw new SnapPackError(`snap ${name} is unusable due to missing files: ${missing.map((p) => `path ${JSON.stringify(p)} does not exist`).join('; ')}`);
  }
  if (problems.length > 0) throw new SnapPackError(`snap ${name} is unusable due to bad permissions: ${problems.join('; ')}`);
}
