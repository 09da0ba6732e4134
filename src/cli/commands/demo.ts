// snapline demo: the production model end to end (src/demo/run.ts), on the
// embedded defaults. Steps on stdout, progress on stderr; device keys are kept
// in a file (RSA-4096 generation is the slow part) so a second run is quick.
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { PrivateKey } from '../../assertions/index.ts';
import { ensureKeysFile, DEVICE_KEY_BITS } from '../../fleet/keys.ts';
import { toolDirs } from '../../image/disk.ts';
import type { ConfigFlags } from '../../platform/config.ts';
import { CliError, io, positiveInt } from '../io.ts';
import { serverConfig } from '../server-config.ts';

interface DemoFlags {
  data: string;
  devices: string;
  listen: string;
  db?: string;
  keys?: string;
  bits?: string;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the production model end to end: root, brand, stores, vault, snaps, model, image, N devices registering and installing, a release they refresh to')
    .option('--data <dir>', 'a new (or empty) data folder, left for `snapline serve --data DIR` to browse', 'snapline-demo')
    .option('--devices <n>', 'devices booting from the image in the factory', '20')
    .option('--listen <host:port>', 'where the demo server listens; the store URL in the assertions names it, so serve the folder on the same address later', '127.0.0.1:8080')
    .option('--db <url>', 'database: sqlite:PATH or postgres://... (default SQLite in the data folder)')
    .option('--keys <file>', 'device keys file, reused between runs (default: DATA/demo/device-keys.jsonl)')
    .option('--bits <n>', `RSA size of the keys made here (default ${DEVICE_KEY_BITS}, as snapd; smaller only for tests)`)
    .action(async (flags: DemoFlags) => {
      const devices = positiveInt(flags.devices, '--devices');
      const bits = flags.bits === undefined ? DEVICE_KEY_BITS : positiveInt(flags.bits, '--bits');
      const configFlags: ConfigFlags = { data: flags.data, listen: flags.listen, only: 'store,vault,console', ...(flags.db !== undefined ? { db: flags.db } : {}) };
      // The demo prints its own steps; the server logs only errors (to stderr).
      const config = { ...(await serverConfig(configFlags)), logLevel: 'error' as const };
      const [{ runDemo, ensureFreshDataDir, KEYS_FILE }, { isDemoError }, { SERVICES_AVAILABLE }] = await Promise.all([import('../../demo/run.ts'), import('../../demo/errors.ts'), import('../../services.ts')]);
      const started = Date.now();
      const keysFile = flags.keys ?? join(config.dataDir, KEYS_FILE);
      try {
        await ensureFreshDataDir(config.dataDir); // before spending time on keys
        await mkdir(dirname(keysFile), { recursive: true, mode: 0o700 });
        io.err(`device keys: ${keysFile} (RSA-${bits}; made once in worker threads, reused by later runs)\n`);
        // Made in worker threads while the server, the snaps and the image are prepared.
        const keys = ensureKeysFile(keysFile, { count: devices, bits }).then((r) => r.keys);
        keys.catch(() => undefined); // awaited by the fleet step; a failure before it must not go unhandled
        const brandKey = bits === DEVICE_KEY_BITS ? undefined : PrivateKey.generate(bits);
        const result = await runDemo(
          {
            config,
            env: io.env,
            services: SERVICES_AVAILABLE,
            devices,
            deviceKeys: keys,
            ...(brandKey ? { brandKey } : {}),
            toolDirs: toolDirs(io.env['PATH']),
            nodePath: process.execPath,
            path: io.env['PATH'] ?? '/usr/bin:/bin',
            logStream: process.stderr,
          },
          {
            step: (title, lines) => io.out(`\n== ${title}\n${lines.map((l) => `   ${l}\n`).join('')}`),
            progress: (line) => io.err(`   ${line}\n`),
          },
        );
        io.out(
          `\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s. Browse what the demo made:\n` +
            `   snapline serve --data ${config.dataDir} --listen ${flags.listen}${flags.db ? ` --db ${flags.db}` : ''}\n` +
            `   then ${result.url}/console/ (the administrator's credentials are in ${join(config.dataDir, 'admin-credentials.txt')})\n`,
        );
      } catch (err) {
        if (isDemoError(err)) throw new CliError(`${err.message} (${err.code})`);
        throw err;
      }
    });
}
