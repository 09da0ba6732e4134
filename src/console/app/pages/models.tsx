// Models: the models the vault signs serials for (add, remove), a model
// assertion decoded and verified by the server, and a new model written from
// a form as JSON headers to sign offline with `snapline sign` (the server
// holds no brand key that signs models).
import { useState } from 'react';
import { deleteJson, enc, getJson, postJson, saveText } from '../lib/api.ts';
import { useSession } from '../lib/session.tsx';
import { useLoad } from '../lib/use-load.ts';
import type { VaultKey, VaultModel } from '../lib/vault-types.ts';
import { ConfirmButton, ErrorMessage, Field, Loading, Select, Table, TextArea, Time, useSubmit } from '../components/ui.tsx';

export default function ModelsPage() {
  const s = useSession();
  return (
    <>
      {s.can('vaultRead') && <VaultModels brand={s.account!} />}
      <VerifyAssertion />
      <NewModel brand={s.account!} />
    </>
  );
}

function VaultModels({ brand }: { brand: string }) {
  const s = useSession();
  const models = useLoad(() => getJson<{ models: VaultModel[] }>(`/api/vault/brands/${enc(brand)}/models`), [brand]);
  const keys = useLoad(() => getJson<{ keys: VaultKey[] }>(`/api/vault/brands/${enc(brand)}/keys`), [brand]);
  const [model, setModel] = useState('');
  const [key, setKey] = useState('');
  const [template, setTemplate] = useState('');
  const activeKeys = (keys.data?.keys ?? []).filter((k) => !k.disabledAt);
  const { busy, error, setError, submit } = useSubmit(
    () => postJson(`/api/vault/brands/${enc(brand)}/models`, { model, key: key || activeKeys[0]?.name, ...(template.trim() ? { serialTemplate: template.trim() } : {}) }),
    () => {
      setModel('');
      setTemplate('');
      models.reload();
    },
  );
  return (
    <section aria-labelledby="models-list">
      <h2 id="models-list">Models of {brand}</h2>
      <ErrorMessage error={models.error} />
      {models.data ? (
        <Table
          caption="Models the serial vault signs serials for"
          rows={models.data.models}
          rowKey={(m) => m.model}
          empty="No model yet."
          columns={[
            { header: 'Model', cell: (m) => m.model },
            { header: 'Serial authority', cell: (m) => m.authorityId },
            { header: 'Signing key', cell: (m) => <code title={m.keyId}>{m.keyId.slice(0, 12)}…</code> },
            { header: 'Serial template', cell: (m) => m.serialTemplate },
            { header: 'Remodel from', cell: (m) => m.remodelFrom.join(', ') || '—' },
            { header: 'Added', cell: (m) => <Time at={m.createdAt} /> },
            ...(s.can('admin')
              ? [
                  {
                    header: 'Actions',
                    cell: (m: VaultModel) => (
                      <ConfirmButton label={`Remove ${m.model}`} title={`Stop signing serials for ${m.model}?`} confirmLabel="Remove model" onConfirm={() => deleteJson(`/api/vault/brands/${enc(brand)}/models/${enc(m.model)}`).then(models.reload)}>
                        <p>New devices of this model can no longer register. Its signing log stays.</p>
                      </ConfirmButton>
                    ),
                  },
                ]
              : []),
          ]}
        />
      ) : (
        <Loading what="models" />
      )}
      {s.can('admin') && (
        <form
          noValidate
          onSubmit={(e) => {
            const problem = !/^[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$/.test(model) ? 'A model name is letters, digits and single hyphens.' : activeKeys.length === 0 ? 'Generate a vault key first (Keys page).' : undefined;
            if (problem) {
              e.preventDefault();
              setError(problem);
              return;
            }
            void submit(e);
          }}
        >
          <h3>Let the vault sign serials for a model</h3>
          <Field label="Model name" required value={model} onChange={(e) => setModel(e.target.value)} />
          <Select label="Signing key" value={key || activeKeys[0]?.name || ''} onChange={(e) => setKey(e.target.value)} options={activeKeys.map((k) => k.name)} />
          <Field label="Serial template (optional)" value={template} onChange={(e) => setTemplate(e.target.value)} hint="placeholders {counter:N}, {random:N}, {uuid}, {date}; e.g. box-{counter:6}" />
          <ErrorMessage error={error} />
          <button type="submit" className="primary" disabled={busy}>
            Add model
          </button>
        </form>
      )}
    </section>
  );
}

interface Verified {
  assertions: { type: string; primaryKey: string[]; headers: Record<string, unknown>; body: string | null; verified: boolean; error: string | null }[];
}

function VerifyAssertion() {
  const [text, setText] = useState('');
  const [result, setResult] = useState<Verified>();
  const { busy, error, setError, submit } = useSubmit(() => postJson<Verified>('/api/console/assertions/verify', { stream: text }), setResult);
  return (
    <section aria-labelledby="verify">
      <h2 id="verify">Decode and verify a model assertion</h2>
      <form
        noValidate
        onSubmit={(e) => {
          if (!text.includes('type:')) {
            e.preventDefault();
            setError('Paste an assertion (it starts with "type: model").');
            return;
          }
          void submit(e);
        }}
      >
        <TextArea label="Assertion or stream" rows={8} value={text} onChange={(e) => setText(e.target.value)} hint="the server checks the signatures against its root authority and the account-keys it holds" spellCheck={false} />
        <ErrorMessage error={error} />
        <button type="submit" className="primary" disabled={busy}>
          Verify
        </button>
      </form>
      {result?.assertions.map((a, i) => (
        <article key={i} className="panel" aria-label={`${a.type} ${a.primaryKey.join('/')}`}>
          <h3>
            {a.type} {a.primaryKey.join('/')}: {a.verified ? <span className="good">verified</span> : <span className="bad">NOT verified: {a.error}</span>}
          </h3>
          <dl className="headers">
            {Object.entries(a.headers).map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
              </div>
            ))}
          </dl>
        </article>
      ))}
    </section>
  );
}

