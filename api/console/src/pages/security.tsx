// Security: the signed-in user's second factor (TOTP): set it up with an authenticator app,
// see the recovery codes once, turn it off with a current code.
import {useState} from 'preact/hooks';
import type {Me, User} from '../model';
import {shortTime} from '../model';
import {useSession} from '../session';
import {ErrorBox, Loading, Notice, PageHeader, TextField, useAction, useLoad} from '../ui';

interface Enrolment {
  secret: string;
  otpauth_uri: string;
  expires_in: number;
}

export function SecurityPage() {
  const {api, me, refresh} = useSession();
  const current = useLoad(() => api.get<Me>('/me'), []);
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState<string[] | null>(null);
  const [done, setDone] = useState('');
  const action = useAction();

  if (me.type !== 'user') {
    return (
      <section>
        <PageHeader title="Security" />
        <p>Second factors are for users. API clients authenticate with their secrets.</p>
      </section>
    );
  }
  if (current.error) return (<section><PageHeader title="Security" /><ErrorBox error={current.error} /></section>);
  if (!current.data) return <Loading what="your security settings" />;
  const mfa = (current.data.principal as unknown as User).mfa;

  const start = () => action.run(async () => {
    setDone('');
    setRecovery(null);
    setEnrolment(await api.post<Enrolment>('/me/mfa/totp'));
  });
  const confirm = (e: Event) => {
    e.preventDefault();
    action.run(async () => {
      const answer = await api.post<{recovery_codes: string[]}>('/me/mfa/totp:confirm', {code: code.trim()});
      setRecovery(answer.recovery_codes);
      setEnrolment(null);
      setCode('');
      setDone('Two-factor authentication is on.');
      current.reload();
      await refresh();
    });
  };
  const remove = (e: Event) => {
    e.preventDefault();
    action.run(async () => {
      const body = /^[0-9]{6}$/.test(code.trim()) ? {code: code.trim()} : {recovery_code: code.trim()};
      await api.post('/me/mfa/totp:remove', body);
      setCode('');
      setRecovery(null);
      setDone('Two-factor authentication is off.');
      current.reload();
    });
  };

  return (
    <section>
      <PageHeader title="Security" />
      {done && !action.error && <Notice>{done}</Notice>}
      <ErrorBox error={action.error} />
      {recovery && (
        <div class="secret" role="group" aria-label="Recovery codes">
          <p><strong>Recovery codes</strong> — shown once. Each signs you in once if you lose your phone; keep them somewhere safe.</p>
          <ul class="codes">
            {recovery.map((c) => <li key={c}><code>{c}</code></li>)}
          </ul>
        </div>
      )}
      <div class="card">
        <h2>Two-factor authentication</h2>
        {mfa ? (
          <>
            <p>
              <span class="badge badge-active">on</span> An authenticator app (TOTP) since {shortTime(mfa.enrolled_at)};{' '}
              {mfa.recovery_codes_left} recovery codes left.
            </p>
            <form class="inline-form" aria-label="Turn off two-factor authentication" onSubmit={remove}>
              <TextField label="Current code or a recovery code" value={code} onValue={setCode} required autoComplete="one-time-code" />
              <button type="submit" class="danger" disabled={action.busy}>Turn off</button>
            </form>
          </>
        ) : enrolment ? (
          <form onSubmit={confirm} aria-label="Confirm two-factor authentication">
            <p>Add this key to your authenticator app (Google Authenticator, 1Password, FreeOTP, …), then type the code it shows.</p>
            <dl class="props">
              <dt>Key</dt><dd><code data-totp-secret>{enrolment.secret.replace(/(.{4})/g, '$1 ').trim()}</code></dd>
              <dt>Or the link</dt><dd><code class="hash">{enrolment.otpauth_uri}</code></dd>
            </dl>
            <TextField label="Code from the app" value={code} onValue={setCode} required inputMode="numeric"
                       pattern="[0-9]{6}" autoComplete="one-time-code" />
            <div class="form-actions">
              <button type="button" onClick={() => setEnrolment(null)}>Cancel</button>
              <button type="submit" class="primary" disabled={action.busy}>Turn on</button>
            </div>
          </form>
        ) : (
          <>
            <p><span class="badge badge-inactive">off</span> Sign-ins ask for your password alone.</p>
            <button type="button" class="primary" onClick={start} disabled={action.busy}>Set up two-factor authentication</button>
          </>
        )}
      </div>
    </section>
  );
}
