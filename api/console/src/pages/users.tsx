// Users: the list with search, filters, sorting and paging; a user's page; create, import and
// export.
import {useState} from 'preact/hooks';
import type {Page} from '../api';
import {can, fullName, shortTime, type AuditEvent, type Binding, type Role, type User} from '../model';
import {navigate} from '../router';
import {useSession} from '../session';
import {
  DataTable, Dialog, Empty, ErrorBox, FormDialog, Loading, Notice, PageHeader, Pager, Progress, SecretOnce,
  SelectField, Status, TextField, formatBytes, saveBlob, useAction, useLoad, usePager,
} from '../ui';
import {AuditTable} from './audit';
import {BindRole} from './groups';

const STATUSES = ['active', 'suspended', 'locked', 'deactivated', 'deleted'];

export function UsersPage({id}: {id: string | null}) {
  return id ? <UserDetail id={id} /> : <UsersList />;
}

function UsersList() {
  const {api, me} = useSession();
  const [q, setQ] = useState('');
  const [status, setStatus] = useState('');
  const [role, setRole] = useState('');
  const [sort, setSort] = useState('last_name');
  const [dialog, setDialog] = useState<'new' | 'import' | null>(null);
  const pager = usePager([q, status, role, sort]);
  const roles = useLoad(() => api.all<Role>('/roles'), []);
  const users = useLoad(
    () => api.get<Page<User>>('/users', {q, status, role_id: role, sort, limit: 25, cursor: pager.cursor}),
    [q, status, role, sort, pager.cursor],
  );
  const mayEdit = can(me, 'iam.user', 'edit');

  return (
    <section>
      <PageHeader title="Users">
        {mayEdit && (
          <button type="button" class="primary" onClick={() => setDialog('new')}>
            New user
          </button>
        )}
        {mayEdit && (
          <button type="button" onClick={() => setDialog('import')}>
            Import CSV
          </button>
        )}
        <ExportUsers />
      </PageHeader>
      <div class="filters" role="search">
        <TextField label="Search" type="search" value={q} onValue={setQ} placeholder="Name or email" />
        <SelectField label="Status" value={status} onValue={setStatus}
                     options={[{value: '', label: 'Any status'}, ...STATUSES.map((s) => ({value: s, label: s}))]} />
        <SelectField label="Role" value={role} onValue={setRole}
                     options={[{value: '', label: 'Any role'},
                               ...(roles.data ?? []).map((r) => ({value: r.id, label: r.name}))]} />
      </div>
      <ErrorBox error={users.error} />
      {users.loading && !users.data && <Loading what="users" />}
      {users.data && users.data.items.length === 0 && (
        <Empty>{q || status || role ? 'No user matches these filters.' : 'No users yet.'}</Empty>
      )}
      {users.data && users.data.items.length > 0 && (
        <DataTable<User>
          label="Users"
          rows={users.data.items}
          rowKey={(u) => u.id}
          sort={sort}
          onSort={setSort}
          columns={[
            {key: 'last_name', label: 'Name', sortable: true,
             render: (u) => <a href={`/console/users/${u.id}`}>{fullName(u)}</a>},
            {key: 'email', label: 'Email', sortable: true, render: (u) => u.email},
            {key: 'department', label: 'Department', sortable: true, render: (u) => u.department || '—'},
            {key: 'status', label: 'Status', sortable: true, render: (u) => <Status status={u.status} />},
            {key: 'last_active_at', label: 'Last active', sortable: true, render: (u) => shortTime(u.last_active_at)},
          ]}
        />
      )}
      {users.data && <Pager page={pager.page} next={users.data.next_cursor} onNext={pager.next} onPrev={pager.prev} />}
      {dialog === 'new' && <NewUser onClose={() => setDialog(null)} onCreated={users.reload} />}
      {dialog === 'import' && <ImportUsers onClose={() => { setDialog(null); users.reload(); }} />}
    </section>
  );
}

interface TagRow {
  key: string;
  value: string;
}

