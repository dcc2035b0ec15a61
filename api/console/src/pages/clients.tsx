// API clients: list, create (secret shown once), rotate and revoke secrets, status, roles.
import {useState} from 'preact/hooks';
import type {Page} from '../api';
import {can, shortTime, type ApiClient, type Binding, type Role} from '../model';
import {navigate} from '../router';
import {useSession} from '../session';
import {
  DataTable, Dialog, Empty, FormDialog, ErrorBox, Loading, Notice, PageHeader, Pager, SecretOnce, SelectField,
  Status, TextField, useAction, useLoad, usePager,
} from '../ui';
import {BindRole} from './groups';

export function ClientsPage({id}: {id: string | null}) {
  return id ? <ClientDetail id={id} /> : <ClientsList />;
}

function ClientsList() {
  const {api, me} = useSession();
  const [q, setQ] = useState('');
  const [status, setStatus] = useState('');
  const pager = usePager([q, status]);
  const clients = useLoad(() => api.get<Page<ApiClient>>('/api-clients', {q, status, sort: 'name', limit: 50, cursor: pager.cursor}),
                          [q, status, pager.cursor]);
  const [creating, setCreating] = useState(false);
  return (
    <section>
      <PageHeader title="API clients">
        {can(me, 'iam.api_client', 'edit') && <button type="button" class="primary" onClick={() => setCreating(true)}>New API client</button>}
      </PageHeader>
      <div class="filters" role="search">
        <TextField label="Search" type="search" value={q} onValue={setQ} placeholder="Name" />
        <SelectField label="Status" value={status} onValue={setStatus}
                     options={[{value: '', label: 'Any status'}, {value: 'active', label: 'active'}, {value: 'inactive', label: 'inactive'}]} />
      </div>
      <ErrorBox error={clients.error} />
      {clients.loading && !clients.data && <Loading what="API clients" />}
      {clients.data && clients.data.items.length === 0 && <Empty>No API clients{q || status ? ' match' : ' yet'}.</Empty>}
      {clients.data && clients.data.items.length > 0 && (
        <DataTable<ApiClient>
          label="API clients"
          rows={clients.data.items}
          rowKey={(c) => c.id}
          columns={[
            {key: 'name', label: 'Name', render: (c) => <a href={`/console/api-clients/${c.id}`}>{c.name}</a>},
            {key: 'client_id', label: 'Client ID', render: (c) => <code>{c.client_id}</code>},
            {key: 'status', label: 'Status', render: (c) => <Status status={c.status} />},
            {key: 'last_used_at', label: 'Last used', render: (c) => shortTime(c.last_used_at)},
          ]}
        />
      )}
      {clients.data && <Pager page={pager.page} next={clients.data.next_cursor} onNext={pager.next} onPrev={pager.prev} />}
      {creating && <NewClient onClose={() => { setCreating(false); clients.reload(); }} />}
    </section>
  );
}

function NewClient({onClose}: {onClose: () => void}) {
  const {api} = useSession();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [made, setMade] = useState<ApiClient | null>(null);
  const {busy, error, run} = useAction();
  if (made) {
    return (
      <Dialog title="API client created" onClose={onClose}>
        <p><a href={`/console/api-clients/${made.id}`} onClick={onClose}>{made.name}</a>: client ID <code>{made.client_id}</code></p>
        {made.client_secret ? <SecretOnce label="Client secret" value={made.client_secret} />
          : <Notice>The secret was sent through the notification channel; you do not see it.</Notice>}
        <div class="form-actions"><button type="button" class="primary" onClick={onClose}>Done</button></div>
      </Dialog>
    );
  }
  return (
    <FormDialog title="New API client" submitLabel="Create API client" busy={busy} error={error} onClose={onClose}
                onSubmit={() => run(async () => setMade(await api.post<ApiClient>('/api-clients', {name, description})))}>
      <TextField label="Name" value={name} onValue={setName} required />
      <TextField label="Description" value={description} onValue={setDescription} />
    </FormDialog>
  );
}

