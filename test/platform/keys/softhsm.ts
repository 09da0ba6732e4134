// SoftHSM2 for tests: a token directory of the test's own (SOFTHSM2_CONF set
// for this test process, before the module is first initialized), tokens
// made with softhsm2-util. Skips with a reason when SoftHSM2 or the pkcs11js
// binding is missing (apt-get install softhsm2; npm install builds pkcs11js).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPkcs11Binding } from '../../../src/platform/keys/index.ts';

export const SOFTHSM_MODULE = process.env['SNAPLINE_TEST_PKCS11_MODULE'] ?? '/usr/lib/softhsm/libsofthsm2.so';
export const USER_PIN = '123456';
const SO_PIN = '654321';

export interface SoftHsm {
  module: string;
  dir: string;
  /** Initializes a new token in a free slot. */
  initToken(label: string): void;
  cleanup(): Promise<void>;
}

/** Why SoftHSM2 tests cannot run here, or undefined. */
export function softHsmUnavailable(): string | undefined {
  if (!existsSync(SOFTHSM_MODULE)) return `SoftHSM2 is not installed (no ${SOFTHSM_MODULE}; apt-get install softhsm2)`;
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'pipe' });
  } catch {
    return 'softhsm2-util is not on PATH (apt-get install softhsm2)';
  }
  try {
    loadPkcs11Binding();
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

let current: SoftHsm | undefined;

/** One token directory per test process (SoftHSM2 reads its configuration once, at C_Initialize). */
export async function softHsm(): Promise<SoftHsm> {
  if (current) return current;
  const dir = await mkdtemp(join(tmpdir(), 'snapline-softhsm-'));
  await mkdir(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  await writeFile(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env['SOFTHSM2_CONF'] = conf;
  current = {
    module: SOFTHSM_MODULE,
    dir,
    initToken(label) {
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', USER_PIN, '--so-pin', SO_PIN], { stdio: 'pipe', env: { ...process.env, SOFTHSM2_CONF: conf } });
    },
    async cleanup() {
      current = undefined;
      await rm(dir, { recursive: true, force: true });
    },
  };
  return current;
}

/** Removes this process's token directory, if one was made. */
export async function cleanupSoftHsm(): Promise<void> {
  await current?.cleanup();
}
