// `$kernel:<asset>/<content>` references in gadget content, split and
// checked by the rules of snapd's splitKernelRef (gadget/validate.go): the
// asset must be a kernel.yaml asset name, the content a path that
// filepath.Clean leaves as it is (one trailing slash allowed: everything
// under a folder), with no ".." anywhere and not "/". Pure.

export const KERNEL_REF_PREFIX = '$kernel:';

/** A kernel.yaml asset name (snapd's kernel.ValidAssetName). */
export const KERNEL_ASSET_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-]*$/;

export type KernelRef = { readonly asset: string; readonly content: string };

/** The asset and content of `ref`, or snapd's words for what is wrong with it. */
export function splitKernelRef(ref: string): KernelRef | { readonly error: string } {
  const quoted = JSON.stringify(ref);
  if (!ref.startsWith(KERNEL_REF_PREFIX)) return { error: `not a kernel reference: ${quoted}` };
  const rest = ref.slice(KERNEL_REF_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return { error: `invalid asset and content in kernel ref ${quoted}` };
  const asset = rest.slice(0, slash);
  const content = rest.slice(slash + 1);
  if (asset === '' || content === '') return { error: `missing asset name or content in kernel ref ${quoted}` };
  const path = content.endsWith('/') ? content.slice(0, -1) : content;
  if (cleanPath(path) !== path || content.includes('..') || path === '/') return { error: `invalid content in kernel ref ${quoted}` };
  if (!KERNEL_ASSET_NAME.test(asset)) return { error: `invalid asset name in kernel ref ${quoted}` };
  return { asset, content };
}

/** Go's filepath.Clean on Linux: one slash between elements, no "." elements, ".." folded where it can be, "." for nothing. */
export function cleanPath(path: string): string {
  const rooted = path.startsWith('/');
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') out.push(part);
    else if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (!rooted) out.push('..');
  }
  const joined = out.join('/');
  return rooted ? `/${joined}` : joined || '.';
}
