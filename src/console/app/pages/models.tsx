// Models: the models the vault signs serials for (add, remove), a model
// assertion decoded and verified by the server, and a new model written from
// a form as JSON headers to sign offline with `snapline sign` (the server
// holds no brand key that signs models).
import { useState } from 'react';
import { deleteJson, enc, getJson, postJson, saveText } from '../lib/api.ts';
import { useSession } from '../lib/session.tsx';
import { useCursor, useLoad } from '../lib/use-load.ts';
import type { VaultKey, VaultModel } from '../lib/vault-types.ts';
import { ConfirmButton, ErrorMessage, Field, Loading, Notice, Pager, Select, Table, TextArea, Time, useSubmit } from '../components/ui.tsx';

export default function ModelsPage() {
  const s = useSession();
  return (
    <>
      <ModelAssertions brand={s.account!} />
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
      <h2 id="models-list">Models the vault signs serials for</h2>
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

interface VerifiedAssertion {
  type: string;
  primaryKey: string[];
  revision: number;
  headers: Record<string, unknown>;
  body: string | null;
  verified: boolean;
  error: string | null;
}

interface Verified {
  assertions: VerifiedAssertion[];
}

/** The brand's model assertions the server holds, each decoded and verified by the server. */
function ModelAssertions({ brand }: { brand: string }) {
  const pages = useCursor<string>();
  const models = useLoad(() => getJson<{ models: (VerifiedAssertion & { assertion: string })[]; nextAfter: string | null }>(`/api/console/brands/${enc(brand)}/models`, { after: pages.cursor, limit: 25 }), [brand, pages.cursor]);
  const [open, setOpen] = useState<string>();
  const shown = models.data?.models.find((m) => m.primaryKey.join('/') === open);
  return (
    <section aria-labelledby="model-assertions">
      <h2 id="model-assertions">Model assertions of {brand}</h2>
      <ErrorMessage error={models.error} />
      {models.data ? (
        <Table
          caption="Models signed by the brand that the server holds, verified against its root authority"
          rows={models.data.models}
          rowKey={(m) => m.primaryKey.join('/')}
          empty="The server holds no model of this brand (sign one below, or it arrives with a device session)."
          columns={[
            { header: 'Model', cell: (m) => String(m.headers['model'] ?? '') },
            { header: 'Revision', cell: (m) => m.revision },
            { header: 'Architecture', cell: (m) => String(m.headers['architecture'] ?? '') },
            { header: 'Base', cell: (m) => String(m.headers['base'] ?? 'core') },
            { header: 'Grade', cell: (m) => String(m.headers['grade'] ?? '—') },
            { header: 'Store', cell: (m) => String(m.headers['store'] ?? '—') },
            { header: 'Signature', cell: (m) => (m.verified ? <span className="good">verified</span> : <span className="bad">NOT verified: {m.error}</span>) },
            {
              header: 'Details',
              cell: (m) => (
                <button type="button" aria-expanded={open === m.primaryKey.join('/')} onClick={() => setOpen(open === m.primaryKey.join('/') ? undefined : m.primaryKey.join('/'))}>
                  Headers of {String(m.headers['model'])}
                </button>
              ),
            },
          ]}
        />
      ) : (
        <Loading what="model assertions" />
      )}
      <Pager label="Model assertions" page={pages.page} hasNext={!!models.data?.nextAfter} onPrevious={pages.previous} onNext={() => models.data?.nextAfter && pages.next(models.data.nextAfter)} />
      {shown && (
        <div className="panel">
          <Headers headers={shown.headers} />
          <button type="button" onClick={() => saveText(shown.assertion, `${String(shown.headers['model'])}.model`, 'application/x.ubuntu.assertion')}>
            Download {String(shown.headers['model'])}.model
          </button>
        </div>
      )}
    </section>
  );
}

function Headers({ headers }: { headers: Record<string, unknown> }) {
  return (
    <dl className="headers">
      {Object.entries(headers).map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
        </div>
      ))}
    </dl>
  );
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
          <Headers headers={a.headers} />
        </article>
      ))}
    </section>
  );
}

