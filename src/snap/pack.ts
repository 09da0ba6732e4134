// `snapline pack`: a directory in, a .snap out, as `snap pack` makes it
// (snapd 2.57.6 snap/pack/pack.go): validate meta/snap.yaml (and
// meta/gadget.yaml for gadgets) and the files snapd checks, leave out what
// snap pack excludes, then write squashfs 4.0 with xz, no fragments, all
// files owned by root (except for os/base snaps) and no xattrs, padded to
// 4096, named <name>_<version>_<arch>.snap.
//
// Reproducible: the image is a function of the tree (names, contents, modes,
// mtimes) and the options; pass `mtime` (e.g. from SOURCE_DATE_EPOCH) to make
// it independent of file times too.
import { lstat, mkdir, open, readdir, readFile, readlink, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SnapPackError, SnapYamlError, GadgetYamlError } from './errors.ts';
import { parseSnapYaml, snapFileName, MAX_SNAP_YAML_SIZE, type SnapYaml } from './snap-yaml.ts';
import { parseGadgetYaml } from './gadget-yaml.ts';
import { isPackExcluded, validateContainer, type ContainerEntry } from './container.ts';
import { writeSquashfs, type ImageSink, type WriterDirectory, type WriterNode } from './squashfs/writer.ts';
import { snapDigest } from './snap-file.ts';

/** Options of packSnap. */
export interface PackOptions {
  /** Output file, or a directory (existing, or ending in "/") for `<name>_<version>_<arch>.snap`; default: that name in `cwd`. */
  readonly output?: string;
  /** Directory for the default output name (default: the current directory). */
  readonly cwd?: string;
  /** Use this time (seconds) for every inode and the superblock instead of file times. */
  readonly mtime?: number;
  readonly compression?: 'xz' | 'gzip';
  readonly xzPreset?: number;
  readonly concurrency?: number;
}

/** What packSnap produced. */
export interface PackResult {
  readonly path: string;
  readonly size: number;
  /** Lowercase hex SHA3-384 of the .snap. */
  readonly sha3_384: string;
  readonly snapYaml: SnapYaml;
}

/** A sink writing an image to an open file. */
export class FileSink implements ImageSink {
  constructor(private readonly fh: FileHandle) {}
  async write(buf: Buffer, position: number): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, position + done);
      done += bytesWritten;
    }
  }
}

const READ_CHUNK = 1 << 20;
const MAX_DEPTH = 256;

function clampTime(ms: number): number {
  return Math.min(0xffffffff, Math.max(0, Math.floor(ms / 1000)));
}

function devNumbers(rdev: number): { major: number; minor: number } {
  // glibc gnu_dev_major/minor on a 64-bit dev_t held in a double.
  const hi = Math.floor(rdev / 2 ** 32);
  const lo = rdev >>> 0;
  return { major: ((lo >>> 8) & 0xfff) | ((hi & ~0xfff) >>> 0), minor: (lo & 0xff) | ((lo >>> 12) & ~0xff) };
}

interface Scan {
  root: WriterDirectory;
  entries: ContainerEntry[];
  newest: number;
}

async function scan(dir: string, allRoot: boolean, fixedTime: number | undefined): Promise<Scan> {
  const entries: ContainerEntry[] = [];
  let newest = 0;
  const attrs = (st: { mode: number; uid: number; gid: number; mtimeMs: number }): { mode: number; uid: number; gid: number; mtime: number } => {
    const mtime = fixedTime ?? clampTime(st.mtimeMs);
    newest = Math.max(newest, mtime);
    return { mode: st.mode & 0o7777, uid: allRoot ? 0 : st.uid, gid: allRoot ? 0 : st.gid, mtime };
  };
  const walk = async (abs: string, rel: string, depth: number): Promise<WriterDirectory> => {
    if (depth > MAX_DEPTH) throw new SnapPackError(`${rel} is nested more than ${MAX_DEPTH} directories deep`);
    const st = await lstat(abs);
    entries.push({ path: rel, type: 'directory', mode: st.mode });
    const children = new Map<string, WriterNode>();
    const names = (await readdir(abs)).sort();
    for (const name of names) {
      if (isPackExcluded(name, depth + 1)) continue;
      const childAbs = join(abs, name);
      const childRel = rel === '.' ? name : `${rel}/${name}`;
      const cst = await lstat(childAbs);
      if (cst.isDirectory()) {
        children.set(name, await walk(childAbs, childRel, depth + 1));
      } else if (cst.isFile()) {
        entries.push({ path: childRel, type: 'file', mode: cst.mode });
        const size = cst.size;
        children.set(name, {
          type: 'file',
          ...attrs(cst),
          size,
          async *content() {
            const fh = await open(childAbs, 'r');
            try {
              let left = size;
              while (left > 0) {
                const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, left));
                const { bytesRead } = await fh.read(buf, 0, buf.length, null);
                if (bytesRead === 0) throw new SnapPackError(`${childRel} shrank while it was packed`);
                left -= bytesRead;
                yield buf.subarray(0, bytesRead);
              }
            } finally {
              await fh.close();
            }
          },
        });
      } else if (cst.isSymbolicLink()) {
        entries.push({ path: childRel, type: 'symlink', mode: cst.mode });
        children.set(name, { type: 'symlink', ...attrs(cst), target: await readlink(childAbs) });
      } else {
        entries.push({ path: childRel, type: 'other', mode: cst.mode });
        const type = cst.isFIFO() ? 'fifo' : cst.isSocket() ? 'socket' : cst.isBlockDevice() ? 'block-device' : 'char-device';
        children.set(name, { type, ...attrs(cst), rdev: type.endsWith('device') ? devNumbers(cst.rdev) : undefined });
      }
    }
    return { type: 'directory', ...attrs(st), entries: children };
  };
  const root = await walk(dir, '.', 0);
  return { root, entries, newest };
}

