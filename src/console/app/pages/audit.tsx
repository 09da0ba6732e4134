// The audit log, newest first: the account's (its admins) or the whole log
// (the operator), filtered by action and, for the operator, by account.
import { useState } from 'react';
import { enc, getJson } from '../lib/api.ts';
import { useSession } from '../lib/session.tsx';
import { useCursor, useLoad } from '../lib/use-load.ts';
import { ErrorMessage, Field, Loading, Pager, Table, Time } from '../components/ui.tsx';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  accountId: string | null;
  origin: string | null;
  ip: string | null;
  requestId: string | null;
  details: Record<string, unknown> | null;
}

export function auditPath(s: { me: { superuser: boolean }; account: string | undefined }, accountFilter?: string): { path: string; query: Record<string, string> } {
  if (s.me.superuser) return { path: '/api/audit', query: accountFilter ? { accountId: accountFilter } : {} };
  return { path: `/api/accounts/${enc(s.account ?? '')}/audit`, query: {} };
}

export default function AuditPage() {
  const s = useSession();
  const [action, setAction] = useState('');
  const [account, setAccount] = useState(s.me.superuser ? '' : (s.account ?? ''));
  const [filters, setFilters] = useState<{ action: string; account: string }>({ action: '', account: s.me.superuser ? '' : (s.account ?? '') });
  const pages = useCursor<number>();
  const where = auditPath(s, filters.account);
  const log = useLoad(() => getJson<{ entries: AuditEntry[]; nextBefore?: number }>(where.path, { ...where.query, action: filters.action, before: pages.cursor, limit: 25 }), [where.path, filters, pages.cursor]);
  return (
    <>
      <form
        className="inline"
        role="search"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          pages.reset();
          setFilters({ action: action.trim(), account: account.trim() });
        }}
      >
        <Field label="Action" value={action} onChange={(e) => setAction(e.target.value)} hint="exact, e.g. store.release" list="audit-actions" />
        <datalist id="audit-actions">
          {[...new Set((log.data?.entries ?? []).map((e) => e.action))].map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        {s.me.superuser && <Field label="Account" value={account} onChange={(e) => setAccount(e.target.value)} hint="empty: every account" />}
        <button type="submit">Filter</button>
      </form>
      <ErrorMessage error={log.error} />
      {log.data ? (
        <Table
          caption={s.me.superuser ? 'The audit log, newest first' : `Audit log of ${s.account}, newest first`}
          rows={log.data.entries}
          rowKey={(e) => String(e.id)}
          empty="No event (matching the filters)."
          columns={[
            { header: 'When', cell: (e) => <Time at={e.at} /> },
            { header: 'Who', cell: (e) => e.actor },
            { header: 'Action', cell: (e) => <code>{e.action}</code> },
            { header: 'Target', cell: (e) => e.target ?? '' },
            { header: 'Account', cell: (e) => e.accountId ?? '' },
            { header: 'From', cell: (e) => [e.origin, e.ip].filter(Boolean).join(' ') },
            { header: 'Details', cell: (e) => (e.details ? <code className="details">{JSON.stringify(e.details)}</code> : '') },
          ]}
        />
      ) : (
        <Loading what="the audit log" />
      )}
      <Pager label="Audit log" page={pages.page} hasNext={log.data?.nextBefore !== undefined} onPrevious={pages.previous} onNext={() => log.data?.nextBefore && pages.next(log.data.nextBefore)} />
    </>
  );
}
