// Small building blocks shared by the pages: messages, fields, pagination,
// tables, a confirming button, a time.
import { useEffect, useId, useRef, useState, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from 'react';

export function ErrorMessage({ error }: { error: string | undefined }) {
  // Always rendered (empty when no error): the live region is in place before there is something to say.
  return (
    <p className={error ? 'error' : 'error empty'} role="alert">
      {error}
    </p>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <p className="notice" role="status">
      {children}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      Loading {what}…
    </p>
  );
}

type FieldProps = { label: string; hint?: string } & InputHTMLAttributes<HTMLInputElement>;
export function Field({ label, hint, ...input }: FieldProps) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-describedby={hint ? `${id}-hint` : undefined} {...input} />
      {hint && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

type SelectProps = { label: string; options: readonly (string | { value: string; label: string })[] } & SelectHTMLAttributes<HTMLSelectElement>;
export function Select({ label, options, ...select }: SelectProps) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} {...select}>
        {options.map((o) => {
          const { value, label: text } = typeof o === 'string' ? { value: o, label: o } : o;
          return (
            <option key={value} value={value}>
              {text}
            </option>
          );
        })}
      </select>
    </div>
  );
}

type AreaProps = { label: string; hint?: string } & TextareaHTMLAttributes<HTMLTextAreaElement>;
export function TextArea({ label, hint, ...area }: AreaProps) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea id={id} aria-describedby={hint ? `${id}-hint` : undefined} {...area} />
      {hint && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

export function Pager({ page, hasNext, onPrevious, onNext, label }: { page: number; hasNext: boolean; onPrevious(): void; onNext(): void; label: string }) {
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" onClick={onPrevious} disabled={page <= 1}>
        Previous page
      </button>
      <span aria-live="polite">Page {page}</span>
      <button type="button" onClick={onNext} disabled={!hasNext}>
        Next page
      </button>
    </nav>
  );
}

export interface Column<T> {
  header: string;
  cell(row: T): ReactNode;
}

/** Rows per page of a table whose API answers every row at once (server-paged lists pass one page). */
export const PAGE_SIZE = 25;

export function Table<T>({ caption, columns, rows, rowKey, empty }: { caption: string; columns: Column<T>[]; rows: readonly T[]; rowKey(row: T): string; empty: string }) {
  const [page, setPage] = useState(1);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  const current = Math.min(page, pages);
  const shown = rows.length > PAGE_SIZE ? rows.slice((current - 1) * PAGE_SIZE, current * PAGE_SIZE) : rows;
  return (
    <div className="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.header} scope="col">
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={columns.length} className="empty-row">
                {empty}
              </td>
            </tr>
          ) : (
            shown.map((r) => (
              <tr key={rowKey(r)}>
                {columns.map((c) => (
                  <td key={c.header}>{c.cell(r)}</td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
      {rows.length > PAGE_SIZE && <Pager label={caption} page={current} hasNext={current < pages} onPrevious={() => setPage(current - 1)} onNext={() => setPage(current + 1)} />}
    </div>
  );
}

/**
 * A button for a destructive or far-reaching action: it opens a modal dialog
 * that says what will happen; only "confirm" there runs the action. The
 * dialog shows the server's error if the action fails.
 */
export function ConfirmButton({ label, title, children, confirmLabel, onConfirm, danger = true }: { label: string; title: string; children: ReactNode; confirmLabel: string; onConfirm(): Promise<unknown>; danger?: boolean }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const titleId = useId();
  const close = () => dialog.current?.close();
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
      close();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        className={danger ? 'danger' : undefined}
        onClick={() => {
          dialog.current?.showModal();
          // The safe choice has the focus: Enter or Space on arrival cancels.
          cancel.current?.focus();
        }}
      >
        {label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} onClose={() => setError(undefined)}>
        <h2 id={titleId}>{title}</h2>
        <div>{children}</div>
        <ErrorMessage error={error} />
        <div className="actions">
          <button type="button" ref={cancel} onClick={close}>
            Cancel
          </button>
          <button type="button" className={danger ? 'danger' : 'primary'} onClick={() => void confirm()} disabled={busy}>
            {confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}

export function Time({ at }: { at: string | null | undefined }) {
  if (!at) return <span aria-label="never">—</span>;
  const d = new Date(at);
  return <time dateTime={d.toISOString()}>{d.toISOString().replace('T', ' ').slice(0, 19)}</time>;
}

/** Runs a form's submit: busy while it runs, the server's message on failure. */
export function useSubmit<T>(run: () => Promise<T>, onDone?: (result: T) => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async (e?: { preventDefault(): void }) => {
    e?.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const r = await run();
      onDone?.(r);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, submit };
}

/** Moves focus to the page's heading when the page changes (screen readers hear where they are). */
export function useFocusOnChange(key: string) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, [key]);
  return ref;
}
