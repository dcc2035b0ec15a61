// Roles: the list with counts; a role's permissions editor, included roles, holders and
// status.
import {useState} from 'preact/hooks';
import {can, LEVELS, type Level, type Permission, type Role} from '../model';
import {navigate} from '../router';
import {useSession} from '../session';
import {
  DataTable, Empty, FormDialog, ErrorBox, Loading, Notice, PageHeader, Status, TextField, useAction,
  useLoad,
} from '../ui';

const TYPES = ['*', 'environment', 'project', 'folder', 'workflow', 'connection', 'dashboard', 'table',
               'iam.*', 'iam.user', 'iam.group', 'iam.role', 'iam.api_client', 'iam.invitation',
               'iam.binding', 'iam.audit', 'iam.settings'];

export function RolesPage({id}: {id: string | null}) {
  return id ? <RoleDetail id={id} /> : <RolesList />;
}

function RolesList() {
  const {api, me} = useSession();
  const roles = useLoad(() => api.all<Role>('/roles'), []);
  const [creating, setCreating] = useState(false);
  return (
    <section>
      <PageHeader title="Roles">
        {can(me, 'iam.role', 'edit') && <button type="button" class="primary" onClick={() => setCreating(true)}>New role</button>}
      </PageHeader>
      <ErrorBox error={roles.error} />
      {roles.loading && !roles.data && <Loading what="roles" />}
      {roles.data && roles.data.length === 0 && <Empty>No roles.</Empty>}
      {roles.data && roles.data.length > 0 && (
        <DataTable<Role>
          label="Roles"
          rows={roles.data}
          rowKey={(r) => r.id}
          columns={[
            {key: 'name', label: 'Name', render: (r) => <a href={`/console/roles/${r.id}`}>{r.name}</a>},
            {key: 'description', label: 'Description', render: (r) => r.description || '—'},
            {key: 'permissions', label: 'Permissions', render: (r) => r.permissions_count ?? r.permissions.length},
            {key: 'users', label: 'Users', render: (r) => r.users_count ?? 0},
            {key: 'status', label: 'Status', render: (r) => <><Status status={r.status} />{r.built_in && <span class="badge">built-in</span>}</>},
          ]}
        />
      )}
      {creating && <NewRole onClose={() => setCreating(false)} />}
    </section>
  );
}

function NewRole({onClose}: {onClose: () => void}) {
  const {api} = useSession();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const {busy, error, run} = useAction();
  return (
    <FormDialog title="New role" submitLabel="Create role" busy={busy} error={error} onClose={onClose}
                onSubmit={() => run(async () => {
                  const r = await api.post<Role>('/roles', {name, description, permissions: []});
                  onClose();
                  navigate(`/console/roles/${r.id}`);
                })}>
      <TextField label="Name" value={name} onValue={setName} required />
      <TextField label="Description" value={description} onValue={setDescription} />
      <p class="muted">Add its permissions on the role's page.</p>
    </FormDialog>
  );
}