function NewUser({onClose, onCreated}: {onClose: () => void; onCreated: () => void}) {
  const {api} = useSession();
  const [first, setFirst] = useState('');
  const [last, setLast] = useState('');
  const [email, setEmail] = useState('');
  const [department, setDepartment] = useState('');
  const [kind, setKind] = useState('user');
  const [tags, setTags] = useState<TagRow[]>([]);
  const [made, setMade] = useState<User | null>(null);
  const {busy, error, run} = useAction();

  const submit = () => {
    run(async () => {
      const body: Record<string, unknown> = {first_name: first, last_name: last, email, kind};
      if (department) body.department = department;
      const t = Object.fromEntries(tags.filter((r) => r.key).map((r) => [r.key, r.value]));
      if (Object.keys(t).length) body.tags = t;
      setMade(await api.post<User>('/users', body));
      onCreated();
    });
  };

  if (made) {
    return (
      <Dialog title="User created" onClose={onClose}>
        <p>
          <a href={`/console/users/${made.id}`} onClick={onClose}>{fullName(made)}</a> ({made.email}) was created.
        </p>
        {made.temporary_password ? (
          <SecretOnce label="Temporary password" value={made.temporary_password} />
        ) : (
          <Notice>The temporary password was sent to the user; you do not see it.</Notice>
        )}
        <div class="form-actions">
          <button type="button" class="primary" onClick={onClose}>Done</button>
        </div>
      </Dialog>
    );
  }
  return (
    <FormDialog title="New user" submitLabel={busy ? 'Creating…' : 'Create user'} busy={busy} error={error}
                onClose={onClose} onSubmit={submit}>
        <div class="grid2">
          <TextField label="First name" value={first} onValue={setFirst} required />
          <TextField label="Last name" value={last} onValue={setLast} required />
        </div>
        <TextField label="Email" type="email" value={email} onValue={setEmail} required />
        <TextField label="Department" value={department} onValue={setDepartment} />
        <SelectField label="Kind" value={kind} onValue={setKind}
                     options={[{value: 'user', label: 'User'}, {value: 'admin', label: 'Admin (everything in the tenant)'}]} />
        <fieldset>
          <legend>Tags</legend>
          {tags.map((t, i) => (
            <div class="grid2 tag-row" key={i}>
              <TextField label="Tag key" value={t.key} onValue={(v) => setTags(tags.map((x, j) => (j === i ? {...x, key: v} : x)))} required />
              <TextField label="Tag value" value={t.value} onValue={(v) => setTags(tags.map((x, j) => (j === i ? {...x, value: v} : x)))} required />
            </div>
          ))}
          <button type="button" onClick={() => setTags([...tags, {key: '', value: ''}])}>Add tag</button>
        </fieldset>
    </FormDialog>
  );
}

interface ImportResult {
  created: number;
  failed: {line: number; error: string}[];
}

function ImportUsers({onClose}: {onClose: () => void}) {
  const {api} = useSession();
  const [file, setFile] = useState<File | null>(null);
  const [mode, setMode] = useState('best_effort');
  const [progress, setProgress] = useState<{sent: number; total: number} | null>(null);
  const [result, setResult] = useState<ImportResult | null>(null);
  const {busy, error, run} = useAction();

  const submit = (e: Event) => {
    e.preventDefault();
    if (!file) return;
    run(async () => {
      setResult(null);
      setProgress({sent: 0, total: file.size});
      try {
        setResult(await api.upload<ImportResult>('/users:import', file, 'text/csv', {mode},
                                                  (sent, total) => setProgress({sent, total})));
      } finally {
        setProgress(null);
      }
    });
  };

  return (
    <Dialog title="Import users from CSV" onClose={onClose} wide>
      <form onSubmit={submit}>
        <p class="muted">
          A header row, then one user per line: <code>email,first_name,last_name,phone,department,roles,groups,tags</code>;
          roles and groups are names separated by <code>;</code>, tags <code>Key=Value</code>.
        </p>
        <div class="field">
          <label for="csv-file">CSV file</label>
          <input id="csv-file" type="file" accept=".csv,text/csv" required
                 onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)} />
        </div>
        <SelectField label="Mode" value={mode} onValue={setMode}
                     options={[{value: 'best_effort', label: 'Best effort (import the good lines)'},
                               {value: 'all_or_nothing', label: 'All or nothing'}]} />
        {progress && (
          <Progress label="Import" value={progress.sent < progress.total ? progress.sent : undefined} max={progress.total}
                    text={progress.sent < progress.total
                      ? `Uploading ${formatBytes(progress.sent)} of ${formatBytes(progress.total)}`
                      : 'Importing on the server…'} />
        )}
        <ErrorBox error={error} />
        {result && (
          <div class="import-result">
            <Notice>{result.created} created, {result.failed.length} failed.</Notice>
            {result.failed.length > 0 && (
              <DataTable<{line: number; error: string}>
                label="Lines that failed"
                rows={result.failed}
                rowKey={(f) => String(f.line)}
                columns={[
                  {key: 'line', label: 'Line', render: (f) => f.line},
                  {key: 'error', label: 'Error', render: (f) => f.error},
                ]}
              />
            )}
          </div>
        )}
        <div class="form-actions">
          <button type="button" onClick={onClose}>Close</button>
          <button type="submit" class="primary" disabled={busy || !file}>{busy ? 'Importing…' : 'Import'}</button>
        </div>
      </form>
    </Dialog>
  );
}

