// Groups: the list (system groups marked); a group's members (add, remove) and bound roles.
import {useState} from 'preact/hooks';
import type {Page} from '../api';
import {can, fullName, type ApiClient, type Binding, type Group, type Role, type Subject, type User} from '../model';
import {navigate} from '../router';
import {useSession} from '../session';
import {
  DataTable, Empty, FormDialog, ErrorBox, Loading, Notice, PageHeader, SelectField, TextField,
  useAction, useLoad,
} from '../ui';

export function GroupsPage({id}: {id: string | null}) {
  return id ? <GroupDetail id={id} /> : <GroupsList />;
}

function TypeBadge({type}: {type: string}) {
  return <span class={`badge badge-${type}`}>{type === 'system' ? 'system' : type}</span>;
}

function GroupsList() {
  const {api, me} = useSession();
  const [type, setType] = useState('');
  const groups = useLoad(() => api.all<Group>('/groups', {type}), [type]);
  const [creating, setCreating] = useState(false);
  return (
    <section>
      <PageHeader title="Groups">
        {can(me, 'iam.group', 'edit') && <button type="button" class="primary" onClick={() => setCreating(true)}>New group</button>}
      </PageHeader>
      <div class="filters">
        <SelectField label="Type" value={type} onValue={setType}
                     options={[{value: '', label: 'All types'}, {value: 'system', label: 'System'},
                               {value: 'configured', label: 'Configured'}, {value: 'app', label: 'App'}]} />
      </div>
      <ErrorBox error={groups.error} />
      {groups.loading && !groups.data && <Loading what="groups" />}
      {groups.data && groups.data.length === 0 && <Empty>No groups of this type.</Empty>}
      {groups.data && groups.data.length > 0 && (
        <DataTable<Group>
          label="Groups"
          rows={groups.data}
          rowKey={(g) => g.id}
          columns={[
            {key: 'name', label: 'Name', render: (g) => <a href={`/console/groups/${g.id}`}>{g.name}</a>},
            {key: 'type', label: 'Type', render: (g) => <TypeBadge type={g.type} />},
            {key: 'description', label: 'Description', render: (g) => g.description || '—'},
            {key: 'members', label: 'Members', render: (g) => g.members_count ?? 0},
          ]}
        />
      )}
      {creating && <NewGroup onClose={() => setCreating(false)} />}
    </section>
  );
}

function NewGroup({onClose}: {onClose: () => void}) {
  const {api} = useSession();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const {busy, error, run} = useAction();
  return (
    <FormDialog title="New group" submitLabel="Create group" busy={busy} error={error} onClose={onClose}
                onSubmit={() => run(async () => {
                  const g = await api.post<Group>('/groups', {name, description});
                  onClose();
                  navigate(`/console/groups/${g.id}`);
                })}>
      <TextField label="Name" value={name} onValue={setName} required />
      <TextField label="Description" value={description} onValue={setDescription} />
    </FormDialog>
  );
}