function NewModel({ brand }: { brand: string }) {
  const s = useSession();
  const keys = useLoad(() => (s.can('admin') ? getJson<{ keys: VaultKey[] }>(`/api/vault/brands/${enc(brand)}/keys`) : Promise.resolve({ keys: [] as VaultKey[] })), [brand]);
  const usable = (keys.data?.keys ?? []).filter((k) => !k.disabledAt);
  const [key, setKey] = useState('');
  const [signed, setSigned] = useState<string>();
  const [model, setModel] = useState('');
  const [architecture, setArchitecture] = useState('amd64');
  const [base, setBase] = useState('core22');
  const [gadget, setGadget] = useState('');
  const [kernel, setKernel] = useState('');
  const [store, setStore] = useState('');
  const [grade, setGrade] = useState('signed');
  const [error, setError] = useState<string>();
  const [json, setJson] = useState<string>();
  const sign = useSubmit(
    async () => postJson<{ model: VerifiedAssertion & { assertion: string } }>(`/api/console/brands/${enc(brand)}/models`, { headers: await headersOf(), key: key || usable[0]?.name }),
    (r) => setSigned(r.model.assertion),
  );
  const write = useSubmit(headersOf, (headers) => setJson(JSON.stringify(headers, null, 2)));
  const problem = (): string | undefined => {
    if (!/^[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$/.test(model)) return 'A model name is letters, digits and single hyphens.';
    if (!gadget.trim() || !kernel.trim()) return 'Name the gadget and the kernel snaps.';
    return undefined;
  };
  /** core20 and later list their snaps; a signed or secured model names each by its snap id, looked up in the store. */
  async function headersOf(): Promise<Record<string, unknown>> {
    const core20 = base !== 'core' && base !== 'core18' && base !== '';
    const idOf = async (name: string): Promise<string | undefined> => {
      try {
        const st = await getJson<{ snap: { snapId: string } }>(`/api/store/snaps/${enc(name)}`, { store: store.trim() || s.store });
        return st.snap.snapId;
      } catch (err) {
        if (grade === 'dangerous') return undefined;
        throw new Error(`a ${grade} model names each snap by its id: ${name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    };
    const snap = async (name: string, type: string) => {
      const id = await idOf(name);
      return { name, ...(id ? { id } : {}), type, 'default-channel': 'latest/stable' };
    };
    return {
      type: 'model',
      'authority-id': brand,
      'brand-id': brand,
      series: '16',
      model,
      architecture,
      ...(base ? { base } : {}),
      ...(store.trim() ? { store: store.trim() } : {}),
      ...(core20 ? { grade, snaps: [await snap(gadget.trim(), 'gadget'), await snap(kernel.trim(), 'kernel'), await snap(base, 'base')] } : { gadget: gadget.trim(), kernel: kernel.trim() }),
    };
  }
  const make = (e: { preventDefault(): void }) => {
    e.preventDefault();
    const p = problem();
    setError(p);
    setSigned(undefined);
    setJson(undefined);
    if (!p) void write.submit();
  };
  const signOnServer = () => {
    const p = problem() ?? (usable.length === 0 ? 'The brand has no vault key to sign with (Keys page).' : undefined);
    setError(p);
    setJson(undefined);
    setSigned(undefined);
    if (!p) void sign.submit();
  };
  return (
    <section aria-labelledby="new-model">
      <h2 id="new-model">Write a new model</h2>
      <p>
        Sign it on the server with one of the brand's vault keys (admins), or download its headers as JSON and sign them offline with your brand key:{' '}
        <code>snapline sign -k KEY --timestamp &lt; model.json &gt; model.assert</code>.
      </p>
      <form noValidate onSubmit={make}>
        <Field label="Model name" required value={model} onChange={(e) => setModel(e.target.value)} />
        <Select label="Architecture" value={architecture} onChange={(e) => setArchitecture(e.target.value)} options={['amd64', 'arm64', 'armhf', 'i386', 'riscv64', 's390x', 'ppc64el']} />
        <Select label="Base" value={base} onChange={(e) => setBase(e.target.value)} options={['core24', 'core22', 'core20', 'core18', { value: '', label: 'core (series 16)' }]} />
        <Select label="Grade (core20 and later)" value={grade} onChange={(e) => setGrade(e.target.value)} options={['signed', 'secured', 'dangerous']} />
        <Field label="Gadget snap" required value={gadget} onChange={(e) => setGadget(e.target.value)} />
        <Field label="Kernel snap" required value={kernel} onChange={(e) => setKernel(e.target.value)} />
        <Field label="Store (optional)" value={store} onChange={(e) => setStore(e.target.value)} hint="the brand store devices of this model use" />
        {s.can('admin') && usable.length > 0 && <Select label="Server key to sign with" value={key || usable[0]!.name} onChange={(e) => setKey(e.target.value)} options={usable.map((k) => k.name)} />}
        <ErrorMessage error={error ?? write.error ?? sign.error} />
        <div className="actions">
          <button type="submit" className={s.can('admin') ? undefined : 'primary'}>
            Write model JSON
          </button>
          {s.can('admin') && (
            <button type="button" className="primary" onClick={signOnServer} disabled={sign.busy}>
              Sign on the server
            </button>
          )}
        </div>
      </form>
      {signed && (
        <div className="panel">
          <Notice>Signed and stored: devices and tools can fetch it from the store.</Notice>
          <button type="button" onClick={() => saveText(signed, `${model}.model`, 'application/x.ubuntu.assertion')}>
            Download {model}.model
          </button>
          <pre className="assertion" tabIndex={0} aria-label="The signed model assertion">
            {signed}
          </pre>
        </div>
      )}
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
