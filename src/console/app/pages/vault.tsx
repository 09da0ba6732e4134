// Serial vault: the models it signs serials for, factory API keys (the
// secret is shown once), the signing log (search, pages, CSV/JSON export)
// and system-user assertions.
import { useState } from 'react';
import { deleteJson, download, enc, getJson, postJson, saveText } from '../lib/api.ts';
import { useSession } from '../lib/session.tsx';
import { useCursor, useLoad } from '../lib/use-load.ts';
import type { ApiKey, LogPage, VaultModel } from '../lib/vault-types.ts';
import { ConfirmButton, ErrorMessage, Field, Loading, Notice, Pager, Table, TextArea, Time, useSubmit } from '../components/ui.tsx';

export default function VaultPage() {
  const s = useSession();
  const brand = s.account!;
  return (
    <>
      {s.can('vaultRead') && <VaultModels brand={brand} />}
      {s.can('vaultRead') && <ApiKeys brand={brand} />}
      <SigningLog brand={brand} />
      {s.can('admin') && <SystemUser brand={brand} />}
    </>
  );
}

function VaultModels({ brand }: { brand: string }) {
  const models = useLoad(() => getJson<{ models: VaultModel[] }>(`/api/vault/brands/${enc(brand)}/models`), [brand]);
  return (
    <section aria-labelledby="vault-models">
      <h2 id="vault-models">Models the vault signs for</h2>
      <ErrorMessage error={models.error} />
      {models.data ? (
        <Table
          caption={`Vault models of ${brand}`}
          rows={models.data.models}
          rowKey={(m) => m.model}
          empty="The vault signs serials for no model of this brand yet (Models page)."
          columns={[
            { header: 'Model', cell: (m) => m.model },
            { header: 'Signing key', cell: (m) => <code title={m.keyId}>{m.keyId.slice(0, 12)}…</code> },
            { header: 'Serial template', cell: (m) => m.serialTemplate },
            { header: 'Duplicates', cell: (m) => m.duplicates },
            { header: 'Since', cell: (m) => <Time at={m.createdAt} /> },
          ]}
        />
      ) : (
        <Loading what="vault models" />
      )}
    </section>
  );
}

