// Sign-in (a user's email and password, or an API client's id and secret) and the forced
// password change after a temporary password.
import {useState} from 'preact/hooks';
import {Api, ApiError, loginClient, loginUser, tokenClaims} from '../api';
import type {Me} from '../model';
import {ErrorBox, TextField, useAction} from '../ui';

export function SignIn({onSignedIn}: {onSignedIn: (api: Api, me: Me, mustChange: boolean) => void}) {
  const [mode, setMode] = useState<'user' | 'client'>('user');
  const [tenant, setTenant] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [clientId, setClientId] = useState('');
  const [secret, setSecret] = useState('');
  const {busy, error, run} = useAction();

  const submit = (e: Event) => {
    e.preventDefault();
    run(async () => {
      const t = tenant.trim();
      const answer = mode === 'user' ? await loginUser(t, email.trim(), password) : await loginClient(clientId.trim(), secret);
      // An API client's token names its tenant (the root client's names none).
      const claimed = mode === 'client' ? tokenClaims(answer.access_token).tenant : undefined;
      if (typeof claimed === 'string' && claimed !== t) {
        throw new ApiError(0, 'Another tenant', `this API client belongs to the tenant ${claimed}`);
      }
      const api = new Api(t, answer.access_token);
      const me = await api.get<Me>('/me');
      setPassword('');
      setSecret('');
      onSignedIn(api, me, Boolean(answer.must_change_password));
    });
  };

  return (
    <div class="signin">
      <form class="card" onSubmit={submit} aria-labelledby="signin-title">
        <div class="brand-large">Custos</div>
        <h1 id="signin-title">{mode === 'user' ? 'Sign in' : 'Sign in with an API client'}</h1>
        <TextField label="Tenant" value={tenant} onValue={setTenant} required autoComplete="organization"
                   pattern="[a-z0-9][a-z0-9\-]{1,62}" hint="Your organization's tenant id, e.g. acme" />
        {mode === 'user' ? (
          <>
            <TextField label="Email" type="email" value={email} onValue={setEmail} required autoComplete="username" />
            <TextField label="Password" type="password" value={password} onValue={setPassword} required
                       autoComplete="current-password" />
          </>
        ) : (
          <>
            <TextField label="Client ID" value={clientId} onValue={setClientId} required autoComplete="off" />
            <TextField label="Client secret" type="password" value={secret} onValue={setSecret} required
                       autoComplete="off" />
          </>
        )}
        <ErrorBox error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <button type="button" class="link" onClick={() => setMode(mode === 'user' ? 'client' : 'user')}>
          {mode === 'user' ? 'Sign in with an API client' : 'Sign in with email and password'}
        </button>
      </form>
    </div>
  );
}

export function ChangePassword(props: {api: Api; onChanged: (api: Api, me: Me) => void; onCancel: () => void}) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const {busy, error, run, setError} = useAction();

  const submit = (e: Event) => {
    e.preventDefault();
    if (next !== again) {
      setError(new ApiError(0, 'The new passwords differ', 'type the same new password twice'));
      return;
    }
    run(async () => {
      const me = await props.api.get<Me>('/me');
      await props.api.post('/auth/password', {current_password: current, new_password: next});
      // A password change ends every session of the user, this one included: sign in again.
      const answer = await loginUser(props.api.tenant, me.principal.email ?? '', next);
      const api = new Api(props.api.tenant, answer.access_token);
      props.onChanged(api, await api.get<Me>('/me'));
    });
  };

  return (
    <div class="signin">
      <form class="card" onSubmit={submit} aria-labelledby="change-title">
        <div class="brand-large">Custos</div>
        <h1 id="change-title">Choose a new password</h1>
        <p class="muted">You signed in with a temporary password. Choose your own to continue.</p>
        <TextField label="Current password" type="password" value={current} onValue={setCurrent} required
                   autoComplete="current-password" />
        <TextField label="New password" type="password" value={next} onValue={setNext} required minLength={8}
                   autoComplete="new-password" />
        <TextField label="Confirm new password" type="password" value={again} onValue={setAgain} required
                   autoComplete="new-password" />
        <ErrorBox error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Changing…' : 'Change password'}
        </button>
        <button type="button" class="link"
                onClick={() => { props.api.post('/auth/logout').catch(() => undefined); props.onCancel(); }}>
          Cancel and sign out
        </button>
      </form>
    </div>
  );
}
