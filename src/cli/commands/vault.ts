// snapline vault key|model|apikey|log|system-user: the serial vault's admin
// API, each command a request to /api/vault/brands/{brand}/...
import type { Command } from 'commander';
import { apiClient, type ApiClient } from '../client.ts';
import { CliError, io, readInput } from '../io.ts';

const urlOption = (c: Command) => c.option('--url <url>', 'server URL (default $SNAPLINE_URL)');
const client = (opts: { url?: string }): Promise<ApiClient> => apiClient(opts.url ? { url: opts.url } : {});
const base = (brand: string) => `/api/vault/brands/${encodeURIComponent(brand)}`;
const collect = (v: string, prev: string[] = []) => [...prev, v];
const json = (v: unknown) => io.out(JSON.stringify(v, null, 2) + '\n');

function table(rows: string[][]): void {
  if (rows.length <= 1) return io.out('Nothing.\n');
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const r of rows) io.out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n');
}

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${what} must be a positive integer`);
  return n;
}

export function registerVault(program: Command): void {
  const vault = program.command('vault').description('the serial vault: signing keys, models, factory API keys, signing log, system-users');

  // ---- keys
  const key = vault.command('key').description("the vault's brand signing keys (held by the server's key custody)");
  urlOption(
    key
      .command('create')
      .argument('<name>', 'key name')
      .requiredOption('--brand <account-id>', 'the brand the key signs for')
      .option('--no-register', "don't have the server's root certify it (upload an account-key later)")
      .option('--since <time>', 'start of the account-key validity (default an hour ago)')
      .description('generate an RSA-4096 key in the vault; prints the key id and its account-key'),
  ).action(async (name: string, opts: { brand: string; register: boolean; since?: string; url?: string }) => {
    const c = await client(opts);
    const r = await c.json<{ key: { keyId: string }; accountKey: string | null }>('POST', `${base(opts.brand)}/keys`, { name, register: opts.register, ...(opts.since ? { since: opts.since } : {}) });
    io.out(`${name} ${r.key.keyId}\n${r.accountKey ?? ''}`);
  });
  urlOption(
    key
      .command('import')
      .argument('<name>', 'key name')
      .argument('<file>', 'PEM private key (PKCS#1 or PKCS#8; encrypted ones use $SNAPLINE_PASSPHRASE), - for stdin')
      .requiredOption('--brand <account-id>', 'the brand the key signs for')
      .option('--account-key <file>', 'the signed account-key of this key (instead of having the root certify it)')
      .option('--no-register', "don't have the server's root certify it")
      .description('import a private key into the vault'),
  ).action(async (name: string, file: string, opts: { brand: string; accountKey?: string; register: boolean; url?: string }) => {
    const c = await client(opts);
    const pem = (await readInput(file)).toString('utf8');
    const accountKey = opts.accountKey ? (await readInput(opts.accountKey)).toString('utf8') : undefined;
    const pass = io.env['SNAPLINE_PASSPHRASE'];
    const r = await c.json<{ key: { keyId: string }; accountKey: string | null }>('POST', `${base(opts.brand)}/keys`, {
      name,
      pem,
      register: opts.register,
      ...(pem.includes('ENCRYPTED') && pass ? { passphrase: pass } : {}),
      ...(accountKey ? { accountKey } : {}),
    });
    io.out(`${name} ${r.key.keyId}\n${r.accountKey ?? ''}`);
  });
  urlOption(
    key
      .command('list')
      .requiredOption('--brand <account-id>', 'the brand')
      .option('--json', 'machine-readable output')
      .description("list the brand's vault keys"),
  ).action(async (opts: { brand: string; json?: boolean; url?: string }) => {
    const r = await (await client(opts)).json<{ keys: { name: string; keyId: string; registered: boolean; disabledAt: string | null }[] }>('GET', `${base(opts.brand)}/keys`);
    if (opts.json) return json(r.keys);
    table([['Name', 'State', 'SHA3-384'], ...r.keys.map((k) => [k.name, k.disabledAt ? 'disabled' : k.registered ? 'registered' : 'unregistered', k.keyId])]);
  });
  urlOption(key.command('disable').argument('<name>', 'key name').requiredOption('--brand <account-id>', 'the brand').description('disable a key: it signs nothing more')).action(
    async (name: string, opts: { brand: string; url?: string }) => {
      await (await client(opts)).json('DELETE', `${base(opts.brand)}/keys/${encodeURIComponent(name)}`);
      io.out(`Disabled ${name}.\n`);
    },
  );

  // ---- models
  const model = vault.command('model').description('models the vault signs serials for');
  urlOption(
    model
      .command('add')
      .argument('<brand>', 'brand account id')
      .argument('<model>', 'model name')
      .requiredOption('--key <name>', 'vault key that signs the serials')
      .option('--serial-template <template>', 'generated serials: text with {uuid}, {random:N}, {counter:N}, {date} (default {uuid})')
      .option('--allow-proposed', "accept the device's proposed serial (registration.proposed-serial)")
      .option('--serial-pattern <regexp>', 'proposed serials must match this (anchored)')
      .option('--serial-authority <account-id>', 'sign serials as this account (listed in the model\'s serial-authority)')
      .option('--duplicates <policy>', 'a device key registering again: idempotent (its serial back), refuse, new-serial', 'idempotent')
      .option('--remodel-from <brand/model>', 'accept devices remodelled from this model (repeatable)', collect)
      .description('let the vault sign serials for a model'),
  ).action(async (brand: string, name: string, opts: { key: string; serialTemplate?: string; allowProposed?: boolean; serialPattern?: string; serialAuthority?: string; duplicates: string; remodelFrom?: string[]; url?: string }) => {
    const r = await (await client(opts)).json<{ model: { brandId: string; model: string } }>('POST', `${base(brand)}/models`, {
      model: name,
      key: opts.key,
      duplicates: opts.duplicates,
      ...(opts.serialTemplate ? { serialTemplate: opts.serialTemplate } : {}),
      ...(opts.allowProposed ? { allowProposed: true } : {}),
      ...(opts.serialPattern ? { serialPattern: opts.serialPattern } : {}),
      ...(opts.serialAuthority ? { serialAuthority: opts.serialAuthority } : {}),
      ...(opts.remodelFrom ? { remodelFrom: opts.remodelFrom } : {}),
    });
    io.out(`Added ${r.model.brandId}/${r.model.model}.\n`);
  });
  urlOption(
    model
      .command('update')
      .argument('<brand>', 'brand account id')
      .argument('<model>', 'model name')
      .option('--key <name>', 'sign new serials with this vault key (key rotation)')
      .option('--serial-template <template>', 'generated serials')
      .option('--allow-proposed', 'accept proposed serials')
      .option('--no-allow-proposed', 'ignore proposed serials')
      .option('--serial-pattern <regexp>', 'proposed serials must match this')
      .option('--serial-authority <account-id>', 'sign serials as this account (with --key of that account)')
      .option('--duplicates <policy>', 'idempotent, refuse or new-serial')
      .option('--remodel-from <brand/model>', 'accept devices remodelled from this model (repeatable; replaces the list)', collect)
      .description("change a model's signing key or serial policy (its counter and log stay)"),
  ).action(async (brand: string, name: string, opts: { key?: string; serialTemplate?: string; allowProposed?: boolean; serialPattern?: string; serialAuthority?: string; duplicates?: string; remodelFrom?: string[]; url?: string }) => {
    const changes = {
      ...(opts.key ? { key: opts.key } : {}),
      ...(opts.serialTemplate ? { serialTemplate: opts.serialTemplate } : {}),
      ...(opts.allowProposed !== undefined ? { allowProposed: opts.allowProposed } : {}),
      ...(opts.serialPattern !== undefined ? { serialPattern: opts.serialPattern } : {}),
      ...(opts.serialAuthority ? { serialAuthority: opts.serialAuthority } : {}),
      ...(opts.duplicates ? { duplicates: opts.duplicates } : {}),
      ...(opts.remodelFrom ? { remodelFrom: opts.remodelFrom } : {}),
    };
    if (Object.keys(changes).length === 0) throw new CliError('nothing to change');
    await (await client(opts)).json('PATCH', `${base(brand)}/models/${encodeURIComponent(name)}`, changes);
    io.out(`Updated ${brand}/${name}.\n`);
  });
  urlOption(model.command('list').argument('<brand>', 'brand account id').option('--json', 'machine-readable output').description("the brand's vault models")).action(
    async (brand: string, opts: { json?: boolean; url?: string }) => {
      const r = await (await client(opts)).json<{ models: { model: string; keyId: string; serialTemplate: string; allowProposed: boolean; duplicates: string }[] }>('GET', `${base(brand)}/models`);
      if (opts.json) return json(r.models);
      table([['Model', 'Serials', 'Proposed', 'Duplicates', 'Key'], ...r.models.map((m) => [m.model, m.serialTemplate, m.allowProposed ? 'yes' : 'no', m.duplicates, m.keyId])]);
    },
  );
  urlOption(model.command('remove').argument('<brand>', 'brand account id').argument('<model>', 'model name').description('stop signing serials for a model (the log stays)')).action(
    async (brand: string, name: string, opts: { url?: string }) => {
      await (await client(opts)).json('DELETE', `${base(brand)}/models/${encodeURIComponent(name)}`);
      io.out(`Removed ${brand}/${name}.\n`);
    },
  );

  // ---- factory API keys
  const apikey = vault.command('apikey').description('factory API keys (sent by devices in the api-key header)');
  urlOption(
    apikey
      .command('create')
      .argument('<brand>', 'brand account id')
      .requiredOption('--name <name>', 'what the key is for (production line, batch)')
      .option('--model <model>', 'limit the key to this model (repeatable; default every model of the brand)', collect)
      .option('--max-serials <n>', 'quota: serials the key may sign')
      .option('--valid-from <time>', 'start of validity')
      .option('--valid-until <time>', 'end of validity')
      .description('create a factory API key; its secret is printed once'),
  ).action(async (brand: string, opts: { name: string; model?: string[]; maxSerials?: string; validFrom?: string; validUntil?: string; url?: string }) => {
    const r = await (await client(opts)).json<{ apiKey: { id: number }; secret: string }>('POST', `${base(brand)}/api-keys`, {
      name: opts.name,
      ...(opts.model ? { models: opts.model } : {}),
      ...(opts.maxSerials ? { maxSerials: positiveInt(opts.maxSerials, '--max-serials') } : {}),
      ...(opts.validFrom ? { validFrom: opts.validFrom } : {}),
      ...(opts.validUntil ? { validUntil: opts.validUntil } : {}),
    });
    io.err(`API key ${r.apiKey.id} created; its secret is shown only now. Gadget prepare-device hook:\n  snapctl set device-service.headers='{"api-key": "<secret>"}'\n`);
    io.out(`${r.secret}\n`);
  });
  urlOption(apikey.command('list').argument('<brand>', 'brand account id').option('--json', 'machine-readable output').description("the brand's API keys (never their secrets)")).action(
    async (brand: string, opts: { json?: boolean; url?: string }) => {
      const r = await (await client(opts)).json<{ apiKeys: { id: number; name: string; models: string[]; usedSerials: number; maxSerials: number | null; revokedAt: string | null; validUntil: string | null }[] }>('GET', `${base(brand)}/api-keys`);
      if (opts.json) return json(r.apiKeys);
      table([
        ['Id', 'Name', 'Models', 'Used', 'State'],
        ...r.apiKeys.map((k) => [String(k.id), k.name, k.models.join(',') || '*', `${k.usedSerials}${k.maxSerials !== null ? `/${k.maxSerials}` : ''}`, k.revokedAt ? 'revoked' : k.validUntil ? `until ${k.validUntil}` : 'active']),
      ]);
    },
  );
  urlOption(apikey.command('revoke').argument('<brand>', 'brand account id').argument('<id>', 'API key id').description('revoke an API key')).action(async (brand: string, id: string, opts: { url?: string }) => {
    await (await client(opts)).json('DELETE', `${base(brand)}/api-keys/${positiveInt(id, 'id')}`);
    io.out(`Revoked API key ${id}.\n`);
  });

  // ---- signing log
  urlOption(
    vault
      .command('log')
      .argument('<brand>', 'brand account id')
      .option('--model <model>', 'only this model')
      .option('--serial <serial>', 'only this serial')
      .option('--device-key <key-id>', 'only this device key (SHA3-384 id)')
      .option('--limit <n>', 'at most this many entries (newest first)', '100')
      .option('--export <format>', 'the whole (filtered) log as csv or json')
      .option('--json', 'machine-readable output')
      .description('list, search or export the signing log'),
  ).action(async (brand: string, opts: { model?: string; serial?: string; deviceKey?: string; limit: string; export?: string; json?: boolean; url?: string }) => {
    const q = new URLSearchParams();
    if (opts.model) q.set('model', opts.model);
    if (opts.serial) q.set('serial', opts.serial);
    if (opts.deviceKey) q.set('deviceKey', opts.deviceKey);
    const c = await client(opts);
    if (opts.export) {
      if (opts.export !== 'csv' && opts.export !== 'json') throw new CliError('--export takes csv or json');
      q.set('format', opts.export);
      return io.out(await c.text('GET', `${base(brand)}/log/export?${q}`, undefined, opts.export === 'csv' ? 'text/csv' : 'application/json'));
    }
    q.set('limit', String(positiveInt(opts.limit, '--limit')));
    const r = await c.json<{ entries: { signedAt: string; model: string; serial: string; deviceKeyId: string; apiKeyName: string; origin: string }[] }>('GET', `${base(brand)}/log?${q}`);
    if (opts.json) return json(r.entries);
    table([['Signed', 'Model', 'Serial', 'Device key', 'API key', 'Origin'], ...r.entries.map((e) => [e.signedAt, e.model, e.serial, e.deviceKeyId, e.apiKeyName, e.origin])]);
  });

  // ---- system-user
  urlOption(
    vault
      .command('system-user')
      .argument('<brand>', 'brand account id')
      .requiredOption('--email <email>', 'the user\'s e-mail (primary key with the brand)')
      .requiredOption('--username <name>', 'the system user name')
      .requiredOption('--model <model>', 'a model the user may be created on (repeatable)', collect)
      .option('--serial <serial>', 'only devices with this serial (repeatable; needs exactly one --model)', collect)
      .option('--name <name>', 'full name')
      .option('--password-hash <crypt>', 'a crypt(3) SHA-512 hash ($6$...) for the user\'s password')
      .option('--ssh-key <key>', 'an SSH public key (repeatable)', collect)
      .option('--valid-hours <n>', 'valid this many hours from now (default 24)')
      .option('--until <time>', 'valid until this time instead')
      .option('--key <name>', 'vault key to sign with (default the first model\'s key)')
      .description('sign a system-user assertion (factory or field access); prints it followed by its key chain'),
  ).action(
    async (
      brand: string,
      opts: { email: string; username: string; model: string[]; serial?: string[]; name?: string; passwordHash?: string; sshKey?: string[]; validHours?: string; until?: string; key?: string; url?: string },
    ) => {
      const r = await (await client(opts)).json<{ stream: string }>('POST', `${base(brand)}/system-users`, {
        email: opts.email,
        username: opts.username,
        models: opts.model,
        ...(opts.serial ? { serials: opts.serial } : {}),
        ...(opts.name ? { name: opts.name } : {}),
        ...(opts.passwordHash ? { password: opts.passwordHash } : {}),
        ...(opts.sshKey ? { sshKeys: opts.sshKey } : {}),
        ...(opts.validHours ? { validHours: positiveInt(opts.validHours, '--valid-hours') } : {}),
        ...(opts.until ? { until: opts.until } : {}),
        ...(opts.key ? { key: opts.key } : {}),
      });
      io.out(r.stream);
    },
  );
}