function ApiKeys({ brand }: { brand: string }) {
  const s = useSession();
  const keys = useLoad(() => getJson<{ apiKeys: ApiKey[] }>(`/api/vault/brands/${enc(brand)}/api-keys`), [brand]);
  const [name, setName] = useState('');
  const [models, setModels] = useState('');
  const [maxSerials, setMaxSerials] = useState('');
  const [secret, setSecret] = useState<{ name: string; secret: string; header: string }>();
  const { busy, error, setError, submit } = useSubmit(
    () =>
      postJson<{ apiKey: ApiKey; secret: string; header: string }>(`/api/vault/brands/${enc(brand)}/api-keys`, {
        name: name.trim(),
        ...(models.trim() ? { models: models.split(',').map((m) => m.trim()).filter(Boolean) } : {}),
        ...(maxSerials ? { maxSerials: Number(maxSerials) } : {}),
      }),
    (r) => {
      setSecret({ name: r.apiKey.name, secret: r.secret, header: r.header });
      setName('');
      setModels('');
      setMaxSerials('');
      keys.reload();
    },
  );
  return (
    <section aria-labelledby="api-keys">
      <h2 id="api-keys">Factory API keys</h2>
      <ErrorMessage error={keys.error} />
      {keys.data ? (
        <Table
          caption="Factory API keys (secrets are never shown again)"
          rows={keys.data.apiKeys}
          rowKey={(k) => String(k.id)}
          empty="No factory API key."
          columns={[
            { header: 'Name', cell: (k) => k.name },
            { header: 'Models', cell: (k) => (k.models.length ? k.models.join(', ') : 'all') },
            { header: 'Serials used', cell: (k) => `${k.usedSerials}${k.maxSerials !== null ? ` of ${k.maxSerials}` : ''}` },
            { header: 'Created', cell: (k) => <Time at={k.createdAt} /> },
            { header: 'State', cell: (k) => (k.revokedAt ? 'revoked' : 'active') },
            ...(s.can('admin')
              ? [
                  {
                    header: 'Actions',
                    cell: (k: ApiKey) =>
                      !k.revokedAt && (
                        <ConfirmButton label={`Revoke ${k.name}`} title={`Revoke the API key ${k.name}?`} confirmLabel="Revoke" onConfirm={() => deleteJson(`/api/vault/brands/${enc(brand)}/api-keys/${k.id}`).then(keys.reload)}>
                          <p>Factory lines using this key can no longer register devices. This cannot be undone.</p>
                        </ConfirmButton>
                      ),
                  },
                ]
              : []),
          ]}
        />
      ) : (
        <Loading what="API keys" />
      )}
      {secret && (
        <div className="secret" role="status">
          <p>
            The secret of <strong>{secret.name}</strong> is shown this once. Put it in the gadget's device-service headers as <code>{secret.header}</code>:
          </p>
          <pre>
            <code>{secret.secret}</code>
          </pre>
          <button type="button" onClick={() => setSecret(undefined)}>
            I have stored it
          </button>
        </div>
      )}
      {s.can('admin') && (
        <form
          noValidate
          onSubmit={(e) => {
            if (!name.trim() || name.startsWith('user:')) {
              e.preventDefault();
              setError('Give the key a name (not starting with "user:").');
              return;
            }
            if (maxSerials && !(Number.isInteger(Number(maxSerials)) && Number(maxSerials) >= 1)) {
              e.preventDefault();
              setError('The serial limit must be a whole number of at least 1.');
              return;
            }
            void submit(e);
          }}
        >
          <h3>Create a factory API key</h3>
          <Field label="Key name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
          <Field label="Models (optional)" value={models} onChange={(e) => setModels(e.target.value)} hint="comma-separated; empty: every model" />
          <Field label="Serial limit (optional)" inputMode="numeric" value={maxSerials} onChange={(e) => setMaxSerials(e.target.value)} />
          <ErrorMessage error={error} />
          <button type="submit" className="primary" disabled={busy}>
            Create API key
          </button>
        </form>
      )}
    </section>
  );
}

function SigningLog({ brand }: { brand: string }) {
  const [serial, setSerial] = useState('');
  const [model, setModel] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [filters, setFilters] = useState<Record<string, string>>({});
  const [exportError, setExportError] = useState<string>();
  const pages = useCursor<number>();
  const log = useLoad(() => getJson<LogPage>(`/api/vault/brands/${enc(brand)}/log`, { ...filters, before: pages.cursor, limit: 25 }), [brand, filters, pages.cursor]);
  const search = (e: { preventDefault(): void }) => {
    e.preventDefault();
    const f: Record<string, string> = {};
    if (serial.trim()) f['serial'] = serial.trim();
    if (model.trim()) f['model'] = model.trim();
    if (since) f['since'] = new Date(since).toISOString();
    if (until) f['until'] = new Date(until).toISOString();
    pages.reset();
    setFilters(f);
  };
  const exportAs = (format: 'csv' | 'json') => {
    setExportError(undefined);
    download(`/api/vault/brands/${enc(brand)}/log/export`, { ...filters, format }, `${brand}-signing-log.${format}`).catch((err: Error) => setExportError(err.message));
  };
  return (
    <section aria-labelledby="signing-log">
      <h2 id="signing-log">Signing log</h2>
      <form className="inline" role="search" aria-label="Search the signing log" onSubmit={search}>
        <Field label="Serial" value={serial} onChange={(e) => setSerial(e.target.value)} />
        <Field label="Model" value={model} onChange={(e) => setModel(e.target.value)} />
        <Field label="Signed since" type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
        <Field label="Signed until" type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} />
        <button type="submit">Search log</button>
      </form>
      <div className="actions">
        <button type="button" onClick={() => exportAs('csv')}>
          Export CSV
        </button>
        <button type="button" onClick={() => exportAs('json')}>
          Export JSON
        </button>
      </div>
      <ErrorMessage error={log.error ?? exportError} />
      {log.data ? (
        <Table
          caption={`Serials signed for ${brand}, newest first`}
          rows={log.data.entries}
          rowKey={(e) => String(e.id)}
          empty="No serial signed (matching the search)."
          columns={[
            { header: 'Signed', cell: (e) => <Time at={e.signedAt} /> },
            { header: 'Model', cell: (e) => e.model },
            { header: 'Serial', cell: (e) => e.serial },
            { header: 'Device key', cell: (e) => <code title={e.deviceKeyId}>{e.deviceKeyId.slice(0, 12)}…</code> },
            { header: 'API key', cell: (e) => e.apiKeyName },
            { header: 'Origin', cell: (e) => e.origin },
            { header: 'Remodel from', cell: (e) => e.remodelFrom || '—' },
            { header: 'State', cell: (e) => (e.pending ? 'pending' : 'signed') },
          ]}
        />
      ) : (
        <Loading what="the signing log" />
      )}
      <Pager label="Signing log" page={pages.page} hasNext={log.data?.nextBefore != null} onPrevious={pages.previous} onNext={() => log.data?.nextBefore && pages.next(log.data.nextBefore)} />
    </section>
  );
}

