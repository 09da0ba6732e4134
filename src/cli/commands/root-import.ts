// snapline root import BUNDLE: the server side of the offline root ceremony
// (docs/root-ceremony.md). Imports the bundle written by `snapline root bundle`
// on the offline root machine into the server's database and key custody
// (sealed, or into the PKCS#11 token with keys.custody pkcs11), then stops:
// `snapline serve` then runs with a root whose private key it does not hold.
// snapline root store-key: before that, optionally, the store key made in the
// server's custody (its HSM), for the offline machine to certify.
// The server stack is loaded only when the command runs: `root init` and the
// other offline `root` commands register from this module too.
import type { Command } from 'commander';
import type { ConfigFlags } from '../../platform/config.ts';
import { isKeyCustodyError } from '../../platform/keys/errors.ts';
import { parseRootBundle } from '../../platform/keys/root-bundle.ts';
import { keyCustodyOf } from '../../platform/keys/key-custody.ts';
import { CliError, io, readInput } from '../io.ts';
import { transferPassphrase } from './root.ts';
import { serverConfig, withConfigOptions } from '../server-config.ts';

export function registerRootImport(program: Command): void {
  const root = program.commands.find((c) => c.name() === 'root') ?? program.command('root').description('the root authority (trust root)');
  withConfigOptions(root.command('import').argument('<bundle>', 'the file `snapline root bundle` wrote on the offline root machine, or - for stdin'))
    .description("server: import an offline root's trusted assertions and store key (the root key stays offline), then exit; `serve` then uses them")
    .action(async (file: string, flags: ConfigFlags) => {
      const config = await serverConfig(flags);
      const { startServer } = await import('../../platform/server.ts');
      const { SERVICES_AVAILABLE } = await import('../../services.ts');
      let parsed;
      try {
        parsed = parseRootBundle(await readInput(file));
      } catch (err) {
        throw new CliError(`${file}: ${(err as Error).message}`);
      }
      // Asked only when the bundle carries the store key.
      const passphrase = parsed.storeKey !== undefined ? await transferPassphrase() : undefined;
      let server;
      try {
        server = await startServer({ config, env: io.env, services: SERVICES_AVAILABLE, listen: false, rootBundle: { bundle: parsed, ...(passphrase !== undefined ? { passphrase } : {}) } });
      } catch (err) {
        if (isKeyCustodyError(err)) throw new CliError(err.message);
        throw err;
      }
      try {
        const { rootSigner, storeSigner, rootId } = server.ctx.root;
        const inToken = keyCustodyOf(await server.ctx.keys.get({ keyId: storeSigner.keyId })) === 'pkcs11';
        io.err(`Imported root authority ${rootId}: root key ${rootSigner.keyId} (offline), store key ${storeSigner.keyId} (${inToken ? 'in the PKCS#11 token' : 'sealed in the database'}).\n`);
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
  withConfigOptions(root.command('store-key'))
    .option('--out <file>', 'write the public key here instead of standard output')
    .description(
      "server, before `root import`: make the store key in this server's custody (in its HSM with pkcs11 custody) and print its public key, for `snapline root init ROOT-ID --store-public-key FILE` offline",
    )
    .action(async (flags: ConfigFlags & { out?: string }) => {
      const config = await serverConfig(flags);
      const { masterKeysFor } = await import('../../platform/bootstrap.ts');
      const { migrate, openDatabase, platformMigrations } = await import('../../platform/db/index.ts');
      const { KeyCustody, ensureStoreKeyForCeremony, openConfiguredToken } = await import('../../platform/keys/index.ts');
      const { mkdir, writeFile } = await import('node:fs/promises');
      await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
      const { ring, generatedFile } = await masterKeysFor(config.dataDir, io.env, config.masterKeyFile);
      if (generatedFile) io.err(`Generated the master key ${generatedFile}. Back it up: without it the sealed keys cannot be opened.\n`);
      const db = openDatabase(config.db);
      let token;
      try {
        await migrate(db, [platformMigrations], () => new Date());
        if (config.keys.custody === 'pkcs11') token = openConfiguredToken(config.keys.pkcs11!, io.env);
        const keys = new KeyCustody(db.kysely, ring, () => new Date(), token ? { token } : {});
        const info = await ensureStoreKeyForCeremony(keys, config.rootId);
        const text = info.publicKey.encode() + '\n';
        if (flags.out) await writeFile(flags.out, text);
        else io.out(text);
        io.err(
          `Store key ${info.keyId} of root authority ${config.rootId} (${keyCustodyOf(info) === 'pkcs11' ? 'in the PKCS#11 token' : 'sealed in the database'}). ` +
            `Certify it on the offline root machine: snapline root init ${config.rootId} --store-public-key FILE\n`,
        );
      } catch (err) {
        if (isKeyCustodyError(err)) throw new CliError(err.message);
        throw err;
      } finally {
        await db.close();
        token?.close();
      }
    });
}
