// Reading a .snap: its metadata (snap.yaml, gadget.yaml, hooks) from the
// squashfs image, and its identity as the store and snapd compute it (size
// and SHA3-384 of the whole file).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { SnapYamlError, GadgetYamlError, SquashfsPathError } from './errors.ts';
import { parseSnapYaml, isSupportedHook, MAX_SNAP_YAML_SIZE, type SnapYaml } from './snap-yaml.ts';
import { parseGadgetYaml, type GadgetYaml, type GadgetYamlOptions } from './gadget-yaml.ts';
import { SquashfsReader } from './squashfs/reader.ts';

/** The metadata of a snap read from its image. */
export interface SnapMetadata {
  readonly snapYaml: SnapYaml;
  /** Every hook the snap has: declared in snap.yaml or present in meta/hooks (snapd discovers both). */
  readonly hooks: readonly string[];
  /** meta/gadget.yaml, for gadget snaps. */
  readonly gadget?: GadgetYaml;
  /** Whether the snap ships meta/hooks/prepare-device (a gadget's registration hook). */
  readonly hasPrepareDeviceHook: boolean;
}

/** Names of the executables in meta/hooks that snapd would treat as hooks. */
export async function listHookFiles(reader: SquashfsReader): Promise<string[]> {
  try {
    const entries = await reader.list('meta/hooks');
    return entries.filter((e) => e.type === 'file' || e.type === 'symlink').map((e) => e.name).filter(isSupportedHook);
  } catch (err) {
    if (err instanceof SquashfsPathError) return [];
    throw err;
  }
}

/** Reads and validates meta/snap.yaml (and meta/gadget.yaml for gadgets) from an opened image. */
export async function readSnapMetadata(reader: SquashfsReader, gadgetOptions: GadgetYamlOptions = {}): Promise<SnapMetadata> {
  let text: Buffer;
  try {
    text = await reader.readFile('meta/snap.yaml', MAX_SNAP_YAML_SIZE);
  } catch (err) {
    if (err instanceof SquashfsPathError) throw new SnapYamlError(`cannot read meta/snap.yaml: ${err.message}`);
    throw err;
  }
  const snapYaml = parseSnapYaml(text);
  const hookFiles = await listHookFiles(reader);
  const hooks = [...new Set([...Object.keys(snapYaml.hooks), ...hookFiles])].sort();
  let gadget: GadgetYaml | undefined;
  if (snapYaml.type === 'gadget') {
    let g: Buffer;
    try {
      g = await reader.readFile('meta/gadget.yaml', MAX_SNAP_YAML_SIZE);
    } catch (err) {
      if (err instanceof SquashfsPathError) throw new GadgetYamlError(`cannot read meta/gadget.yaml: ${err.message}`);
      throw err;
    }
    gadget = parseGadgetYaml(g, gadgetOptions);
  }
  return { snapYaml, hooks, gadget, hasPrepareDeviceHook: hookFiles.includes('prepare-device') };
}

/** SHA3-384 of a whole file: hex (store JSON) and base64url without padding (assertions). */
export async function snapDigest(path: string): Promise<{ size: number; sha3_384: string; sha3_384Base64url: string }> {
  const hash = createHash('sha3-384');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const digest = hash.digest();
  return { size, sha3_384: digest.toString('hex'), sha3_384Base64url: digest.toString('base64url') };
}

/** What `snapline snap info` prints. */
export interface SnapFileInfo {
  readonly name: string;
  readonly version: string;
  readonly type: string;
  readonly base?: string;
  readonly confinement: string;
  readonly grade: string;
  readonly architectures: readonly string[];
  readonly size: number;
  /** Lowercase hex SHA3-384 of the file. */
  readonly sha3_384: string;
  readonly hooks: readonly string[];
}

/** Opens a .snap file, validates its metadata and computes its digest. */
export async function snapFileInfo(path: string): Promise<SnapFileInfo> {
  const st = await stat(path);
  const reader = await SquashfsReader.openFile(path);
  let meta: SnapMetadata;
  try {
    meta = await readSnapMetadata(reader);
  } finally {
    await reader.close();
  }
  const digest = await snapDigest(path);
  if (digest.size !== st.size) throw new Error(`${path} changed while it was read`);
  const y = meta.snapYaml;
  return {
    name: y.name,
    version: y.version,
    type: y.type,
    base: y.base,
    confinement: y.confinement,
    grade: y.grade,
    architectures: y.architectures,
    size: digest.size,
    sha3_384: digest.sha3_384,
    hooks: meta.hooks,
  };
}
