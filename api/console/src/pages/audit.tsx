// The audit trail: filters, the newest first, an event's changes, exports and verification.
import {useState} from 'preact/hooks';
import type {Page} from '../api';
import {can, shortTime, type AuditEvent, type AuditParty} from '../model';
import {navigate} from '../router';
import {useSession} from '../session';
import {
  DataTable, Empty, ErrorBox, Loading, Notice, PageHeader, Pager, Progress, SelectField,
  TextField, formatBytes, saveBlob, useAction, useLoad, usePager,
} from '../ui';

// Who acted, or on whom: the name with the kind of principal when it is not a user, so that
// an API client named "root" can never pass for the root client.
const KINDS: Record<string, string> = {root: 'root client', api_client: 'API client', system: 'system'};

function party(p: AuditParty | undefined): string {
  if (!p) return '—';
  const name = p.name || p.id;
  if (p.type === 'user') return name;
  return `${name} · ${KINDS[p.type] ?? p.type.replace(/_/g, ' ')}`;
}

export function AuditTable({events, onOpen}: {events: AuditEvent[]; onOpen: (e: AuditEvent) => void}) {
  return (
    <DataTable<AuditEvent>
      label="Audit events"
      rows={events}
      rowKey={(e) => e.id}
      onRow={onOpen}
      columns={[
        {key: 'time', label: 'Time', render: (e) => <a href={`/console/audit/${e.id}`} title={e.time}>{shortTime(e.time)}</a>},
        {key: 'actor', label: 'Actor', render: (e) => <span title={`${e.actor.type} ${e.actor.id}`}>{party(e.actor)}</span>},
        {key: 'type', label: 'Action', render: (e) => <code>{e.type}</code>},
        {key: 'target', label: 'Target', render: (e) => <span title={e.target ? `${e.target.type} ${e.target.id}` : ''}>{party(e.target)}</span>},
      ]}
    />
  );
}

export function AuditPage({id}: {id: string | null}) {
  return id ? <AuditEventView id={id} /> : <AuditList />;
}

