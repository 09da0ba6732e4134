// Access to the conformance vectors made by snapd's own code (test/fixtures/snapd-vectors).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrivateKey } from '../../src/assertions/index.ts';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const VECTORS_DIR = resolve(projectRoot, 'test/fixtures/snapd-vectors');

export interface VectorEntry {
  file: string;
  type: string;
  'primary-key'?: string[];
  headers: Record<string, unknown>;
  requires: string[];
  expect: 'valid' | 'invalid';
  stage?: 'decode' | 'verify';
  'snapd-error'?: string;
}

export interface VectorIndex {
  trusted: string[];
  vectors: VectorEntry[];
  keys: Record<string, { 'key-id': string; 'private-pkcs8-pem': string; 'public-key-snapd-encoding': string }>;
}

export const vectorIndex: VectorIndex = JSON.parse(readFileSync(join(VECTORS_DIR, 'index.json'), 'utf8'));

export function vectorBytes(file: string): Buffer {
  return readFileSync(join(VECTORS_DIR, file));
}

const keyCache = new Map<string, PrivateKey>();

/** A private key of the vectors by label: root, store, brand, brand-expired, device, stranger. */
export function vectorKey(label: string): PrivateKey {
  let k = keyCache.get(label);
  if (!k) {
    k = PrivateKey.fromPem(readFileSync(join(VECTORS_DIR, `keys/${label}.pkcs8.pem`)));
    keyCache.set(label, k);
  }
  return k;
}
