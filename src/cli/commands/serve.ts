// snapline serve: the server (store, vault, console on one spine).
import type { Command } from 'commander';
import { ConfigError, loadConfig, type ConfigFlags } from '../../platform/config.ts';
import { startServer } from '../../platform/server.ts';
import { CliError, io } from '../io.ts';
import { SERVICES_AVAILABLE } from '../../services.ts';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the server: store, vault and console on the embedded defaults (SQLite and files under ./data)')
    .option('--config <file>', 'configuration file (YAML or JSON)')
    .option('--data <dir>', 'data folder (default ./data)')
    .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:8080)')
    .option('--db <url>', 'database: sqlite:PATH or postgres://... (default SQLite in the data folder)')
    .option('--only <services>', 'serve only these services (comma-separated: store,vault,console)')
    .action(async (flags: ConfigFlags) => {
      let config;
      try {
        config = loadConfig(flags, io.env);
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(err.message);
        throw err;
      }
      const server = await startServer({ config, env: io.env, services: SERVICES_AVAILABLE });
      if (server.generatedMasterKey) {
        io.err(`First start: generated the master key ${server.generatedMasterKey}. Back it up: without it the signing keys cannot be opened.\n`);
      }
      if (server.admin) {
        const lines = [`First start: created the administrator "${server.admin.username}" of root authority ${config.rootId}.`];
        if (server.admin.password) lines.push(`  password: ${server.admin.password}`);
        lines.push(server.admin.token ? `  API token: ${server.admin.token}` : '  API token: the value of SNAPLINE_ADMIN_TOKEN');
        lines.push('These are shown once and stored only as hashes.');
        io.err(lines.join('\n') + '\n');
      }
      io.err(`Snapline listening on ${server.url} (root authority ${config.rootId}; services: ${config.only.join(', ')})\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          io.err(`${signal}: finishing requests in flight, then stopping\n`);
          server.close().then(resolve, (err: unknown) => {
            io.err(`error while stopping: ${String(err)}\n`);
            resolve();
          });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
