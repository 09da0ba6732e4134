// Small helpers of the image tests.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-image-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Entries of a folder (to check that a failed build left nothing behind). */
export async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}
