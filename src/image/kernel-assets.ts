// Pure: the kernel snap's assets (meta/kernel.yaml) and the gadget content
// that refers to them as `$kernel:<asset>/<path>` (split by
// src/snap/kernel-ref.ts, the check gadget.yaml's parser uses too), resolved
// as snapd does (gadget/layout.go resolveContentPathOrRef, kernel/kernel.go):
// the asset must be declared, and the path must be one of its content entries
// or lie under one that is a folder. The file is then taken from the kernel
// snap at that path.
import { parse } from 'yaml';
import type { GadgetYaml } from '../snap/index.ts';
import { KERNEL_ASSET_NAME, KERNEL_REF_PREFIX, splitKernelRef, type KernelRef } from '../snap/kernel-ref.ts';
import { ImageError } from './errors.ts';

export interface KernelAsset {
  readonly update: boolean;
  readonly content: readonly string[];
}

/** Asset name -> asset; empty when the kernel snap has no meta/kernel.yaml (it is optional). */
export type KernelAssets = ReadonlyMap<string, KernelAsset>;

/** meta/kernel.yaml's assets; a kernel.yaml that is not what snapd reads is an error. */
export function parseKernelYaml(text: string, kernel: string): KernelAssets {
  const bad = (why: string) => new ImageError('image-snap-invalid', `kernel ${kernel}: cannot parse kernel metadata: ${why}`);
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw bad((err as Error).message);
  }
  const assets = new Map<string, KernelAsset>();
  if (doc === null || doc === undefined) return assets;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw bad('not a map');
  const raw = (doc as Record<string, unknown>)['assets'];
  if (raw === undefined || raw === null) return assets;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw bad('assets is not a map');
  for (const [name, a] of Object.entries(raw as Record<string, unknown>)) {
    if (!KERNEL_ASSET_NAME.test(name)) throw bad(`invalid asset name ${JSON.stringify(name)}, please use only alphanumeric characters and dashes`);
    const asset = (a ?? {}) as Record<string, unknown>;
    if (typeof asset !== 'object' || Array.isArray(asset)) throw bad(`asset ${name} is not a map`);
    const update = asset['update'] ?? false;
    const content = asset['content'] ?? [];
    if (typeof update !== 'boolean') throw bad(`asset ${name}: update is not a boolean`);
    if (!Array.isArray(content) || !content.every((c) => typeof c === 'string')) throw bad(`asset ${name}: content is not a list of paths`);
    assets.set(name, { update, content: content as string[] });
  }
  return assets;
}

/** `$kernel:<asset>/<content>` split and checked as snapd does; an image-gadget-invalid error in snapd's words otherwise. */
export function parseKernelRef(ref: string): KernelRef {
  const r = splitKernelRef(ref);
  if ('error' in r) throw new ImageError('image-gadget-invalid', r.error);
  return r;
}

/** The path inside the kernel snap that `ref` names (a trailing slash kept), or an error naming what is missing. */
export function resolveKernelRef(ref: string, assets: KernelAssets, kernel: string): string {
  const { asset, content } = parseKernelRef(ref);
  const a = assets.get(asset);
  if (!a) throw new ImageError('image-gadget-invalid', `cannot find ${JSON.stringify(asset)} in kernel info from ${kernel}`);
  // An exact entry, or under an entry taken as a folder.
  const found = a.content.some((c) => content === c || content.startsWith(c.endsWith('/') ? c : `${c}/`));
  if (!found) throw new ImageError('image-gadget-invalid', `cannot find wanted kernel content ${JSON.stringify(content)} in ${kernel}`);
  return content;
}

/**
 * What prepare-image checks of a gadget against its kernel (snapd's
 * gadget.ValidateContent): every `$kernel:` reference resolves, and when the
 * kernel has assets that need synced updates, the gadget uses at least one.
 */
export function checkGadgetKernelContent(gadget: GadgetYaml, assets: KernelAssets, kernel: string): void {
  let consumed = false;
  const updating = [...assets].filter(([, a]) => a.update).map(([name]) => name);
  for (const volume of Object.values(gadget.volumes)) {
    for (const s of volume.structure) {
      for (const c of s.content) {
        if (c.source === undefined || !c.source.startsWith(KERNEL_REF_PREFIX)) continue;
        try {
          resolveKernelRef(c.source, assets, `kernel snap ${kernel}`);
        } catch (err) {
          if (err instanceof ImageError) throw new ImageError(err.code, `invalid layout of volume ${JSON.stringify(volume.name)}: ${err.message}`);
          throw err;
        }
        if (updating.includes(parseKernelRef(c.source).asset)) consumed = true;
      }
    }
  }
  if (updating.length > 0 && !consumed) {
    throw new ImageError('image-gadget-invalid', `no asset from the kernel.yaml needing synced update is consumed by the gadget (kernel snap ${kernel}: ${updating.sort().map((a) => JSON.stringify(a)).join(', ')})`);
  }
}
