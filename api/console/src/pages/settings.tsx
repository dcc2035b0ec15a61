// Settings: the tenant's settings, plan and retention; editable where the caller may change
// them (settings: admin on iam.settings; plan and retention: the root client alone).
import {useState} from 'preact/hooks';
import {ApiError} from '../api';
import {can, type Tenant} from '../model';
import {useSession} from '../session';
import {ErrorBox, Loading, Notice, PageHeader, SelectField, TextField, useAction, useLoad} from '../ui';

const SETTINGS: {key: string; label: string; hint: string}[] = [
  {key: 'lockout_threshold', label: 'Lockout threshold', hint: 'consecutive failed logins that lock an account'},
  {key: 'lockout_minutes', label: 'Lockout minutes', hint: '0: until an admin unlocks'},
  {key: 'password_min_length', label: 'Minimum password length', hint: '8 to 256'},
  {key: 'temp_password_ttl_hours', label: 'Temporary password lifetime (hours)', hint: ''},
  {key: 'invite_ttl_days', label: 'Invitation lifetime (days)', hint: ''},
  {key: 'token_ttl_seconds', label: 'Access token lifetime (seconds)', hint: '60 to 86400'},
];

interface Retention {
  plan: string;
  retention_days: number;
  cutoff: string;
  legal_hold: boolean;
  oldest_event_time: string | null;
}

export function SettingsPage() {
  const {api, me} = useSession();
  const tenant = useLoad(() => api.call<Tenant>('GET', api.base), []);
  const retention = useLoad(() => api.get<Retention>('/audit/retention'), []);
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [plan, setPlan] = useState<{plan: string; days: string} | null>(null);
  const [saved, setSaved] = useState('');
  const action = useAction();
  const isRoot = me.type === 'root';
  const mayEdit = can(me, 'iam.settings', 'admin');

  if (tenant.error) return (<section><PageHeader title="Settings" /><ErrorBox error={tenant.error} /></section>);
  if (!tenant.data) return <Loading what="the settings" />;
  const t = tenant.data;
  const value = (k: string) => draft[k] ?? String(t.settings[k] ?? '');

  const save = (e: Event) => {
    e.preventDefault();
    action.run(async () => {
      const settings: Record<string, number | string> = {};
      for (const [k, v] of Object.entries(draft)) {
        if (k === 'mfa_required') {
          if (v !== (t.settings.mfa_required ?? 'none')) settings[k] = v;
          continue;
        }
        if (v.trim() === '' || !Number.isInteger(Number(v))) {
          throw new ApiError(0, 'Not a whole number', `${SETTINGS.find((x) => x.key === k)?.label ?? k}: "${v}"`);
        }
        if (Number(v) !== t.settings[k]) settings[k] = Number(v);
      }
      const body: Record<string, unknown> = {};
      if (Object.keys(settings).length) body.settings = settings;
      if (isRoot && plan) {
        body.plan = plan.plan;
        if (plan.days) body.retention_days = Number(plan.days);
      }
      if (Object.keys(body).length === 0) {
        setSaved('Nothing changed.');
        return;
      }
      await api.call('PATCH', api.base, body);
      setDraft({});
      setPlan(null);
      setSaved('Settings saved.');
      tenant.reload();
      retention.reload();
    });
  };

  return (
    <section>
      <PageHeader title="Settings" />
      {saved && !action.error && <Notice>{saved}</Notice>}
      <form onSubmit={save}>
        <div class="cards">
          <div class="card">
            <h2>Tenant</h2>
            <dl class="props">
              <dt>Name</dt><dd>{t.name}</dd>
              <dt>Tenant id</dt><dd><code>{t.id}</code></dd>
              <dt>Seats</dt><dd>{t.seats_used ?? '—'}{t.seat_limit ? ` of ${t.seat_limit}` : ' (no limit)'}</dd>
            </dl>
            <h2>Plan and retention</h2>
            {isRoot ? (
              <div class="grid2">
                <SelectField label="Plan" value={plan?.plan ?? t.plan} onValue={(v) => setPlan({plan: v, days: plan?.days ?? ''})}
                             options={['free', 'pro', 'enterprise'].map((p) => ({value: p, label: p}))} />
                <TextField label="Retention days" type="number" value={plan?.days ?? String(t.retention_days)}
                           onValue={(v) => setPlan({plan: plan?.plan ?? t.plan, days: v})} />
              </div>
            ) : (
              <dl class="props">
                <dt>Plan</dt><dd>{t.plan}</dd>
                <dt>Retention</dt><dd>{t.retention_days} days <span class="muted">(only the operator changes the plan and retention)</span></dd>
              </dl>
            )}
            {retention.data && (
              <dl class="props">
                <dt>Events kept since</dt><dd>{retention.data.cutoff}</dd>
                <dt>Oldest event</dt><dd>{retention.data.oldest_event_time ?? '—'}</dd>
                <dt>Legal hold</dt><dd>{t.legal_hold ? `on: ${t.legal_hold_reason}` : 'off'}</dd>
              </dl>
            )}
            <ErrorBox error={retention.error} />
          </div>
          <div class="card">
            <h2>Security settings</h2>
            <SelectField label="Two-factor authentication required for" value={draft.mfa_required ?? String(t.settings.mfa_required ?? 'none')}
                         onValue={(v) => mayEdit && setDraft({...draft, mfa_required: v})}
                         options={[{value: 'none', label: 'Nobody (optional)'}, {value: 'admins', label: 'Admins'},
                                   {value: 'all', label: 'Everyone'}]} />
            {SETTINGS.map((s) => (
              <TextField key={s.key} label={s.label} type="number" value={value(s.key)} hint={s.hint}
                         readOnly={!mayEdit} onValue={(v) => setDraft({...draft, [s.key]: v})} />
            ))}
            {!mayEdit && <p class="muted">Read-only: changing settings needs admin on iam.settings.</p>}
          </div>
        </div>
        <ErrorBox error={action.error} />
        {(mayEdit || isRoot) && (
          <div class="form-actions">
            <button type="submit" class="primary" disabled={action.busy}>Save settings</button>
          </div>
        )}
      </form>
    </section>
  );
}