function RoleDetail({id: raw}: {id: string}) {
  const id = encodeURIComponent(raw);
  const {api, me} = useSession();
  const role = useLoad(() => api.get<Role>(`/roles/${id}`), [id]);
  const all = useLoad(() => api.all<Role>('/roles'), []);
  const [draft, setDraft] = useState<{permissions: Permission[]; includes: string[]} | null>(null);
  const [saved, setSaved] = useState('');
  const action = useAction();

  if (role.error) return (<section><PageHeader title="Role" /><ErrorBox error={role.error} /></section>);
  if (!role.data) return <Loading what="the role" />;
  const r = role.data;
  const editable = can(me, 'iam.role', 'edit') && !r.built_in;
  const perms = draft?.permissions ?? r.permissions;
  const includes = draft?.includes ?? r.includes;
  const edit = (permissions: Permission[], inc: string[] = includes) => {
    setSaved('');
    setDraft({permissions, includes: inc});
  };
  const setPerm = (i: number, p: Partial<Permission>) => edit(perms.map((x, j) => (j === i ? {...x, ...p} : x)));

  const save = () =>
    action.run(async () => {
      await api.patch<Role>(`/roles/${id}`, {permissions: perms, includes});
      setDraft(null);
      setSaved('Permissions saved.');
      role.reload();
    });
  const setStatus = (to: 'activate' | 'deactivate') =>
    action.run(async () => {
      await api.post(`/roles/${id}/${to}`);
      setSaved(to === 'activate' ? 'Role activated.' : 'Role deactivated.');
      role.reload();
    });

  return (
    <section>
      <PageHeader title={r.name}>
        <a class="button" href="/console/roles">All roles</a>
        {can(me, 'iam.role', 'edit') && !r.built_in && (r.status === 'active'
          ? <button type="button" onClick={() => setStatus('deactivate')} disabled={action.busy}>Deactivate</button>
          : <button type="button" onClick={() => setStatus('activate')} disabled={action.busy}>Activate</button>)}
        {can(me, 'iam.role', 'manage') && !r.built_in && (
          <button type="button" class="danger" disabled={action.busy}
                  onClick={() => action.run(async () => { await api.del(`/roles/${id}`); navigate('/console/roles'); })}>
            Delete role
          </button>
        )}
      </PageHeader>
      <p>{r.description} <Status status={r.status} />{r.built_in && <span class="badge">built-in (cannot be edited)</span>}</p>
      {saved && !action.error && <Notice>{saved}</Notice>}
      <ErrorBox error={action.error} />
      <div class="card">
        <h2>Permissions</h2>
        {perms.length === 0 && <p class="muted">No permissions: this role grants nothing.</p>}
        {perms.length > 0 && (
          <table aria-label="Permissions" class="compact perms">
            <thead>
              <tr><th scope="col">App</th><th scope="col">Resource type</th><th scope="col">Resource</th><th scope="col">Level</th>
                {editable && <th scope="col"><span class="sr-only">Remove</span></th>}</tr>
            </thead>
            <tbody>
              {perms.map((p, i) => (
                <tr key={i}>
                  {editable ? (
                    <>
                      <td><input aria-label={`App of permission ${i + 1}`} value={p.app} onInput={(e) => setPerm(i, {app: (e.target as HTMLInputElement).value})} /></td>
                      <td><input aria-label={`Resource type of permission ${i + 1}`} list="resource-types" value={p.resource_type}
                                 onInput={(e) => setPerm(i, {resource_type: (e.target as HTMLInputElement).value})} /></td>
                      <td><input aria-label={`Resource of permission ${i + 1}`} value={p.resource} onInput={(e) => setPerm(i, {resource: (e.target as HTMLInputElement).value})} /></td>
                      <td>
                        <select aria-label={`Level of permission ${i + 1}`} value={p.level}
                                onChange={(e) => setPerm(i, {level: (e.target as HTMLSelectElement).value as Level})}>
                          {LEVELS.map((l) => <option key={l} value={l}>{l}</option>)}
                        </select>
                      </td>
                      <td><button type="button" class="small danger" aria-label={`Remove permission ${i + 1}`}
                                  onClick={() => edit(perms.filter((_, j) => j !== i))}>Remove</button></td>
                    </>
                  ) : (
                    <><td>{p.app}</td><td><code>{p.resource_type}</code></td><td>{p.resource}</td><td>{p.level}</td></>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <datalist id="resource-types">{TYPES.map((t) => <option key={t} value={t} />)}</datalist>
        {editable && (
          <div class="actions">
            <button type="button" onClick={() => edit([...perms, {app: '*', resource_type: '*', resource: '*', level: 'view'}])}>
              Add permission
            </button>
          </div>
        )}
        <h2>Included roles</h2>
        {editable ? (
          <fieldset class="checks">
            <legend class="sr-only">Included roles</legend>
            {(all.data ?? []).filter((o) => o.id !== id).map((o) => (
              <label key={o.id}>
                <input type="checkbox" checked={includes.includes(o.id)}
                       onChange={(e) => edit(perms, (e.target as HTMLInputElement).checked ? [...includes, o.id] : includes.filter((x) => x !== o.id))} />
                {o.name}
              </label>
            ))}
          </fieldset>
        ) : includes.length === 0 ? <p class="muted">None.</p> : (
          <ul class="plain">{includes.map((x) => <li key={x}><a href={`/console/roles/${x}`}>{all.data?.find((o) => o.id === x)?.name ?? x}</a></li>)}</ul>
        )}
        {editable && (
          <div class="form-actions">
            <button type="button" disabled={!draft || action.busy} onClick={() => setDraft(null)}>Discard changes</button>
            <button type="button" class="primary" disabled={!draft || action.busy} onClick={save}>Save permissions</button>
          </div>
        )}
      </div>
      <div class="card">
        <h2>Holders</h2>
        {(r.holders?.users.length ?? 0) + (r.holders?.api_clients.length ?? 0) === 0 ? <p class="muted">Nobody holds this role.</p> : (
          <ul class="plain">
            {r.holders?.users.map((u) => <li key={u.id}><a href={`/console/users/${u.id}`}>{u.name}</a> <span class="muted">{u.email}</span></li>)}
            {r.holders?.api_clients.map((c) => <li key={c.id}><a href={`/console/api-clients/${c.id}`}>{c.name}</a> <span class="muted">API client</span></li>)}
          </ul>
        )}
      </div>
    </section>
  );
}
