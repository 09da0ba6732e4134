// snapline root init ROOT-ID [--out FILE]: a self-hosted root authority in the local keyring.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { PrivateKey, createRootAuthority, encodeStream } from '../../assertions/index.ts';
import { CliError, io, parseTimeOption } from '../io.ts';
import { passphrase } from '../passphrase.ts';
import { keyring } from './keyring.ts';

export function registerRoot(program: Command): void {
  const root = program.command('root').description('the root authority (trust root)');
  root
    .command('init')
    .argument('<root-id>', 'account id of the root authority')
    .option('--out <file>', 'write the trusted stream here instead of standard output')
    .option('--display-name <name>', 'display name of the root account')
    .option('--since <time>', 'start of validity of the root keys (default now)')
    .description('create keys "root" and "store" and print the trusted stream (root account, root and store account-keys)')
    .action(async (rootId: string, opts: { out?: string; displayName?: string; since?: string }) => {
      const ring = keyring();
      for (const name of ['root', 'store']) {
        if (await ring.has(name)) throw new CliError(`the keyring already has a key named ${JSON.stringify(name)}; use another $SNAPLINE_KEYRING`);
      }
      const pass = await passphrase({ confirm: true });
      const [rootKey, storeKey] = await Promise.all([PrivateKey.generateAsync(), PrivateKey.generateAsync()]);
      const authority = createRootAuthority({
        rootId,
        rootKey,
        storeKey,
        now: io.now(),
        ...(opts.displayName ? { displayName: opts.displayName } : {}),
        ...(opts.since ? { since: parseTimeOption(opts.since, '--since') } : {}),
      });
      await ring.add('root', rootKey, pass);
      await ring.add('store', storeKey, pass);
      const stream = encodeStream([authority.account, authority.rootAccountKey, authority.storeAccountKey]);
      if (opts.out) await writeFile(opts.out, stream);
      else io.out(stream.toString());
    });
}