function ClientDetail({id: raw}: {id: string}) {
  const id = encodeURIComponent(raw);
  const {api, me} = useSession();
  const client = useLoad(() => api.get<ApiClient>(`/api-clients/${id}`), [id]);
  const roles = useLoad(() => api.all<Role>('/roles'), []);
  const [secret, setSecret] = useState<{key_id: string; client_secret: string | null} | null>(null);
  const [done, setDone] = useState('');
  const action = useAction();

  if (client.error) return (<section><PageHeader title="API client" /><ErrorBox error={client.error} /></section>);
  if (!client.data) return <Loading what="the API client" />;
  const c = client.data;
  const mayEdit = can(me, 'iam.api_client', 'edit');
  const roleName = (rid: string) => roles.data?.find((r) => r.id === rid)?.name ?? rid;
  const post = (path: string, message: string) =>
    action.run(async () => {
      await api.post(`/api-clients/${id}/${path}`);
      setDone(message);
      client.reload();
    });

  return (
    <section>
      <PageHeader title={c.name}>
        <a class="button" href="/console/api-clients">All API clients</a>
        {mayEdit && (c.status === 'active'
          ? <button type="button" onClick={() => post('deactivate', 'API client deactivated.')}>Deactivate</button>
          : <button type="button" onClick={() => post('activate', 'API client activated.')}>Activate</button>)}
        {can(me, 'iam.api_client', 'manage') && (
          <button type="button" class="danger"
                  onClick={() => action.run(async () => { await api.del(`/api-clients/${id}`); navigate('/console/api-clients'); })}>
            Delete API client
          </button>
        )}
      </PageHeader>
      <p>{c.description} <Status status={c.status} /> Client ID <code>{c.client_id}</code></p>
      {done && !action.error && <Notice>{done}</Notice>}
      <ErrorBox error={action.error} />
      <div class="cards">
        <div class="card">
          <h2>Secrets</h2>
          <p class="muted">A new secret does not end the old ones: revoke an old secret once nothing uses it.</p>
          <DataTable<{key_id: string; created_at: string; last_used_at: string | null}>
            label="Secrets"
            rows={c.secrets ?? []}
            rowKey={(s) => s.key_id}
            columns={[
              {key: 'key_id', label: 'Key ID', render: (s) => <code>{s.key_id}</code>},
              {key: 'created_at', label: 'Created', render: (s) => shortTime(s.created_at)},
              {key: 'last_used_at', label: 'Last used', render: (s) => shortTime(s.last_used_at)},
              {key: 'revoke', label: 'Actions', render: (s) => mayEdit ? (
                <button type="button" class="small danger" aria-label={`Revoke secret ${s.key_id}`} disabled={action.busy}
                        onClick={() => action.run(async () => {
                          await api.del(`/api-clients/${id}/secrets/${s.key_id}`);
                          setDone(`Secret ${s.key_id} revoked.`);
                          client.reload();
                        })}>
                  Revoke
                </button>
              ) : null},
            ]}
          />
          {mayEdit && (
            <div class="actions">
              <button type="button" class="primary" disabled={action.busy}
                      onClick={() => action.run(async () => {
                        setSecret(await api.post<{key_id: string; client_secret: string | null}>(`/api-clients/${id}/secrets`));
                        setDone('A new secret was made.');
                        client.reload();
                      })}>
                Rotate secret
              </button>
            </div>
          )}
          {secret && (secret.client_secret ? <SecretOnce label={`New client secret (${secret.key_id})`} value={secret.client_secret} />
            : <Notice>The new secret was sent through the notification channel.</Notice>)}
        </div>
        <div class="card">
          <h2>Roles</h2>
          {(c.bindings ?? []).length === 0 ? <p class="muted">No role bound.</p> : (
            <ul class="plain">
              {(c.bindings ?? []).map((b: Binding) => (
                <li key={b.id}>
                  <a href={`/console/roles/${b.role_id}`}>{roleName(b.role_id)}</a> <span class="muted">at {b.scope}</span>
                  {can(me, 'iam.binding', 'admin') && (
                    <button type="button" class="small danger" aria-label={`Unbind ${roleName(b.role_id)}`}
                            onClick={() => action.run(async () => { await api.del(`/bindings/${b.id}`); setDone('Role unbound.'); client.reload(); })}>
                      Unbind
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
          {can(me, 'iam.binding', 'admin') && (
            <BindRole subject={{type: 'api_client', id}} roles={roles.data ?? []} onBound={() => { setDone('Role bound.'); client.reload(); }} />
          )}
        </div>
      </div>
    </section>
  );
}
