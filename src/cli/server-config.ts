// The server's configuration for commands that run the server stack (serve,
// root import, root store-key): the same flags, the environment, and a bad
// configuration reported as a CLI error. The configuration module is loaded
// only when such a command runs (the CLI starts without the server stack).
import type { Command } from 'commander';
import type { Config, ConfigFlags } from '../platform/config.ts';
import { CliError, io } from './io.ts';

/** --config, --data and --db, as `serve` takes them. */
export function withConfigOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'configuration file (YAML or JSON)')
    .option('--data <dir>', 'data folder (default ./data)')
    .option('--db <url>', 'database: sqlite:PATH or postgres://... (default SQLite in the data folder)');
}

export async function serverConfig(flags: ConfigFlags): Promise<Config> {
  const { ConfigError, loadConfig } = await import('../platform/config.ts');
  try {
    return loadConfig(flags, io.env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
}
