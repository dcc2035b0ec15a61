// Access: who has access to a node (the access review), and why a subject may or may not do
// an action there.
import {useState} from 'preact/hooks';
import type {Page} from '../api';
import {can, fullName, type Grant, type Level, type User} from '../model';
import {currentRoute} from '../router';
import {useSession} from '../session';
import {DataTable, Empty, ErrorBox, PageHeader, SelectField, TextField, useAction, useLoad} from '../ui';

interface Node {
  id: string;
  name: string;
  type: string;
}

function useNodes() {
  const {api} = useSession();
  return useLoad(async () => {
    const [envs, projects] = await Promise.all([
      api.get<Page<Node>>('/environments', {limit: 200}).catch(() => ({items: [], next_cursor: null})),
      api.get<Page<Node>>('/projects', {limit: 200}).catch(() => ({items: [], next_cursor: null})),
    ]);
    return [{id: 'root', name: 'Tenant (root)', type: 'tenant'}, ...envs.items, ...projects.items];
  }, []);
}

export function AccessPage() {
  const {me} = useSession();
  const nodes = useNodes();
  return (
    <section>
      <PageHeader title="Access" />
      <datalist id="nodes">
        {(nodes.data ?? []).map((n) => <option key={n.id} value={n.id}>{`${n.name} (${n.type})`}</option>)}
      </datalist>
      <div class="cards">
        <CheckAccess />
        {can(me, 'iam.binding', 'view') && <WhoHasAccess />}
      </div>
    </section>
  );
}

interface WhoItem {
  subject: {type: string; id: string; name?: string};
  level: Level;
}

function WhoHasAccess() {
  const {api} = useSession();
  const [resource, setResource] = useState('root');
  const [items, setItems] = useState<WhoItem[] | null>(null);
  const {busy, error, run} = useAction();
  return (
    <div class="card">
      <h2>Who has access</h2>
      <form class="inline-form" onSubmit={(e) => {
        e.preventDefault();
        run(async () => setItems((await api.get<{items: WhoItem[]}>('/access/who', {resource_id: resource})).items));
      }}>
        <TextField label="Node" list="nodes" value={resource} onValue={setResource} required hint="root, or a node id" />
        <button type="submit" disabled={busy}>Show who has access</button>
      </form>
      <ErrorBox error={error} />
      {items && items.length === 0 && <Empty>Nobody has access to this node.</Empty>}
      {items && items.length > 0 && (
        <DataTable<WhoItem>
          label="Who has access"
          rows={items}
          rowKey={(i) => `${i.subject.type}:${i.subject.id}`}
          columns={[
            {key: 'name', label: 'Subject', render: (i) => (
              <a href={i.subject.type === 'user' ? `/console/users/${i.subject.id}` : i.subject.type === 'group' ? `/console/groups/${i.subject.id}` : `/console/api-clients/${i.subject.id}`}>
                {i.subject.name ?? i.subject.id}
              </a>)},
            {key: 'type', label: 'Type', render: (i) => i.subject.type.replace('_', ' ')},
            {key: 'level', label: 'Level', render: (i) => i.level},
          ]}
        />
      )}
    </div>
  );
}

interface CheckResult {
  allowed: boolean;
  level: Level;
  required_level: Level;
  reason?: string;
  grants: Grant[];
}

const ACTIONS = ['read', 'list', 'execute', 'create', 'update', 'delete', 'administer'];

function CheckAccess() {
  const {api} = useSession();
  const preset = currentRoute().query.get('subject') ?? '';
  const [type, setType] = useState(preset.startsWith('api_client:') ? 'api_client' : preset.startsWith('group:') ? 'group' : 'user');
  const [subject, setSubject] = useState(preset.replace(/^[a-z_]+:/, ''));
  const [action, setAction] = useState('read');
  const [resource, setResource] = useState('root');
  const [result, setResult] = useState<{who: string; r: CheckResult} | null>(null);
  const {busy, error, run} = useAction();

  // An email names a user: its id is found first.
  const resolve = async (): Promise<{id: string; name: string}> => {
    const s = subject.trim();
    if (type !== 'user' || !s.includes('@')) return {id: s, name: s};
    const page = await api.get<Page<User>>('/users', {q: s, limit: 10});
    const u = page.items.find((x) => x.email.toLowerCase() === s.toLowerCase());
    if (!u) throw new Error(`no user with the email ${s}`);
    return {id: u.id, name: `${fullName(u)} (${u.email})`};
  };

  return (
    <div class="card">
      <h2>Check access</h2>
      <form onSubmit={(e) => {
        e.preventDefault();
        run(async () => {
          const who = await resolve();
          const r = await api.post<CheckResult>('/access/check', {subject: {type, id: who.id}, action, resource_id: resource});
          setResult({who: who.name, r});
        });
      }}>
        <div class="grid2">
          <SelectField label="Subject type" value={type} onValue={setType}
                       options={[{value: 'user', label: 'User'}, {value: 'api_client', label: 'API client'}, {value: 'group', label: 'Group'}]} />
          <TextField label="Subject" value={subject} onValue={setSubject} required hint="An email, or an id (usr_…, cli_…, grp_…)" />
          <SelectField label="Action" value={action} onValue={setAction} options={ACTIONS.map((a) => ({value: a, label: a}))} />
          <TextField label="Resource" list="nodes" value={resource} onValue={setResource} required hint="root, or a node id" />
        </div>
        <button type="submit" class="primary" disabled={busy}>Check access</button>
      </form>
      <ErrorBox error={error} />
      {result && (
        <div class={result.r.allowed ? 'verdict allowed' : 'verdict denied'} role="status" aria-live="polite">
          <p>
            <strong>{result.r.allowed ? 'Allowed' : 'Denied'}</strong>: {result.who} has <strong>{result.r.level}</strong>;
            {' '}{action} needs <strong>{result.r.required_level}</strong>.{result.r.reason && ` (${result.r.reason})`}
          </p>
          {result.r.grants.length === 0 ? <p class="muted">No grant applies.</p> : (
            <DataTable<Grant>
              label="Grants that apply"
              rows={result.r.grants}
              rowKey={(g) => `${g.binding_id}:${JSON.stringify(g.permission)}`}
              columns={[
                {key: 'role', label: 'Role', render: (g) => <a href={`/console/roles/${g.role_id}`}>{g.role_name ?? g.role_id}</a>},
                {key: 'via', label: 'Through', render: (g) => g.via_group ? <a href={`/console/groups/${g.via_group}`}>{g.via_group_name ?? g.via_group}</a> : 'direct'},
                {key: 'scope', label: 'Scope', render: (g) => g.scope},
                {key: 'permission', label: 'Permission', render: (g) => `${g.permission.level} on ${g.permission.resource_type}${g.permission.app !== '*' ? ` (${g.permission.app})` : ''}`},
              ]}
            />
          )}
        </div>
      )}
    </div>
  );
}