function GroupDetail({id: raw}: {id: string}) {
  const id = encodeURIComponent(raw);
  const {api, me} = useSession();
  const group = useLoad(() => api.get<Group>(`/groups/${id}`), [id]);
  const members = useLoad(() => api.get<{members: Subject[]}>(`/groups/${id}/members`), [id]);
  const roles = useLoad(() => api.all<Role>('/roles'), []);
  const [done, setDone] = useState('');
  const action = useAction();

  if (group.error) return (<section><PageHeader title="Group" /><ErrorBox error={group.error} /></section>);
  if (!group.data) return <Loading what="the group" />;
  const g = group.data;
  const mayEdit = can(me, 'iam.group', 'edit') || (g.type === 'system' && can(me, 'iam.group', 'admin'));
  const roleName = (rid: string) => roles.data?.find((r) => r.id === rid)?.name ?? rid;
  const reload = () => {
    group.reload();
    members.reload();
  };
  const remove = (m: Subject) =>
    action.run(async () => {
      await api.del(`/groups/${id}/members/${m.id}`);
      setDone(`${m.name ?? m.id} removed.`);
      reload();
    });

  return (
    <section>
      <PageHeader title={g.name}>
        <a class="button" href="/console/groups">All groups</a>
        {can(me, 'iam.group', 'manage') && g.type !== 'system' && (
          <button type="button" class="danger" disabled={action.busy}
                  onClick={() => action.run(async () => { await api.del(`/groups/${id}`); navigate('/console/groups'); })}>
            Delete group
          </button>
        )}
      </PageHeader>
      <p>
        <TypeBadge type={g.type} /> {g.description} {g.type === 'system' && <span class="muted">System groups are made by Custos and cannot be edited or deleted.</span>}
      </p>
      {done && !action.error && <Notice>{done}</Notice>}
      <ErrorBox error={action.error} />
      <div class="cards">
        <div class="card">
          <h2>Members</h2>
          <ErrorBox error={members.error} />
          {members.data && members.data.members.length === 0 && <p class="muted">No members.</p>}
          {members.data && members.data.members.length > 0 && (
            <DataTable<Subject>
              label="Members"
              rows={members.data.members}
              rowKey={(m) => m.id}
              columns={[
                {key: 'name', label: 'Name', render: (m) => (
                  <a href={m.type === 'user' ? `/console/users/${m.id}` : `/console/api-clients/${m.id}`}>{m.name ?? m.id}</a>)},
                {key: 'type', label: 'Type', render: (m) => (m.type === 'api_client' ? 'API client' : 'User')},
                {key: 'remove', label: 'Actions', render: (m) => mayEdit ? (
                  <button type="button" class="small danger" aria-label={`Remove ${m.name ?? m.id}`} onClick={() => remove(m)}>Remove</button>
                ) : null},
              ]}
            />
          )}
          {mayEdit && <AddMember groupId={id} onAdded={(name) => { setDone(`${name} added.`); reload(); }} />}
        </div>
        <div class="card">
          <h2>Bound roles</h2>
          {(g.bindings ?? []).length === 0 ? <p class="muted">No role is bound to this group.</p> : (
            <ul class="plain">
              {(g.bindings ?? []).map((b: Binding) => (
                <li key={b.id}>
                  <a href={`/console/roles/${b.role_id}`}>{roleName(b.role_id)}</a> <span class="muted">at {b.scope}</span>
                  {!b.system && can(me, 'iam.binding', 'admin') && (
                    <button type="button" class="small danger" aria-label={`Unbind ${roleName(b.role_id)}`}
                            onClick={() => action.run(async () => { await api.del(`/bindings/${b.id}`); setDone('Role unbound.'); reload(); })}>
                      Unbind
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
          {can(me, 'iam.binding', 'admin') && g.type !== 'system' && (
            <BindRole subject={{type: 'group', id}} roles={roles.data ?? []} onBound={() => { setDone('Role bound.'); reload(); }} />
          )}
        </div>
      </div>
    </section>
  );
}

// Finds a user (by name or email) or an API client (by name) and adds it.
function AddMember({groupId, onAdded}: {groupId: string; onAdded: (name: string) => void}) {
  const {api} = useSession();
  const [kind, setKind] = useState<'user' | 'api_client'>('user');
  const [q, setQ] = useState('');
  const found = useLoad(async () => {
    if (q.trim().length < 2) return [] as Subject[];
    if (kind === 'user') {
      const page = await api.get<Page<User>>('/users', {q: q.trim(), limit: 8});
      return page.items.map((u): Subject => ({type: 'user', id: u.id, name: `${fullName(u)} (${u.email})`}));
    }
    const page = await api.get<Page<ApiClient>>('/api-clients', {q: q.trim(), limit: 8});
    return page.items.map((c): Subject => ({type: 'api_client', id: c.id, name: c.name}));
  }, [q, kind]);
  const {busy, error, run} = useAction();
  return (
    <div class="add-member">
      <h3>Add member</h3>
      <div class="inline-form">
        <SelectField label="Member type" value={kind} onValue={(v) => setKind(v as 'user' | 'api_client')}
                     options={[{value: 'user', label: 'User'}, {value: 'api_client', label: 'API client'}]} />
        <TextField label="Find member" type="search" value={q} onValue={setQ} placeholder="Name or email" />
      </div>
      {found.data && found.data.length > 0 && (
        <ul class="plain results" aria-label="Matches">
          {found.data.map((s) => (
            <li key={s.id}>
              {s.name}{' '}
              <button type="button" class="small" disabled={busy}
                      onClick={() => run(async () => {
                        await api.post(`/groups/${groupId}/members`, {members: [{type: s.type, id: s.id}]});
                        setQ('');
                        onAdded(s.name ?? s.id);
                      })}>
                Add
              </button>
            </li>
          ))}
        </ul>
      )}
      {q.trim().length >= 2 && found.data && found.data.length === 0 && <p class="muted">No match.</p>}
      <ErrorBox error={error ?? found.error} />
    </div>
  );
}

// Binds a role to a subject at a scope (the tenant root unless a node id is given).
export function BindRole(props: {subject: {type: string; id: string}; roles: Role[]; onBound: () => void}) {
  const {api} = useSession();
  const [role, setRole] = useState('');
  const [scope, setScope] = useState('root');
  const {busy, error, run} = useAction();
  return (
    <form class="inline-form" aria-label="Bind a role" onSubmit={(e) => {
      e.preventDefault();
      run(async () => {
        await api.post<Binding>('/bindings', {subject: props.subject, role_id: role, scope: scope || 'root'});
        setRole('');
        props.onBound();
      });
    }}>
      <SelectField label="Role to bind" value={role} onValue={setRole} required
                   options={[{value: '', label: 'Choose a role'}, ...props.roles.filter((r) => r.status === 'active').map((r) => ({value: r.id, label: r.name}))]} />
      <TextField label="Scope" value={scope} onValue={setScope} hint="root, or a node id (env_…, prj_…)" />
      <button type="submit" disabled={busy || !role}>Bind role</button>
      <ErrorBox error={error} />
    </form>
  );
}