/** Reads and validates DIR/meta/snap.yaml (and meta/gadget.yaml for gadgets). */
export async function loadSnapDir(dir: string): Promise<SnapYaml> {
  let text: Buffer;
  try {
    const path = join(dir, 'meta', 'snap.yaml');
    const st = await stat(path);
    if (st.size > MAX_SNAP_YAML_SIZE) throw new SnapYamlError(`meta/snap.yaml is larger than ${MAX_SNAP_YAML_SIZE} bytes`);
    text = await readFile(path);
  } catch (err) {
    if (err instanceof SnapYamlError) throw err;
    throw new SnapPackError(`cannot read meta/snap.yaml in ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const y = parseSnapYaml(text);
  if (y.type === 'gadget') {
    let g: Buffer;
    try {
      g = await readFile(join(dir, 'meta', 'gadget.yaml'));
    } catch {
      throw new GadgetYamlError(`gadget snap ${JSON.stringify(y.name)} has no readable meta/gadget.yaml`);
    }
    parseGadgetYaml(g);
  }
  return y;
}

/** Packs directory `dir` into a .snap (see the module comment). */
export async function packSnap(dir: string, opts: PackOptions = {}): Promise<PackResult> {
  const src = resolve(dir);
  const st = await stat(src).catch(() => undefined);
  if (!st?.isDirectory()) throw new SnapPackError(`${dir} is not a directory`);
  const snapYaml = await loadSnapDir(src);
  const allRoot = snapYaml.type !== 'os' && snapYaml.type !== 'base';
  if (opts.mtime !== undefined && (!Number.isInteger(opts.mtime) || opts.mtime < 0 || opts.mtime > 0xffffffff)) {
    throw new SnapPackError(`bad mtime ${opts.mtime}`);
  }
  const { root, entries, newest } = await scan(src, allRoot, opts.mtime);
  validateContainer(entries, snapYaml);

  const name = snapFileName(snapYaml);
  let out: string;
  if (opts.output === undefined) out = join(resolve(opts.cwd ?? '.'), name);
  else {
    const o = resolve(opts.cwd ?? '.', opts.output);
    // "OUT/" names a directory even when it does not exist yet (snap pack creates its target dir).
    if (opts.output.endsWith('/')) await mkdir(o, { recursive: true });
    const ost = await stat(o).catch(() => undefined);
    out = ost?.isDirectory() ? join(o, name) : o;
  }
  if (out.startsWith(src + '/')) {
    // snap pack excludes *.snap, so an output inside the tree is harmless, but
    // a different name would be packed on the next run: refuse anything else.
    if (!basename(out).endsWith('.snap')) throw new SnapPackError(`output ${out} is inside the directory being packed`);
  }
  const tmp = `${out}.partial-${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await writeSquashfs(root, new FileSink(fh), {
      mkfsTime: opts.mtime ?? newest,
      compression: opts.compression ?? 'xz',
      xzPreset: opts.xzPreset,
      concurrency: opts.concurrency,
    });
    await fh.close();
    await rename(tmp, out);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  const digest = await snapDigest(out);
  return { path: out, size: digest.size, sha3_384: digest.sha3_384, snapYaml };
}
