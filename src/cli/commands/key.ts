// snapline key create | list | export | import | delete | register
import type { Command } from 'commander';
import { PrivateKey, createAccountKeyRequest, issueAccountKey } from '../../assertions/index.ts';
import { CliError, io, parseTimeOption, readInput } from '../io.ts';
import { passphrase } from '../passphrase.ts';
import { keyring, loadKey } from './keyring.ts';
import { apiClient } from '../client.ts';

const MIN_BITS = 4096;

export function registerKey(program: Command): void {
  const key = program.command('key').description('manage signing keys in the local keyring ($SNAPLINE_KEYRING)');

  key
    .command('create')
    .argument('<name>', 'name of the new key')
    .option('--bits <n>', 'RSA modulus size (at least 4096)', '4096')
    .description('create a new RSA signing key')
    .action(async (name: string, opts: { bits: string }) => {
      const bits = Number(opts.bits);
      if (!Number.isInteger(bits) || bits < MIN_BITS) throw new CliError(`--bits must be an integer of at least ${MIN_BITS}`);
      const ring = keyring();
      if (await ring.has(name)) throw new CliError(`key ${JSON.stringify(name)} already exists`);
      const pass = await passphrase({ confirm: true });
      const info = await ring.add(name, await PrivateKey.generateAsync(bits), pass);
      io.out(`${info.name} ${info.id}\n`);
    });

  key
    .command('list')
    .option('--json', 'machine-readable output')
    .description('list keys with their SHA3-384 ids')
    .action(async (opts: { json?: boolean }) => {
      const keys = await keyring().list();
      if (opts.json) return io.out(JSON.stringify(keys, null, 2) + '\n');
      if (keys.length === 0) return io.out('No keys.\n');
      const width = Math.max(4, ...keys.map((k) => k.name.length));
      io.out(`${'Name'.padEnd(width)}  SHA3-384\n`);
      for (const k of keys) io.out(`${k.name.padEnd(width)}  ${k.id}\n`);
    });

  key
    .command('export')
    .argument('<name>', 'key to export')
    .option('--account <account-id>', 'print an account-key-request for this account instead of the public key')
    .option('--since <time>', 'start of validity requested (default now)')
    .option('--until <time>', 'end of validity requested')
    .description('print the public key, or an account-key-request signed by the key')
    .action(async (name: string, opts: { account?: string; since?: string; until?: string }) => {
      if (!opts.account) {
        const pub = await keyring().publicKey(name);
        return io.out(pub.encode() + '\n');
      }
      const request = createAccountKeyRequest({
        key: await loadKey(name),
        accountId: opts.account,
        name,
        since: opts.since ? parseTimeOption(opts.since, '--since') : io.now(),
        ...(opts.until ? { until: parseTimeOption(opts.until, '--until') } : {}),
      });
      io.out(request.toString());
    });

  key
    .command('import')
    .argument('<name>', 'name to give the key')
    .argument('<file>', 'PEM private key (PKCS#1 or PKCS#8; if encrypted, with the keyring passphrase), or - for stdin')
    .description('import an existing RSA private key (e.g. a brand key certified elsewhere)')
    .action(async (name: string, file: string) => {
      const pem = await readInput(file);
      const pass = await passphrase();
      let key: PrivateKey;
      try {
        key = PrivateKey.fromPem(pem, pem.includes('ENCRYPTED') ? pass : undefined);
      } catch (err) {
        throw new CliError(`cannot import ${file}: ${(err as Error).message}`);
      }
      if (key.publicKey.bits < MIN_BITS) throw new CliError(`refusing a ${key.publicKey.bits}-bit key: snapd signs only with keys of at least ${MIN_BITS} bits`);
      const info = await keyring().add(name, key, pass);
      io.out(`${info.name} ${info.id}\n`);
    });

  key
    .command('delete')
    .argument('<name>', 'key to delete')
    .description('delete a key from the keyring')
    .action(async (name: string) => {
      await keyring().delete(name);
    });

  key
    .command('register')
    .argument('<name>', 'key to certify')
    .requiredOption('--account <account-id>', 'account the key belongs to')
    .option('--root <root-id>', 'local root authority whose "root" key signs the account-key')
    .option('--url <url>', "a Snapline server whose root certifies the key (default $SNAPLINE_URL when --root is absent)")
    .option('--since <time>', 'start of validity (default now)')
    .option('--until <time>', 'end of validity')
    .description("print an account-key for the key, signed by the local root's root key (--root) or by a server's root (--url)")
    .action(async (name: string, opts: { account: string; root?: string; url?: string; since?: string; until?: string }) => {
      if (!opts.root) {
        if (!opts.url && !io.env['SNAPLINE_URL']) throw new CliError('give --root ROOT-ID (local root) or --url URL (a server)');
        const request = createAccountKeyRequest({
          key: await loadKey(name),
          accountId: opts.account,
          name,
          since: opts.since ? parseTimeOption(opts.since, '--since') : io.now(),
          ...(opts.until ? { until: parseTimeOption(opts.until, '--until') } : {}),
        });
        const client = await apiClient({ ...(opts.url ? { url: opts.url } : {}) });
        const res = await client.json<{ assertion: string }>('POST', `/api/accounts/${encodeURIComponent(opts.account)}/account-keys`, { accountKeyRequest: request.toString() });
        return io.out(res.assertion);
      }
      const ring = keyring();
      const publicKey = await ring.publicKey(name);
      const signer = await ring.privateKey('root', await passphrase());
      const accountKey = issueAccountKey({
        rootId: opts.root,
        signer,
        accountId: opts.account,
        name,
        publicKey,
        since: opts.since ? parseTimeOption(opts.since, '--since') : io.now(),
        ...(opts.until ? { until: parseTimeOption(opts.until, '--until') } : {}),
        now: io.now(),
      });
      io.out(accountKey.toString());
    });
}
