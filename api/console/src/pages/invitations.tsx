// Invitations: by status; invite (with a role and a group), resend, revoke.
import {useState} from 'preact/hooks';
import type {Page} from '../api';
import {can, shortTime, type Group, type Invitation, type Role} from '../model';
import {useSession} from '../session';
import {
  DataTable, Empty, FormDialog, ErrorBox, Loading, Notice, PageHeader, Pager, SecretOnce, SelectField,
  Status, TextField, useAction, useLoad, usePager,
} from '../ui';

export function InvitationsPage() {
  const {api, me} = useSession();
  const [status, setStatus] = useState('pending');
  const pager = usePager([status]);
  const list = useLoad(() => api.get<Page<Invitation>>('/invitations', {status, limit: 50, cursor: pager.cursor}),
                       [status, pager.cursor]);
  const [inviting, setInviting] = useState(false);
  const [token, setToken] = useState<Invitation | null>(null);
  const [done, setDone] = useState('');
  const action = useAction();
  const mayEdit = can(me, 'iam.invitation', 'edit');

  const act = (inv: Invitation, what: 'resend' | 'revoke') =>
    action.run(async () => {
      const answer = await api.post<Invitation>(`/invitations/${inv.id}/${what}`);
      setDone(what === 'resend' ? `Invitation to ${inv.email} sent again.` : `Invitation to ${inv.email} revoked.`);
      setToken(what === 'resend' ? answer : null);
      list.reload();
    });

  return (
    <section>
      <PageHeader title="Invitations">
        {mayEdit && <button type="button" class="primary" onClick={() => setInviting(true)}>Invite</button>}
      </PageHeader>
      <div class="filters">
        <SelectField label="Status" value={status} onValue={setStatus}
                     options={[{value: '', label: 'Any status'}, ...['pending', 'accepted', 'expired', 'revoked'].map((s) => ({value: s, label: s}))]} />
      </div>
      {done && !action.error && <Notice>{done}</Notice>}
      {token && (token.token ? <SecretOnce label="Invitation token" value={token.token} />
        : token.credential_delivery === 'notification' && <Notice>The invitation link was sent by mail.</Notice>)}
      <ErrorBox error={action.error ?? list.error} />
      {list.loading && !list.data && <Loading what="invitations" />}
      {list.data && list.data.items.length === 0 && <Empty>No {status || ''} invitations.</Empty>}
      {list.data && list.data.items.length > 0 && (
        <DataTable<Invitation>
          label="Invitations"
          rows={list.data.items}
          rowKey={(i) => i.id}
          columns={[
            {key: 'email', label: 'Email', render: (i) => i.email},
            {key: 'status', label: 'Status', render: (i) => <Status status={i.status} />},
            {key: 'expires_at', label: 'Expires', render: (i) => shortTime(i.expires_at)},
            {key: 'sends', label: 'Sent', render: (i) => `${i.sends ?? 1}×`},
            {key: 'actions', label: 'Actions', render: (i) => mayEdit && i.status === 'pending' ? (
              <span class="row-actions">
                <button type="button" class="small" aria-label={`Resend to ${i.email}`} disabled={action.busy} onClick={() => act(i, 'resend')}>Resend</button>
                <button type="button" class="small danger" aria-label={`Revoke invitation to ${i.email}`} disabled={action.busy} onClick={() => act(i, 'revoke')}>Revoke</button>
              </span>
            ) : mayEdit && i.status === 'expired' ? (
              <button type="button" class="small" aria-label={`Resend to ${i.email}`} disabled={action.busy} onClick={() => act(i, 'resend')}>Resend</button>
            ) : null},
          ]}
        />
      )}
      {list.data && <Pager page={pager.page} next={list.data.next_cursor} onNext={pager.next} onPrev={pager.prev} />}
      {inviting && <Invite onClose={() => setInviting(false)} onInvited={(inv) => { setToken(inv); setDone(`${inv.email} invited.`); list.reload(); }} />}
    </section>
  );
}

function Invite({onClose, onInvited}: {onClose: () => void; onInvited: (i: Invitation) => void}) {
  const {api} = useSession();
  const roles = useLoad(() => api.all<Role>('/roles'), []);
  const groups = useLoad(() => api.all<Group>('/groups'), []);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('');
  const [group, setGroup] = useState('');
  const [days, setDays] = useState('');
  const {busy, error, run} = useAction();
  return (
    <FormDialog title="Invite someone" submitLabel="Send invitation" busy={busy} error={error} onClose={onClose}
                onSubmit={() => run(async () => {
                  const body: Record<string, unknown> = {email};
                  if (role) body.bindings = [{role_id: role}];
                  if (group) body.group_ids = [group];
                  if (days) body.expires_in_days = Number(days);
                  onInvited(await api.post<Invitation>('/invitations', body));
                  onClose();
                })}>
        <TextField label="Email" type="email" value={email} onValue={setEmail} required />
        <SelectField label="Role" value={role} onValue={setRole}
                     options={[{value: '', label: 'No role'}, ...(roles.data ?? []).filter((r) => r.status === 'active').map((r) => ({value: r.id, label: r.name}))]} />
        <SelectField label="Group" value={group} onValue={setGroup}
                     options={[{value: '', label: 'No group'}, ...(groups.data ?? []).map((g) => ({value: g.id, label: g.name}))]} />
        <TextField label="Expires in days" type="number" min={1} max={365} value={days} onValue={setDays} hint="Default: the tenant's setting" />
    </FormDialog>
  );
}