function SystemUser({ brand }: { brand: string }) {
  const [email, setEmail] = useState('');
  const [username, setUsername] = useState('');
  const [models, setModels] = useState('');
  const [serials, setSerials] = useState('');
  const [sshKeys, setSshKeys] = useState('');
  const [hours, setHours] = useState('24');
  const [signed, setSigned] = useState<string>();
  const { busy, error, setError, submit } = useSubmit(
    () =>
      postJson<{ assertion: string; stream: string }>(`/api/vault/brands/${enc(brand)}/system-users`, {
        email: email.trim(),
        username: username.trim(),
        models: models.split(',').map((m) => m.trim()).filter(Boolean),
        ...(serials.trim() ? { serials: serials.split(',').map((x) => x.trim()).filter(Boolean) } : {}),
        ...(sshKeys.trim() ? { sshKeys: sshKeys.split('\n').map((x) => x.trim()).filter(Boolean) } : {}),
        validHours: Number(hours),
      }),
    (r) => setSigned(r.stream),
  );
  return (
    <section aria-labelledby="system-users">
      <h2 id="system-users">System-user assertion</h2>
      <form
        noValidate
        onSubmit={(e) => {
          const problem = !/^[^@\s]+@[^@\s]+$/.test(email.trim())
            ? 'Give an e-mail address.'
            : !/^[a-z0-9][-a-z0-9+._]*$/.test(username.trim())
              ? 'The username is lower-case letters, digits and -+._, starting with a letter or digit.'
              : !models.trim()
                ? 'Name at least one model.'
                : !(Number.isInteger(Number(hours)) && Number(hours) >= 1 && Number(hours) <= 24 * 366)
                  ? 'Valid for 1 to 8784 hours.'
                  : undefined;
          if (problem) {
            e.preventDefault();
            setError(problem);
            return;
          }
          void submit(e);
        }}
      >
        <Field label="E-mail" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <Field label="System username" required value={username} onChange={(e) => setUsername(e.target.value)} />
        <Field label="Models" required value={models} onChange={(e) => setModels(e.target.value)} hint="comma-separated" />
        <Field label="Serials (optional)" value={serials} onChange={(e) => setSerials(e.target.value)} hint="comma-separated; empty: every device of the models" />
        <TextArea label="SSH public keys (optional)" rows={3} value={sshKeys} onChange={(e) => setSshKeys(e.target.value)} hint="one per line" />
        <Field label="Valid for (hours)" inputMode="numeric" required value={hours} onChange={(e) => setHours(e.target.value)} />
        <ErrorMessage error={error} />
        <button type="submit" className="primary" disabled={busy}>
          Sign system-user
        </button>
      </form>
      {signed && (
        <div className="panel">
          <Notice>Signed. Copy the stream onto the device (auto-import.assert on a USB stick) or download it.</Notice>
          <button type="button" onClick={() => saveText(signed, 'auto-import.assert', 'application/x.ubuntu.assertion')}>
            Download auto-import.assert
          </button>
          <pre className="assertion" tabIndex={0} aria-label="The signed system-user assertion stream">
            {signed}
          </pre>
        </div>
      )}
    </section>
  );
}