function ExportUsers() {
  const {api} = useSession();
  const [bytes, setBytes] = useState<number | null>(null);
  const {busy, error, run} = useAction();
  return (
    <>
      <button type="button" disabled={busy}
              onClick={() => run(async () => {
                setBytes(0);
                try {
                  const blob = await api.download('/users:export', {}, setBytes);
                  saveBlob(blob, `users-${api.tenant}.csv`);
                } finally {
                  setBytes(null);
                }
              })}>
        Export CSV
      </button>
      {bytes !== null && <Progress label="Export" text={`Downloading… ${formatBytes(bytes)}`} />}
      {error && <ErrorBox error={error} />}
    </>
  );
}

const DONE: Record<string, string> = {
  suspend: 'User suspended.',
  activate: 'User activated.',
  deactivate: 'User deactivated: its tokens ended.',
  unlock: 'User unlocked.',
  'reset-password': 'Password reset: every session of the user ended.',
};

function UserDetail({id}: {id: string}) {
  const {api, me} = useSession();
  const user = useLoad(() => api.get<User>(`/users/${encodeURIComponent(id)}`), [id]);
  const roles = useLoad(() => api.all<Role>('/roles'), []);
  const [editing, setEditing] = useState(false);
  const [secret, setSecret] = useState<User | null>(null);
  const [done, setDone] = useState('');
  const action = useAction();

  if (user.error) return (<section><PageHeader title="User" /><ErrorBox error={user.error} /></section>);
  if (!user.data) return <Loading what="the user" />;
  const u = user.data;
  const mayEdit = can(me, 'iam.user', 'edit');
  const roleName = (rid: string) => roles.data?.find((r) => r.id === rid)?.name ?? rid;

  const act = (path: string, label: string) =>
    action.run(async () => {
      const answer = await api.post<User>(`/users/${encodeURIComponent(id)}/${path}`);
      setDone(DONE[path] ?? `${label}: done.`);
      if (path === 'reset-password') setSecret(answer);
      user.reload();
    });

  const statusActions: {path: string; label: string; when: boolean}[] = [
    {path: 'suspend', label: 'Suspend', when: u.status === 'active'},
    {path: 'activate', label: 'Activate', when: u.status === 'suspended' || u.status === 'deactivated'},
    {path: 'deactivate', label: 'Deactivate', when: u.status !== 'deactivated' && u.status !== 'deleted'},
    {path: 'unlock', label: 'Unlock', when: u.status === 'locked'},
    {path: 'reset-password', label: 'Reset password', when: u.status !== 'deleted'},
  ];

  return (
    <section>
      <PageHeader title={fullName(u) || u.email}>
        <a href="/console/users" class="button">All users</a>
        {mayEdit && <button type="button" onClick={() => setEditing(true)}>Edit profile</button>}
      </PageHeader>
      <div class="cards">
        <div class="card">
          <h2>Profile</h2>
          <dl class="props">
            <dt>Email</dt><dd>{u.email}</dd>
            <dt>Department</dt><dd>{u.department || '—'}</dd>
            <dt>Phone</dt><dd>{u.phone || '—'}</dd>
            <dt>Kind</dt><dd>{u.kind}</dd>
            <dt>Status</dt><dd><Status status={u.status} />{u.must_change_password && <span class="muted"> (must change password)</span>}</dd>
            <dt>Two-factor</dt><dd>{u.mfa ? `on (${u.mfa.recovery_codes_left} recovery codes left)` : 'off'}</dd>
            <dt>Last active</dt><dd>{shortTime(u.last_active_at)}</dd>
            <dt>Created</dt><dd>{shortTime(u.created_at)}</dd>
            <dt>ID</dt><dd><code>{u.id}</code></dd>
          </dl>
          {can(me, 'iam.user', 'edit') && (
            <div class="actions" role="group" aria-label="Status actions">
              {statusActions.filter((a) => a.when).map((a) => (
                <button type="button" key={a.path} disabled={action.busy} onClick={() => act(a.path, a.label)}>
                  {a.label}
                </button>
              ))}
              {u.mfa && (
                <button type="button" disabled={action.busy}
                        onClick={() => action.run(async () => {
                          await api.del(`/users/${encodeURIComponent(id)}/mfa`);
                          setDone('Two-factor authentication reset: the user signs in with its password and sets it up again.');
                          user.reload();
                        })}>
                  Reset two-factor
                </button>
              )}
            </div>
          )}
          {done && !action.error && <Notice>{done}</Notice>}
          <ErrorBox error={action.error} />
          {secret && (secret.temporary_password
            ? <SecretOnce label="Temporary password" value={secret.temporary_password} />
            : <Notice>The new temporary password was sent to the user.</Notice>)}
        </div>
        <Tags user={u} editable={mayEdit} onChange={user.reload} />
        <div class="card">
          <h2>Roles</h2>
          {(u.bindings ?? []).length === 0 ? <p class="muted">No role bound directly.</p> : (
            <ul class="plain">
              {(u.bindings ?? []).map((b: Binding) => (
                <li key={b.id}>
                  <a href={`/console/roles/${b.role_id}`}>{roleName(b.role_id)}</a> <span class="muted">at {b.scope}</span>
                  {can(me, 'iam.binding', 'admin') && (
                    <button type="button" class="small danger" aria-label={`Unbind ${roleName(b.role_id)}`} disabled={action.busy}
                            onClick={() => action.run(async () => { await api.del(`/bindings/${b.id}`); setDone('Role unbound.'); user.reload(); })}>
                      Unbind
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
          {can(me, 'iam.binding', 'admin') && (
            <BindRole subject={{type: 'user', id}} roles={roles.data ?? []} onBound={() => { setDone('Role bound.'); user.reload(); }} />
          )}
          <h2>Groups</h2>
          {(u.groups ?? []).length === 0 ? <p class="muted">In no group.</p> : (
            <ul class="plain">
              {(u.groups ?? []).map((g) => <li key={g.id}><a href={`/console/groups/${g.id}`}>{g.name}</a></li>)}
            </ul>
          )}
          <p><a href={`/console/access?subject=user:${u.id}`}>Check this user's access</a></p>
        </div>
      </div>
      {can(me, 'iam.audit', 'view') && <UserEvents id={id} version={u.version} />}
      {editing && <EditProfile user={u} onClose={() => setEditing(false)} onSaved={user.reload} />}
    </section>
  );
}

function Tags({user, editable, onChange}: {user: User; editable: boolean; onChange: () => void}) {
  const {api} = useSession();
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [editingKey, setEditingKey] = useState<string | null>(null);
  const {busy, error, run} = useAction();
  const tags = Object.entries(user.tags ?? {});

  const save = (e: Event) => {
    e.preventDefault();
    run(async () => {
      await api.put(`/users/${user.id}/tags/${encodeURIComponent(key)}`, {value});
      setKey('');
      setValue('');
      setEditingKey(null);
      onChange();
    });
  };
  return (
    <div class="card">
      <h2>Tags</h2>
      {tags.length === 0 ? <p class="muted">No tags.</p> : (
        <table aria-label="Tags" class="compact">
          <thead><tr><th scope="col">Key</th><th scope="col">Value</th>{editable && <th scope="col"><span class="sr-only">Actions</span></th>}</tr></thead>
          <tbody>
            {tags.map(([k, v]) => (
              <tr key={k}>
                <td>{k}</td>
                <td>{v}</td>
                {editable && (
                  <td class="row-actions">
                    <button type="button" class="small" aria-label={`Edit tag ${k}`} onClick={() => { setEditingKey(k); setKey(k); setValue(v); }}>Edit</button>
                    <button type="button" class="small danger" aria-label={`Delete tag ${k}`} disabled={busy}
                            onClick={() => run(async () => { await api.del(`/users/${user.id}/tags/${encodeURIComponent(k)}`); onChange(); })}>
                      Delete
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editable && (
        <form class="inline-form" onSubmit={save} aria-label={editingKey ? 'Edit tag' : 'Add tag'}>
          <TextField label="Key" value={key} onValue={setKey} required readOnly={editingKey !== null} />
          <TextField label="Value" value={value} onValue={setValue} required />
          <button type="submit" disabled={busy}>{editingKey ? 'Save tag' : 'Add tag'}</button>
          {editingKey && <button type="button" onClick={() => { setEditingKey(null); setKey(''); setValue(''); }}>Cancel</button>}
        </form>
      )}
      <ErrorBox error={error} />
    </div>
  );
}

function EditProfile({user, onClose, onSaved}: {user: User; onClose: () => void; onSaved: () => void}) {
  const {api} = useSession();
  const [first, setFirst] = useState(user.first_name);
  const [last, setLast] = useState(user.last_name);
  const [department, setDepartment] = useState(user.department ?? '');
  const [phone, setPhone] = useState(user.phone ?? '');
  const {busy, error, run} = useAction();
  const submit = () =>
    run(async () => {
      await api.patch(`/users/${user.id}`, {first_name: first, last_name: last, department, phone});
      onSaved();
      onClose();
    });
  return (
    <FormDialog title="Edit profile" submitLabel="Save" busy={busy} error={error} onClose={onClose} onSubmit={submit}>
      <div class="grid2">
        <TextField label="First name" value={first} onValue={setFirst} required />
        <TextField label="Last name" value={last} onValue={setLast} required />
      </div>
      <TextField label="Department" value={department} onValue={setDepartment} />
      <TextField label="Phone" value={phone} onValue={setPhone} />
    </FormDialog>
  );
}

// What was done to the user and by the user, newest first.
function UserEvents({id, version}: {id: string; version: number}) {
  const {api} = useSession();
  const events = useLoad(async () => {
    // A page may come back empty with a cursor (the query's work budget): follow a few.
    const recent = async (q: Record<string, string>) => {
      let page = await api.get<Page<AuditEvent>>('/audit/events', {...q, limit: 20});
      for (let i = 0; i < 5 && page.items.length === 0 && page.next_cursor; ++i) {
        page = await api.get<Page<AuditEvent>>('/audit/events', {...q, limit: 20, cursor: page.next_cursor});
      }
      return page.items;
    };
    const [about, by] = await Promise.all([recent({target: id}), recent({actor: id})]);
    const seen = new Map<string, AuditEvent>();
    for (const e of [...about, ...by]) seen.set(e.id, e);
    return [...seen.values()].sort((a, b) => b.seq - a.seq).slice(0, 20);
  }, [id, version]);
  return (
    <div class="card">
      <h2>Recent audit events</h2>
      <ErrorBox error={events.error} />
      {events.data && (events.data.length === 0 ? <p class="muted">No events in the retention window.</p>
        : <AuditTable events={events.data} onOpen={(e) => navigate(`/console/audit/${e.id}`)} />)}
    </div>
  );
}
