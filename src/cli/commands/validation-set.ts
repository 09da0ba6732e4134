// `snapline validation-set create|push|list` (update control,
// docs/update-control.md): create a validation set and sign it with a key of
// the local keyring (as `snap sign` would), or have the server sign it with
// a brand key in its custody; push a signed one; list an account's sets.
// And classic gating: `snapline gate` (refresh-control) and `snapline validate`.
import type { Command } from 'commander';
import { formatTimestamp, sign, ValidationSetType, ValidationType } from '../../assertions/index.ts';
import { apiClient } from '../client.ts';
import { CliError, io, readInput } from '../io.ts';
import { loadKey } from './keyring.ts';

interface SetView {
  accountId: string;
  name: string;
  sequence: number;
  revision: number;
  snaps: { name: string; id: string; presence: string; revision: number | null }[];
  assertion: string;
}

const urlOption = ['--url <url>', 'server URL (default $SNAPLINE_URL)'] as const;
const setsPath = (account: string) => `/api/store/accounts/${encodeURIComponent(account)}/validation-sets`;
const setLine = (v: SetView) =>
  `${v.accountId}/${v.name} sequence ${v.sequence} (revision ${v.revision}): ${v.snaps.map((s) => `${s.name} ${s.presence}${s.revision ? ` at ${s.revision}` : ''}`).join(', ')}\n`;

/** `--snap NAME=ID[,presence=P][,revision=N]`, repeatable. */
function snapEntry(v: string, prev: Record<string, string>[] = []): Record<string, string>[] {
  const [first, ...rest] = v.split(',');
  const [name, id] = (first ?? '').split('=');
  if (!name || !id) throw new CliError(`--snap takes NAME=SNAP-ID[,presence=required|optional|invalid][,revision=N], not ${JSON.stringify(v)}`);
  const entry: Record<string, string> = { name, id };
  for (const kv of rest) {
    const [k, x] = kv.split('=');
    if ((k !== 'presence' && k !== 'revision') || !x) throw new CliError(`--snap ${name}: unknown or empty ${JSON.stringify(kv)} (presence=…, revision=…)`);
    entry[k] = x;
  }
  return [...prev, entry];
}

/** `snapline gate SNAP --controls A,B` and `snapline validate GATING GATED REVISION -k KEY [--revoke]`: classic gating. */
function registerGating(program: Command): void {
  program
    .command('gate')
    .argument('<snap>', 'the gating snap')
    .requiredOption('--controls <snaps>', 'the snaps (names or snap-ids) whose refreshes it gates, comma-separated; "" for none')
    .option('--store <store-id>', 'the store, when the snap name is registered in several')
    .option(...urlOption)
    .description("set refresh-control in a snap's declaration: devices refresh the named snaps only to revisions it validates")
    .action(async (snap: string, opts: { controls: string; store?: string; url?: string }) => {
      const c = await apiClient(opts.url ? { url: opts.url } : {});
      const q = opts.store ? `?store=${encodeURIComponent(opts.store)}` : '';
      const res = await c.json<{ refreshControl: string[] }>('PUT', `/api/store/snaps/${encodeURIComponent(snap)}/refresh-control${q}`, { snaps: opts.controls.split(',').map((x) => x.trim()).filter(Boolean) });
      io.out(res.refreshControl.length ? `${snap} gates ${res.refreshControl.join(', ')}\n` : `${snap} gates nothing\n`);
    });
  program
    .command('validate')
    .argument('<account>', "the gating snap's publisher (signs the validation)")
    .argument('<gating-snap-id>', 'the gating snap')
    .argument('<gated-snap-id>', 'the gated snap')
    .argument('<revision>', 'the gated revision approved (or revoked)')
    .requiredOption('-k, --key <name>', "the publisher's key in the local keyring")
    .option('--revoke', 'revoke an approval (give a higher --assertion-revision)')
    .option('--assertion-revision <n>', 'the validation assertion revision (a change or revocation needs a higher one)')
    .option(...urlOption)
    .description('sign a validation of a gated snap revision with the local keyring and push it')
    .action(async (account: string, gating: string, gated: string, revision: string, opts: { key: string; revoke?: boolean; assertionRevision?: string; url?: string }) => {
      for (const [flag, v] of [['<revision>', revision], ['--assertion-revision', opts.assertionRevision]] as const) if (v !== undefined && !/^[1-9]\d*$/.test(v)) throw new CliError(`${flag} must be a positive integer`);
      let text: string;
      try {
        const headers = { type: 'validation', 'authority-id': account, series: '16', 'snap-id': gating, 'approved-snap-id': gated, 'approved-snap-revision': revision, timestamp: formatTimestamp(io.now()), ...(opts.revoke ? { revoked: 'true' } : {}), ...(opts.assertionRevision ? { revision: opts.assertionRevision } : {}) };
        text = sign(ValidationType, { headers: headers as never }, await loadKey(opts.key), io.now()).toString();
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError(`cannot sign the validation: ${(err as Error).message}`);
      }
      const c = await apiClient(opts.url ? { url: opts.url } : {});
      const res = await c.json<{ validation: { approvedRevision: number; revoked: boolean; revision: number } }>('POST', `/api/store/accounts/${encodeURIComponent(account)}/validations`, { assertion: text });
      io.out(`${gated} revision ${res.validation.approvedRevision} ${res.validation.revoked ? 'revoked' : 'approved'} by ${gating} (assertion revision ${res.validation.revision})\n`);
    });
}

