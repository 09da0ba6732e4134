// snapline root import BUNDLE: the server side of the offline root ceremony
// (docs/root-ceremony.md). Imports the bundle written by `snapline root bundle`
// on the offline root machine into the server's database and key custody
// (sealed, or into the PKCS#11 token with keys.custody pkcs11), then stops:
// `snapline serve` then runs with a root whose private key it does not hold.
// The server stack is loaded only when the command runs: `root init` and the
// other offline `root` commands register from this module too.
import type { Command } from 'commander';
import type { ConfigFlags } from '../../platform/config.ts';
import { isKeyCustodyError } from '../../platform/keys/errors.ts';
import { parseRootBundle } from '../../platform/keys/root-bundle.ts';
import { CliError, io, readInput } from '../io.ts';
import { transferPassphrase } from './root.ts';

export function registerRootImport(program: Command): void {
  const root = program.commands.find((c) => c.name() === 'root') ?? program.command('root').description('the root authority (trust root)');
  root
    .command('import')
    .argument('<bundle>', 'the file `snapline root bundle` wrote on the offline root machine, or - for stdin')
    .option('--config <file>', 'configuration file (YAML or JSON), as for serve')
    .option('--data <dir>', 'data folder (default ./data)')
    .option('--db <url>', 'database: sqlite:PATH or postgres://... (default SQLite in the data folder)')
    .description("server: import an offline root's trusted assertions and store key (the root key stays offline), then exit; `serve` then uses them")
    .action(async (file: string, flags: ConfigFlags) => {
      const { ConfigError, loadConfig } = await import('../../platform/config.ts');
      const { startServer } = await import('../../platform/server.ts');
      const { SERVICES_AVAILABLE } = await import('../../services.ts');
      let config;
      try {
        config = loadConfig(flags, io.env);
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(err.message);
        throw err;
      }
      let parsed;
      try {
        parsed = parseRootBundle(await readInput(file));
      } catch (err) {
        throw new CliError(`${file}: ${(err as Error).message}`);
      }
      const passphrase = await transferPassphrase();
      let server;
      try {
        server = await startServer({ config, env: io.env, services: SERVICES_AVAILABLE, listen: false, rootBundle: { bundle: parsed, passphrase } });
      } catch (err) {
        if (isKeyCustodyError(err)) throw new CliError(err.message);
        throw err;
      }
      try {
        const { rootSigner, storeSigner, rootId } = server.ctx.root;
        io.err(`Imported root authority ${rootId}: root key ${rootSigner.keyId} (offline), store key ${storeSigner.keyId} (${config.keys.custody === 'pkcs11' ? 'in the PKCS#11 token' : 'sealed in the database'}).\n`);
        if (server.generatedMasterKey) io.err(`Generated the master key ${server.generatedMasterKey}. Back it up: without it the sealed keys cannot be opened.\n`);
        if (server.admin) {
          // As `serve` does: the credentials go to an owner-only file, never to the terminal.
          io.err(
            `Created the administrator "${server.admin.username}" of root authority ${rootId}.\n` +
              `  Its password${server.admin.token ? ' and API token are' : ' is (the API token is the value of SNAPLINE_ADMIN_TOKEN)'} in ${server.adminCredentialsFile} (readable by you only).\n` +
              '  The database keeps only hashes: read the file, then delete it.\n',
          );
        }
        for (const w of server.warnings) io.err(`warning: ${w}\n`);
      } finally {
        await server.close();
      }
    });
}
