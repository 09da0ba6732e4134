// Client commands of the server: login, root export, account add.
import type { Command } from 'commander';
import { apiClient, saveCredentials } from '../client.ts';
import { CliError, io } from '../io.ts';
import { askLine } from '../passphrase.ts';

export function registerServerClient(program: Command): void {
  program
    .command('login')
    .description('log in to a Snapline server and remember the token (SNAPLINE_PASSWORD or a prompt gives the password)')
    .option('--url <url>', 'server URL (default $SNAPLINE_URL)')
    .option('--username <name>', 'user name (default admin)', 'admin')
    .action(async (opts: { url?: string; username: string }) => {
      const client = await apiClient({ ...(opts.url ? { url: opts.url } : {}), requireToken: false });
      const password = io.env['SNAPLINE_PASSWORD'] ?? (await askLine(`Password for ${opts.username}: `));
      if (!password) throw new CliError('empty password');
      const res = await client.json<{ token: string; expiresAt: string }>('POST', '/api/login', { username: opts.username, password });
      await saveCredentials({ url: client.url, token: res.token, username: opts.username });
      io.out(`Logged in to ${client.url} as ${opts.username} until ${res.expiresAt}.\n`);
    });

  const root = program.commands.find((c) => c.name() === 'root') ?? program.command('root').description('the root authority (trust root)');
  root
    .command('export')
    .description("print the server's trusted stream (root account, root and store account-keys)")
    .option('--url <url>', 'server URL (default $SNAPLINE_URL)')
    .action(async (opts: { url?: string }) => {
      const client = await apiClient({ ...(opts.url ? { url: opts.url } : {}), requireToken: false });
      io.out(await client.text('GET', '/api/root/trusted', undefined, 'application/x.ubuntu.assertion'));
    });

  const account = program.commands.find((c) => c.name() === 'account') ?? program.command('account').description('accounts (brands, developers)');
  account
    .command('add')
    .argument('<account-id>', 'the new account id')
    .option('--display-name <name>', 'display name (default: the account id)')
    .option('--validation <level>', 'unproven, starred or verified', 'unproven')
    .option('--url <url>', 'server URL (default $SNAPLINE_URL)')
    .description("create an account on the server; prints its account assertion, signed by the server's root")
    .action(async (accountId: string, opts: { displayName?: string; validation: string; url?: string }) => {
      const client = await apiClient({ ...(opts.url ? { url: opts.url } : {}) });
      const res = await client.json<{ assertion: string }>('POST', '/api/accounts', {
        accountId,
        ...(opts.displayName ? { displayName: opts.displayName } : {}),
        validation: opts.validation,
      });
      io.out(res.assertion);
    });
}