export function registerValidationSet(program: Command): void {
  registerGating(program);
  const vs = program.command('validation-set').description('validation sets (update control): create and sign, push, list');
  vs.command('create')
    .argument('<account>', 'the account (brand) whose set it is')
    .argument('<name>', 'the set name')
    .requiredOption('--sequence <n>', 'the sequence point (1, 2, …)')
    .requiredOption('--snap <entry>', 'NAME=SNAP-ID[,presence=required|optional|invalid][,revision=N] (repeatable)', snapEntry)
    .option('-k, --key <name>', 'sign with this key of the local keyring and print the assertion (push it with --push)')
    .option('--server-key <name>', "have the server sign it with the account's key of that name in its custody, and store it")
    .option('--revision <n>', 'the assertion revision (a new revision of the same sequence point)')
    .option('--push', 'push it to the server after signing locally')
    .option(...urlOption)
    .description('create a validation set, signed locally (-k) or by the server (--server-key)')
    .action(async (account: string, name: string, opts: { sequence: string; snap: Record<string, string>[]; key?: string; serverKey?: string; revision?: string; push?: boolean; url?: string }) => {
      if ((opts.key === undefined) === (opts.serverKey === undefined)) throw new CliError('give -k KEY (local keyring) or --server-key NAME (the server’s custody)');
      for (const [flag, v] of [['--sequence', opts.sequence], ['--revision', opts.revision]] as const) if (v !== undefined && !/^[1-9]\d*$/.test(v)) throw new CliError(`${flag} must be a positive integer`);
      const headers: Record<string, unknown> = { 'account-id': account, name, sequence: opts.sequence, snaps: opts.snap, ...(opts.revision ? { revision: opts.revision } : {}) };
      if (opts.serverKey !== undefined) {
        const c = await apiClient(opts.url ? { url: opts.url } : {});
        const res = await c.json<{ validationSet: SetView }>('POST', setsPath(account), { headers, key: opts.serverKey });
        io.out(setLine(res.validationSet));
        return;
      }
      let text: string;
      try {
        text = sign(ValidationSetType, { headers: { type: 'validation-set', 'authority-id': account, series: '16', timestamp: formatTimestamp(io.now()), ...headers } as never }, await loadKey(opts.key!), io.now()).toString();
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError(`cannot create the validation set: ${(err as Error).message}`);
      }
      if (!opts.push) return io.out(text);
      const c = await apiClient(opts.url ? { url: opts.url } : {});
      io.out(setLine((await c.json<{ validationSet: SetView }>('POST', setsPath(account), { assertion: text })).validationSet));
    });
  vs.command('push')
    .argument('[file]', 'a signed validation-set assertion (default: standard input)')
    .option(...urlOption)
    .description('push a signed validation set; the store checks it against the brand’s models and the sequences it has')
    .action(async (file: string | undefined, opts: { url?: string }) => {
      const text = (await readInput(file)).toString('utf8');
      const account = /^account-id: (\S+)$/m.exec(text)?.[1];
      if (!account) throw new CliError('the input is not a validation-set assertion (no account-id header)');
      const c = await apiClient(opts.url ? { url: opts.url } : {});
      const res = await c.json<{ validationSet: SetView; unchanged: boolean }>('POST', setsPath(account), { assertion: text });
      io.out((res.unchanged ? 'unchanged: ' : '') + setLine(res.validationSet));
    });
  vs.command('list')
    .argument('<account>', 'the account')
    .option(...urlOption)
    .description("an account's validation sets (the latest revision of each sequence point)")
    .action(async (account: string, opts: { url?: string }) => {
      const c = await apiClient(opts.url ? { url: opts.url } : {});
      const res = await c.json<{ validationSets: SetView[] }>('GET', setsPath(account));
      io.out(res.validationSets.length ? res.validationSets.map(setLine).join('') : 'No validation sets.\n');
    });
}
