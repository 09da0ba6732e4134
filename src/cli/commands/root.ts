// snapline root init ROOT-ID [--out FILE]: a self-hosted root authority in the local keyring.
// On the offline root machine of a root ceremony (docs/root-ceremony.md):
// snapline root bundle (what a server needs, without the root key) and
// snapline root certify (an account-key from an account-key-request).
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  AccountKeyType,
  AccountType,
  PrivateKey,
  PublicKey,
  createRootAuthority,
  decode,
  encodeStream,
  issueAccountKey,
  issueAccountKeyFromRequest,
  rootAuthorityInputs,
  sign,
} from '../../assertions/index.ts';
import { makeRootBundle } from '../../platform/keys/root-bundle.ts';
import { CliError, io, parseTimeOption, readInput } from '../io.ts';
import { askLine, passphrase } from '../passphrase.ts';
import { keyring } from './keyring.ts';

/** The passphrase protecting the store key in a root bundle: $SNAPLINE_TRANSFER_PASSPHRASE, else asked. */
export async function transferPassphrase(opts: { confirm?: boolean } = {}): Promise<string> {
  const fromEnv = io.env['SNAPLINE_TRANSFER_PASSPHRASE'];
  if (fromEnv !== undefined) {
    if (fromEnv === '') throw new CliError('SNAPLINE_TRANSFER_PASSPHRASE is empty: the store key never travels unencrypted');
    return fromEnv;
  }
  const first = await askLine('Transfer passphrase (protects the store key in the bundle): ');
  if (first === '') throw new CliError('empty transfer passphrase: the store key never travels unencrypted');
  if (opts.confirm && (await askLine('Transfer passphrase again: ')) !== first) throw new CliError('passphrases do not match');
  return first;
}

export function registerRoot(program: Command): void {
  const root = program.command('root').description('the root authority (trust root)');
  root
    .command('init')
    .argument('<root-id>', 'account id of the root authority')
    .option('--out <file>', 'write the trusted stream here instead of standard output')
    .option('--display-name <name>', 'display name of the root account')
    .option('--since <time>', 'start of validity of the root keys (default now)')
    .option('--store-public-key <file>', "offline root ceremony: certify this store key (made in the server's custody by `snapline root store-key`) instead of making one")
    .description('create keys "root" and "store" and print the trusted stream (root account, root and store account-keys)')
    .action(async (rootId: string, opts: { out?: string; displayName?: string; since?: string; storePublicKey?: string }) => {
      const ring = keyring();
      for (const name of opts.storePublicKey !== undefined ? ['root'] : ['root', 'store']) {
        if (await ring.has(name)) throw new CliError(`the keyring already has a key named ${JSON.stringify(name)}; use another $SNAPLINE_KEYRING`);
      }
      if (opts.storePublicKey !== undefined) return initWithServerStoreKey(rootId, opts as typeof opts & { storePublicKey: string });
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
  root
    .command('bundle')
    .requiredOption('--trusted <file>', 'the trusted stream `root init` printed')
    .option('--out <file>', 'write the bundle here instead of standard output')
    .description(
      'offline root machine: write what a server needs (trusted stream, and the store key under a transfer passphrase unless the server made it; never the root key) for `snapline root import`',
    )
    .action(async (opts: { trusted: string; out?: string }) => {
      const ring = keyring();
      const trusted = await readInput(opts.trusted);
      // No store key in the keyring: the server made it (`root init --store-public-key`).
      const storeKey = (await ring.has('store')) ? { key: await ring.privateKey('store', await passphrase()), transferPassphrase: await transferPassphrase({ confirm: true }) } : undefined;
      let bundle;
      try {
        bundle = makeRootBundle(trusted, storeKey);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const text = JSON.stringify(bundle, null, 2) + '\n';
      if (opts.out) await writeFile(opts.out, text, { mode: 0o600 });
      else io.out(text);
    });
  root
    .command('certify')
    .argument('[request]', 'an account-key-request (`snapline key export NAME --account ACCOUNT`), or - for stdin')
    .requiredOption('--root <root-id>', 'the root authority whose "root" key (in this keyring) signs')
    .option('--public-key <file>', "instead of a request: a public key in snapd's encoding (a vault key's publicKey, made in a server's HSM)")
    .option('--account <account-id>', 'with --public-key: the account the key belongs to')
    .option('--name <name>', 'with --public-key: the name of the key')
    .option('--since <time>', "start of validity (default: the request's, or now)")
    .option('--until <time>', "end of validity (default: the request's, or none)")
    .description('offline root machine: print the account-key certifying a key (from its account-key-request, or its public key), signed by the root key')
    .action(async (file: string | undefined, opts: { root: string; publicKey?: string; account?: string; name?: string; since?: string; until?: string }) => {
      const since = opts.since ? parseTimeOption(opts.since, '--since') : undefined;
      const until = opts.until ? parseTimeOption(opts.until, '--until') : undefined;
      let certify: (signer: PrivateKey) => ReturnType<typeof issueAccountKey>;
      if (opts.publicKey !== undefined) {
        if (file !== undefined) throw new CliError('give an account-key-request or --public-key, not both');
        if (!opts.account || !opts.name) throw new CliError('--public-key needs --account and --name');
        let publicKey: PublicKey;
        try {
          publicKey = PublicKey.decode((await readInput(opts.publicKey)).toString().trim());
        } catch (err) {
          throw new CliError(`${opts.publicKey}: ${(err as Error).message}`);
        }
        const { account, name } = opts;
        certify = (signer) => issueAccountKey({ rootId: opts.root, signer, accountId: account, name, publicKey, since: since ?? io.now(), ...(until ? { until } : {}), now: io.now() });
      } else {
        const request = decode(await readInput(file));
        if (request.type !== 'account-key-request') throw new CliError(`expected an account-key-request, got a ${request.type}`);
        certify = (signer) => issueAccountKeyFromRequest({ rootId: opts.root, signer, request, now: io.now(), ...(since ? { since } : {}), ...(until ? { until } : {}) });
      }
      const ring = keyring();
      await ring.publicKey('root');
      io.out(certify(await ring.privateKey('root', await passphrase())).toString());
    });
}

/** root init --store-public-key: only the root key is made here; the store key is the server's (in its HSM). */
async function initWithServerStoreKey(rootId: string, opts: { out?: string; displayName?: string; since?: string; storePublicKey: string }): Promise<void> {
  let storeKey: PublicKey;
  try {
    storeKey = PublicKey.decode((await readInput(opts.storePublicKey)).toString().trim());
  } catch (err) {
    throw new CliError(`${opts.storePublicKey}: ${(err as Error).message}`);
  }
  if (storeKey.bits < 4096) throw new CliError(`${opts.storePublicKey}: a ${storeKey.bits}-bit key; snapd needs at least 4096 bits`);
  const pass = await passphrase({ confirm: true });
  const rootKey = await PrivateKey.generateAsync();
  const now = io.now();
  const inputs = rootAuthorityInputs({
    rootId,
    rootKey: rootKey.publicKey,
    storeKey,
    since: opts.since ? parseTimeOption(opts.since, '--since') : now,
    ...(opts.displayName ? { displayName: opts.displayName } : {}),
  });
  const stream = encodeStream([sign(AccountType, inputs.account, rootKey, now), sign(AccountKeyType, inputs.rootAccountKey, rootKey, now), sign(AccountKeyType, inputs.storeAccountKey, rootKey, now)]);
  await keyring().add('root', rootKey, pass);
  if (opts.out) await writeFile(opts.out, stream);
  else io.out(stream.toString());
}