// datetime-local (the browser's zone) → RFC 3339 UTC, or "" for none.
function toRfc3339(local: string): string {
  if (!local) return '';
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

interface Filters {
  actor: string;
  action: string;
  from: string;
  to: string;
}

function AuditList() {
  const {api, me} = useSession();
  const [draft, setDraft] = useState<Filters>({actor: '', action: '', from: '', to: ''});
  const [filters, setFilters] = useState<Filters>(draft);
  const pager = usePager([filters]);
  const query = {
    actor: filters.actor.replace(/\s+/g, ''),
    action: filters.action.replace(/\s+/g, ''),
    from: toRfc3339(filters.from),
    to: toRfc3339(filters.to),
  };
  const events = useLoad(() => api.get<Page<AuditEvent>>('/audit/events', {...query, limit: 50, cursor: pager.cursor}),
                         [filters, pager.cursor]);
  const set = (k: keyof Filters) => (v: string) => setDraft({...draft, [k]: v});

  return (
    <section>
      <PageHeader title="Audit trail">
        <VerifyChain />
      </PageHeader>
      <form class="filters" role="search" aria-label="Filter events"
            onSubmit={(e) => { e.preventDefault(); setFilters(draft); }}>
        <TextField label="Actor" value={draft.actor} onValue={set('actor')} placeholder="usr_…, cli_… (comma-separated)" />
        <TextField label="Action" value={draft.action} onValue={set('action')} placeholder="user.suspended or user.*" />
        <TextField label="From" type="datetime-local" value={draft.from} onValue={set('from')} />
        <TextField label="To" type="datetime-local" value={draft.to} onValue={set('to')} />
        <div class="filter-buttons">
          <button type="submit" class="primary">Apply filters</button>
          <button type="button" onClick={() => { const none = {actor: '', action: '', from: '', to: ''}; setDraft(none); setFilters(none); }}>
            Clear
          </button>
        </div>
      </form>
      {can(me, 'iam.audit', 'manage') && <ExportAudit query={query} />}
      <ErrorBox error={events.error} />
      {events.loading && !events.data && <Loading what="events" />}
      {events.data && events.data.items.length === 0 && (events.data.next_cursor
        ? <Empty>No matching event in this stretch of the trail; Next searches further.</Empty>
        : <Empty>No event matches these filters in the retention window.</Empty>)}
      {events.data && events.data.items.length > 0 && (
        <AuditTable events={events.data.items} onOpen={(e) => navigate(`/console/audit/${e.id}`)} />
      )}
      {events.data && <Pager page={pager.page} next={events.data.next_cursor} onNext={pager.next} onPrev={pager.prev} />}
    </section>
  );
}

const FORMATS = [
  {value: 'jsonl', label: 'JSONL (with a signed receipt)', ext: 'jsonl'},
  {value: 'csv', label: 'CSV', ext: 'csv'},
  {value: 'ocsf', label: 'OCSF (JSON lines)', ext: 'ocsf.jsonl'},
];

function ExportAudit({query}: {query: Record<string, string>}) {
  const {api} = useSession();
  const [format, setFormat] = useState('jsonl');
  const [bytes, setBytes] = useState<number | null>(null);
  const [saved, setSaved] = useState('');
  const {busy, error, run} = useAction();
  const start = () =>
    run(async () => {
      setSaved('');
      setBytes(0);
      try {
        const blob = await api.download('/audit/export', {...query, format}, setBytes);
        const name = `audit-${api.tenant}.${FORMATS.find((f) => f.value === format)!.ext}`;
        saveBlob(blob, name);
        setSaved(`${name} (${formatBytes(blob.size)}) downloaded.`);
      } finally {
        setBytes(null);
      }
    });
  return (
    <div class="export-bar" role="group" aria-label="Export">
      <SelectField label="Export format" value={format} onValue={setFormat} options={FORMATS} />
      <button type="button" onClick={start} disabled={busy}>Export</button>
      {bytes !== null && <Progress label="Export" text={`Downloading… ${formatBytes(bytes)}`} />}
      {saved && <Notice>{saved}</Notice>}
      <ErrorBox error={error} />
    </div>
  );
}

interface Verification {
  ok: boolean;
  checked: number;
  first_tenant_seq: number | null;
  last_tenant_seq: number | null;
  head_hash: string | null;
  error?: string;
}

const VERIFY_CHUNK = 20000;

// Verifies the chain range by range (the server checks each range's first event against the
// one before it, so consecutive ranges leave no link unchecked), showing how far it got.
function VerifyChain() {
  const {api} = useSession();
  const [progress, setProgress] = useState<{done: number; total: number} | null>(null);
  const [result, setResult] = useState<Verification | null>(null);
  const {busy, error, run} = useAction();
  const verify = () =>
    run(async () => {
      setResult(null);
      const newest = await api.get<Page<AuditEvent>>('/audit/events', {limit: 1});
      const oldest = await api.get<Page<AuditEvent>>('/audit/events', {limit: 1, order: 'asc'});
      const head = newest.items[0]?.tenant_seq;
      const low = oldest.items[0]?.tenant_seq ?? head;
      if (head === undefined || low === undefined) {
        // Nothing in the retention window: one check of whatever is stored.
        setResult(await api.get<Verification>('/audit/verify'));
        return;
      }
      const sum = {ok: true, checked: 0, first: 0, last: 0, head: '', error: undefined as string | undefined};
      let from = 1;  // the server starts at the first event it still stores
      setProgress({done: 0, total: head - low + 1});
      try {
        while (from <= head) {
          const to = Math.min(head, Math.max(from, low) + VERIFY_CHUNK - 1);
          const part = await api.get<Verification>('/audit/verify', {from_tenant_seq: from, to_tenant_seq: to});
          sum.checked += part.checked;
          if (!sum.first && part.first_tenant_seq) sum.first = part.first_tenant_seq;
          if (part.last_tenant_seq) sum.last = part.last_tenant_seq;
          if (part.head_hash) sum.head = part.head_hash;
          if (!part.ok) {
            sum.ok = false;
            sum.error = part.error;
            break;
          }
          from = to + 1;
          setProgress({done: Math.max(0, to - low + 1), total: head - low + 1});
        }
      } finally {
        setProgress(null);
      }
      setResult({ok: sum.ok, checked: sum.checked, first_tenant_seq: sum.first || null,
                 last_tenant_seq: sum.last || null, head_hash: sum.head || null, error: sum.error});
    });
  return (
    <div class="verify">
      <button type="button" onClick={verify} disabled={busy}>Verify chain</button>
      {progress && <Progress label="Verification" value={progress.done} max={progress.total}
                             text={`Verifying… ${progress.done} of ${progress.total} events`} />}
      {result && result.ok && (
        <Notice>
          <strong>Chain verified</strong>: {result.checked} events, tenant_seq {result.first_tenant_seq ?? '—'} to{' '}
          {result.last_tenant_seq ?? '—'}; head <code title={result.head_hash ?? ''}>{(result.head_hash ?? '').slice(0, 16)}…</code>
        </Notice>
      )}
      {result && !result.ok && (
        <div class="problem" role="alert">
          <strong>Chain broken</strong>: {result.error ?? 'a hash does not match'} (checked {result.checked})
        </div>
      )}
      <ErrorBox error={error} />
    </div>
  );
}

interface Change {
  field: string;
  from: unknown;
  to: unknown;
}

// An update's `changes` (docs/events.md): {"field": {"from": …, "to": …}}.
function changesOf(e: AuditEvent): Change[] {
  const c = e.changes;
  if (!c || typeof c !== 'object') return [];
  return Object.entries(c).map(([field, v]) => ({field, from: v?.from, to: v?.to}));
}

function show(v: unknown): string {
  if (v === undefined) return '—';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function AuditEventView({id}: {id: string}) {
  const {api} = useSession();
  const event = useLoad(() => api.get<AuditEvent>(`/audit/events/${encodeURIComponent(id)}`), [id]);
  if (event.error) return (<section><PageHeader title="Audit event" /><ErrorBox error={event.error} /></section>);
  if (!event.data) return <Loading what="the event" />;
  const e = event.data;
  const changes = changesOf(e);
  return (
    <section>
      <PageHeader title={e.type}>
        <a class="button" href="/console/audit">Audit trail</a>
      </PageHeader>
      <div class="cards">
        <div class="card">
          <h2>Event</h2>
          <dl class="props">
            <dt>Time</dt><dd>{e.time}</dd>
            <dt>Actor</dt><dd>{party(e.actor)} <code>{e.actor.id}</code></dd>
            <dt>Target</dt><dd>{party(e.target)} {e.target && <code>{e.target.id}</code>}</dd>
            <dt>Request</dt><dd><code>{e.request_id ?? '—'}</code></dd>
            <dt>Sequence</dt><dd>tenant_seq {e.tenant_seq} (seq {e.seq})</dd>
            <dt>Hash</dt><dd><code class="hash">{e.hash}</code></dd>
            <dt>Previous hash</dt><dd><code class="hash">{e.prev_hash}</code></dd>
          </dl>
        </div>
        <div class="card">
          <h2>Changes</h2>
          {changes.length === 0 ? <p class="muted">This event records no before/after changes.</p> : (
            <table aria-label="Changes" class="compact">
              <thead><tr><th scope="col">Field</th><th scope="col">Before</th><th scope="col">After</th></tr></thead>
              <tbody>
                {changes.map((c) => (
                  <tr key={c.field}><td><code>{c.field}</code></td><td class="before">{show(c.from)}</td><td class="after">{show(c.to)}</td></tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
      <div class="card">
        <h2>Data</h2>
        <pre class="json">{JSON.stringify(e.data, null, 2)}</pre>
      </div>
    </section>
  );
}
