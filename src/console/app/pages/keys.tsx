// Keys: the account's registered account-keys (certified by the root), and
// the vault's signing keys (generate, disable).
import { useState } from 'react';
import { deleteJson, enc, getJson, getText, postJson } from '../lib/api.ts';
import { readAssertions } from '../lib/assertion-text.ts';
import { useSession } from '../lib/session.tsx';
import { useLoad } from '../lib/use-load.ts';
import type { VaultKey } from '../lib/vault-types.ts';
import { ConfirmButton, ErrorMessage, Field, Loading, Notice, Table, TextArea, Time, useSubmit } from '../components/ui.tsx';

export default function KeysPage() {
  const s = useSession();
  const brand = s.account!;
  return (
    <>
      <AccountKeys brand={brand} />
      {s.can('vaultRead') && <VaultKeys brand={brand} />}
    </>
  );
}

function AccountKeys({ brand }: { brand: string }) {
  const s = useSession();
  const keys = useLoad(async () => readAssertions(await getText(`/api/accounts/${enc(brand)}/account-keys`)), [brand]);
  const [request, setRequest] = useState('');
  const [done, setDone] = useState<string>();
  const register = useSubmit(
    () => postJson<{ assertion: string }>(`/api/accounts/${enc(brand)}/account-keys`, { accountKeyRequest: request }),
    (r) => {
      const name = readAssertions(r.assertion)[0]?.headers.find(([k]) => k === 'name')?.[1] ?? '';
      setDone(`Registered ${name}: the root authority signed its account-key.`);
      setRequest('');
      keys.reload();
    },
  );
  const get = (h: [string, string][], k: string) => h.find(([n]) => n === k)?.[1] ?? '';
  return (
    <section aria-labelledby="account-keys">
      <h2 id="account-keys">Registered account-keys</h2>
      <ErrorMessage error={keys.error} />
      {keys.data ? (
        <Table
          caption={`Account-keys of ${brand} signed by the root authority`}
          rows={keys.data}
          rowKey={(a) => get(a.headers, 'public-key-sha3-384')}
          empty="No key is registered for this account (snapline key register, or a vault key)."
          columns={[
            { header: 'Name', cell: (a) => get(a.headers, 'name') },
            { header: 'Key id', cell: (a) => <code>{get(a.headers, 'public-key-sha3-384')}</code> },
            { header: 'Since', cell: (a) => <Time at={get(a.headers, 'since')} /> },
            { header: 'Until', cell: (a) => (get(a.headers, 'until') ? <Time at={get(a.headers, 'until')} /> : 'no end') },
            { header: 'Signed by', cell: (a) => get(a.headers, 'authority-id') },
          ]}
        />
      ) : (
        <Loading what="account-keys" />
      )}
      {s.can('admin') && (
        <form
          noValidate
          onSubmit={(e) => {
            if (!request.includes('type: account-key-request')) {
              e.preventDefault();
              register.setError("Paste the key's account-key-request (snapline key export NAME --account ACCOUNT prints it).");
              return;
            }
            void register.submit(e);
          }}
        >
          <h3>Register a brand key</h3>
          <TextArea label="Account-key-request" rows={5} value={request} onChange={(e) => setRequest(e.target.value)} spellCheck={false} hint="signed by the key itself: the root authority certifies it for this account" />
          <ErrorMessage error={register.error} />
          {done && <Notice>{done}</Notice>}
          <button type="submit" className="primary" disabled={register.busy}>
            Register key
          </button>
        </form>
      )}
    </section>
  );
}

function VaultKeys({ brand }: { brand: string }) {
  const s = useSession();
  const keys = useLoad(() => getJson<{ keys: VaultKey[] }>(`/api/vault/brands/${enc(brand)}/keys`), [brand]);
  const [name, setName] = useState('');
  const [done, setDone] = useState<string>();
  const { busy, error, setError, submit } = useSubmit(
    () => postJson<{ key: VaultKey }>(`/api/vault/brands/${enc(brand)}/keys`, { name }),
    (r) => {
      setDone(`Generated ${r.key.name} (${r.key.bits} bits), registered with the root.`);
      setName('');
      keys.reload();
    },
  );
  return (
    <section aria-labelledby="vault-keys">
      <h2 id="vault-keys">Vault signing keys</h2>
      <ErrorMessage error={keys.error} />
      {keys.data ? (
        <Table
          caption="Keys the vault signs serials with (public parts only)"
          rows={keys.data.keys}
          rowKey={(k) => k.keyId}
          empty="The vault holds no key for this brand."
          columns={[
            { header: 'Name', cell: (k) => k.name },
            { header: 'Key id', cell: (k) => <code title={k.keyId}>{k.keyId.slice(0, 16)}…</code> },
            { header: 'Bits', cell: (k) => k.bits },
            { header: 'Registered', cell: (k) => (k.registered ? 'yes' : 'no') },
            { header: 'Created', cell: (k) => <Time at={k.createdAt} /> },
            { header: 'State', cell: (k) => (k.disabledAt ? 'disabled' : 'active') },
            ...(s.can('admin')
              ? [
                  {
                    header: 'Actions',
                    cell: (k: VaultKey) =>
                      !k.disabledAt && (
                        <ConfirmButton label={`Disable ${k.name}`} title={`Disable the key ${k.name}?`} confirmLabel="Disable key" onConfirm={() => deleteJson(`/api/vault/brands/${enc(brand)}/keys/${enc(k.name)}`).then(keys.reload)}>
                          <p>The vault will sign nothing more with this key: models using it cannot register devices until they get another key.</p>
                        </ConfirmButton>
                      ),
                  },
                ]
              : []),
          ]}
        />
      ) : (
        <Loading what="vault keys" />
      )}
      {s.can('admin') && (
        <form
          noValidate
          onSubmit={(e) => {
            if (!/^[a-z0-9](?:-?[a-z0-9]){0,23}$/.test(name)) {
              e.preventDefault();
              setError('A key name is up to 24 lower-case letters, digits and single hyphens.');
              return;
            }
            void submit(e);
          }}
        >
          <h3>Generate a vault key</h3>
          <Field label="Key name" required value={name} onChange={(e) => setName(e.target.value)} hint="the root authority certifies it (account-key)" />
          <ErrorMessage error={error} />
          {done && <Notice>{done}</Notice>}
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Generating (a few seconds)…' : 'Generate key'}
          </button>
        </form>
      )}
    </section>
  );
}
