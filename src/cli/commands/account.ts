// snapline account create ACCOUNT-ID --root ROOT-ID: an account signed by the local root.
import type { Command } from 'commander';
import { issueAccount } from '../../assertions/index.ts';
import { CliError, io } from '../io.ts';
import { loadKey } from './keyring.ts';

const VALIDATIONS = ['unproven', 'starred', 'verified'] as const;

export function registerAccount(program: Command): void {
  const account = program.command('account').description('accounts (brands, developers)');
  account
    .command('create')
    .argument('<account-id>', 'the new account id')
    .requiredOption('--root <root-id>', 'root authority signing the account (with its "store" key)')
    .option('--display-name <name>', 'display name (default: the account id)')
    .option('--username <name>', 'username (default: the account id)')
    .option('--validation <level>', 'unproven, starred or verified', 'unproven')
    .description('print an account assertion signed by the local root authority')
    .action(async (accountId: string, opts: { root: string; displayName?: string; username?: string; validation: string }) => {
      if (!(VALIDATIONS as readonly string[]).includes(opts.validation)) throw new CliError(`--validation must be one of ${VALIDATIONS.join(', ')}`);
      const a = issueAccount({
        rootId: opts.root,
        signer: await loadKey('store'),
        accountId,
        ...(opts.displayName ? { displayName: opts.displayName } : {}),
        ...(opts.username ? { username: opts.username } : {}),
        validation: opts.validation as (typeof VALIDATIONS)[number],
        now: io.now(),
      });
      io.out(a.toString());
    });
}
