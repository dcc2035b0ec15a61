// The console's building blocks: loading state, tables, forms, dialogs, notices.
import type {ComponentChildren, JSX} from 'preact';
import {useCallback, useEffect, useRef, useState} from 'preact/hooks';
import {ApiError} from './api';

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

// Runs `load` now and whenever `deps` change; a later answer replaces an earlier one only if
// it belongs to the latest call.
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{data: T | null; error: ApiError | null; loading: boolean}>({
    data: null,
    error: null,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const mine = ++latest.current;
    setState((s) => ({...s, loading: true}));
    load().then(
      (data) => mine === latest.current && setState({data, error: null, loading: false}),
      (e) => mine === latest.current && setState({data: null, error: asApiError(e), loading: false}),
    );
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return {...state, reload};
}

export function asApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError(0, 'Error', String(e));
}

// Runs an action, keeping its error and whether it runs, for a form or a button.
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const run = useCallback(async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setBusy(false);
    }
  }, []);
  return {busy, error, run, setError};
}

export function ErrorBox({error}: {error: ApiError | null}) {
  if (!error) return null;
  return (
    <div class="problem" role="alert">
      <strong>{error.status ? `${error.status} ${error.title}` : error.title}</strong>
      {error.detail && error.detail !== error.title && <span> — {error.detail}</span>}
      {error.errors.length > 0 && (
        <ul>
          {error.errors.map((f) => (
            <li key={f.field + f.message}>
              <code>{f.field}</code>: {f.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Notice({children}: {children: ComponentChildren}) {
  return (
    <div class="notice" role="status">
      {children}
    </div>
  );
}

export function Loading({what}: {what: string}) {
  return (
    <p class="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({children}: {children: ComponentChildren}) {
  return <div class="empty">{children}</div>;
}

export function PageHeader({title, children}: {title: string; children?: ComponentChildren}) {
  return (
    <header class="page-header">
      <h1>{title}</h1>
      <div class="actions">{children}</div>
    </header>
  );
}

export function Status({status}: {status: string}) {
  return <span class={`badge badge-${status}`}>{status}</span>;
}

export interface Column<T> {
  key: string;
  label: string;
  sortable?: boolean;
  render: (row: T) => ComponentChildren;
}

// A table whose sortable headers are buttons; `sort` is "key" or "-key".
export function DataTable<T>(props: {
  label: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  sort?: string;
  onSort?: (sort: string) => void;
  onRow?: (row: T) => void;
}) {
  const {columns, rows, sort, onSort, onRow} = props;
  return (
    <div class="table-wrap">
      <table aria-label={props.label}>
        <thead>
          <tr>
            {columns.map((c) => {
              const dir = sort === c.key ? 'ascending' : sort === `-${c.key}` ? 'descending' : undefined;
              return (
                <th key={c.key} scope="col" aria-sort={dir ?? 'none'}>
                  {c.sortable && onSort ? (
                    <button
                      type="button"
                      class="sort"
                      onClick={() => onSort(sort === c.key ? `-${c.key}` : c.key)}
                    >
                      {c.label}
                      <span aria-hidden="true">{dir === 'ascending' ? ' ▲' : dir === 'descending' ? ' ▼' : ''}</span>
                    </button>
                  ) : (
                    c.label
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={props.rowKey(r)} class={onRow ? 'clickable' : undefined} onClick={onRow ? (e) => !(e.target as HTMLElement).closest('a, button') && onRow(r) : undefined}>
              {columns.map((c) => (
                <td key={c.key} data-label={c.label}>
                  {c.render(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// Cursor paging: the cursors of the pages seen so far make "Previous" possible.
export function usePager(resetOn: unknown[]) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  useEffect(() => setCursors([null]), resetOn);
  const cursor = cursors[cursors.length - 1] ?? null;
  return {
    cursor,
    page: cursors.length,
    next: (c: string) => setCursors((cs) => [...cs, c]),
    prev: () => setCursors((cs) => (cs.length > 1 ? cs.slice(0, -1) : cs)),
  };
}

export function Pager(props: {page: number; next: string | null; onNext: (c: string) => void; onPrev: () => void}) {
  if (props.page === 1 && !props.next) return null;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={props.page === 1} onClick={props.onPrev}>
        Previous
      </button>
      <span>Page {props.page}</span>
      <button type="button" disabled={!props.next} onClick={() => props.next && props.onNext(props.next)}>
        Next
      </button>
    </nav>
  );
}

let fieldIds = 0;
function useFieldId(): string {
  const id = useRef('');
  if (!id.current) id.current = `f${++fieldIds}`;
  return id.current;
}

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'onInput' | 'value'> & {
  label: string;
  value: string;
  onValue: (v: string) => void;
  hint?: string;
};

export function TextField({label, value, onValue, hint, ...rest}: InputProps) {
  const id = useFieldId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} value={value} onInput={(e) => onValue((e.target as HTMLInputElement).value)} {...rest} />
      {hint && <small class="muted">{hint}</small>}
    </div>
  );
}

export function SelectField(props: {
  label: string;
  value: string;
  onValue: (v: string) => void;
  options: {value: string; label: string}[];
  required?: boolean;
}) {
  const id = useFieldId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select id={id} value={props.value} required={props.required}
              onChange={(e) => props.onValue((e.target as HTMLSelectElement).value)}>
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

// A modal dialog: focus moves into it, Escape or Cancel closes it, focus returns after.
export function Dialog(props: {title: string; onClose: () => void; children: ComponentChildren; wide?: boolean}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>('input, select, textarea, button:not(.close)');
    first?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') props.onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      before?.focus();
    };
  }, []);
  return (
    <div class="overlay">
      <div class={props.wide ? 'dialog wide' : 'dialog'} role="dialog" aria-modal="true" aria-label={props.title} ref={ref}>
        <header>
          <h2>{props.title}</h2>
          <button type="button" class="close" aria-label="Close dialog" onClick={props.onClose}>
            ×
          </button>
        </header>
        {props.children}
      </div>
    </div>
  );
}

// A dialog holding one form: its fields, the problem of the last try, Cancel and the submit
// button (which says it is busy while the request runs).
export function FormDialog(props: {
  title: string;
  submitLabel: string;
  busy: boolean;
  error: ApiError | null;
  onClose: () => void;
  onSubmit: () => void;
  wide?: boolean;
  children: ComponentChildren;
}) {
  return (
    <Dialog title={props.title} onClose={props.onClose} wide={props.wide}>
      <form onSubmit={(e) => { e.preventDefault(); props.onSubmit(); }}>
        {props.children}
        <ErrorBox error={props.error} />
        <div class="form-actions">
          <button type="button" onClick={props.onClose}>Cancel</button>
          <button type="submit" class="primary" disabled={props.busy}>{props.submitLabel}</button>
        </div>
      </form>
    </Dialog>
  );
}

// A secret the API shows once (temporary password, client secret, invitation token).
export function SecretOnce({label, value}: {label: string; value: string}) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="secret" role="group" aria-label={label}>
      <p>
        <strong>{label}</strong> — shown once; it cannot be shown again.
      </p>
      <code data-secret>{value}</code>
      <button
        type="button"
        onClick={() => navigator.clipboard?.writeText(value).then(() => setCopied(true), () => setCopied(false))}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

export function Progress({label, value, max, text}: {label: string; value?: number; max?: number; text: string}) {
  return (
    <div class="progress" role="status" aria-live="polite">
      <progress aria-label={label} value={value} max={max} />
      <span>{text}</span>
    </div>
  );
}

// Saves a blob as a file the browser downloads.
export function saveBlob(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