function NewModel({ brand }: { brand: string }) {
  const [model, setModel] = useState('');
  const [architecture, setArchitecture] = useState('amd64');
  const [base, setBase] = useState('core22');
  const [gadget, setGadget] = useState('');
  const [kernel, setKernel] = useState('');
  const [store, setStore] = useState('');
  const [grade, setGrade] = useState('signed');
  const [error, setError] = useState<string>();
  const [json, setJson] = useState<string>();
  const make = (e: { preventDefault(): void }) => {
    e.preventDefault();
    if (!/^[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$/.test(model)) return setError('A model name is letters, digits and single hyphens.');
    if (!gadget.trim() || !kernel.trim()) return setError('Name the gadget and the kernel snaps.');
    setError(undefined);
    const core20 = base !== 'core' && base !== 'core18' && base !== '';
    const headers: Record<string, unknown> = {
      type: 'model',
      'authority-id': brand,
      'brand-id': brand,
      series: '16',
      model,
      architecture,
      ...(base ? { base } : {}),
      ...(store.trim() ? { store: store.trim() } : {}),
      ...(core20
        ? {
            grade,
            snaps: [
              { name: gadget.trim(), type: 'gadget', 'default-channel': 'stable' },
              { name: kernel.trim(), type: 'kernel', 'default-channel': 'stable' },
              { name: base, type: 'base', 'default-channel': 'stable' },
            ],
          }
        : { gadget: gadget.trim(), kernel: kernel.trim() }),
    };
    setJson(JSON.stringify(headers, null, 2));
  };
  return (
    <section aria-labelledby="new-model">
      <h2 id="new-model">Write a new model</h2>
      <p>The console writes the model's headers as JSON; sign it offline with your brand key: <code>snapline sign -k KEY --timestamp &lt; model.json &gt; model.assert</code>.</p>
      <form noValidate onSubmit={make}>
        <Field label="Model name" required value={model} onChange={(e) => setModel(e.target.value)} />
        <Select label="Architecture" value={architecture} onChange={(e) => setArchitecture(e.target.value)} options={['amd64', 'arm64', 'armhf', 'i386', 'riscv64', 's390x', 'ppc64el']} />
        <Select label="Base" value={base} onChange={(e) => setBase(e.target.value)} options={['core24', 'core22', 'core20', 'core18', { value: '', label: 'core (series 16)' }]} />
        <Select label="Grade (core20 and later)" value={grade} onChange={(e) => setGrade(e.target.value)} options={['signed', 'secured', 'dangerous']} />
        <Field label="Gadget snap" required value={gadget} onChange={(e) => setGadget(e.target.value)} />
        <Field label="Kernel snap" required value={kernel} onChange={(e) => setKernel(e.target.value)} />
        <Field label="Store (optional)" value={store} onChange={(e) => setStore(e.target.value)} hint="the brand store devices of this model use" />
        <ErrorMessage error={error} />
        <button type="submit" className="primary">
          Write model JSON
        </button>
      </form>
      {json && (
        <div className="panel">
          <button type="button" onClick={() => saveText(json, `${model}.model.json`)}>
            Download {model}.model.json
          </button>
          <pre className="assertion" tabIndex={0} aria-label="The model's headers as JSON">
            {json}
          </pre>
        </div>
      )}
    </section>
  );
}
