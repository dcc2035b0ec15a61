// Sign-in (a user's email and password, an API client's id and secret, or the tenant's single
// sign-on) and the forced password change after a temporary password.
import {useEffect, useState} from 'preact/hooks';
import {Api, ApiError, completeMfa, loginClient, loginUser, ssoProviders, takeSsoReturn, tokenClaims,
        type LoginAnswer, type SsoProvider} from '../api';
import type {Me} from '../model';
import {ErrorBox, TextField, useAction} from '../ui';

const kSsoTenant = 'custos.sso.tenant';

export interface SignedIn {
  mustChange: boolean;
  mustEnrollMfa: boolean;
}

export function SignIn({onSignedIn}: {onSignedIn: (api: Api, me: Me, flags: SignedIn) => void}) {
  const [mode, setMode] = useState<'user' | 'client'>('user');
  const [tenant, setTenant] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [clientId, setClientId] = useState('');
  const [secret, setSecret] = useState('');
  const [mfaToken, setMfaToken] = useState<string | null>(null);
  const [sso, setSso] = useState<SsoProvider | null>(null);
  const {busy, error, run} = useAction();

  // Back from the identity provider: the outcome is in the address's fragment; the tenant was
  // kept for this tab when the sign-in left.
  useEffect(() => {
    const back = takeSsoReturn();
    if (!back) return;
    const t = sessionStorage.getItem(kSsoTenant) ?? '';
    sessionStorage.removeItem(kSsoTenant);
    setTenant(t);
    run(async () => {
      if (back.error || !back.answer) throw new ApiError(0, 'Single sign-on failed', back.error ?? 'refused');
      if (back.answer.mfa_required && back.answer.mfa_token) {
        setMfaToken(back.answer.mfa_token);
        return;
      }
      await finish(t, back.answer);
    });
  }, []);

  // Whether the tenant typed offers single sign-on.
  useEffect(() => {
    const t = tenant.trim();
    setSso(null);
    if (!/^[a-z0-9][a-z0-9-]{1,62}$/.test(t)) return;
    let live = true;
    const timer = setTimeout(() => {
      ssoProviders(t).then((list) => { if (live) setSso(list[0] ?? null); });
    }, 300);
    return () => { live = false; clearTimeout(timer); };
  }, [tenant]);

  const startSso = () => {
    if (!sso) return;
    sessionStorage.setItem(kSsoTenant, tenant.trim());
    location.assign(`${sso.start_url}?redirect_uri=${encodeURIComponent(location.origin + '/console/')}`);
  };

  const finish = async (t: string, answer: LoginAnswer) => {
    if (!answer.access_token) throw new ApiError(0, 'No token', 'the server answered no access token');
    const api = new Api(t, answer.access_token);
    const me = await api.get<Me>('/me');
    setPassword('');
    setSecret('');
    onSignedIn(api, me, {mustChange: Boolean(answer.must_change_password),
                         mustEnrollMfa: Boolean(answer.mfa_enrollment_required)});
  };

  if (mfaToken) {
    return <SecondStep tenant={tenant.trim()} mfaToken={mfaToken}
                       onDone={(answer) => finish(tenant.trim(), answer)} onCancel={() => setMfaToken(null)} />;
  }

  const submit = (e: Event) => {
    e.preventDefault();
    run(async () => {
      const t = tenant.trim();
      const answer = mode === 'user' ? await loginUser(t, email.trim(), password) : await loginClient(clientId.trim(), secret);
      if (answer.mfa_required && answer.mfa_token) {
        setPassword('');
        setMfaToken(answer.mfa_token);
        return;
      }
      // An API client's token names its tenant (the root client's names none).
      const claimed = mode === 'client' ? tokenClaims(answer.access_token ?? '').tenant : undefined;
      if (typeof claimed === 'string' && claimed !== t) {
        throw new ApiError(0, 'Another tenant', `this API client belongs to the tenant ${claimed}`);
      }
      await finish(t, answer);
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
        {mode === 'user' && sso && (
          <button type="button" class="sso" onClick={startSso} title={sso.issuer}>
            Sign in with single sign-on
          </button>
        )}
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
      if (!answer.access_token) {
        // A second factor: the new password works; sign in again with it and a code.
        props.onCancel();
        return;
      }
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

// The second step of a login: a 6-digit code from the authenticator, or a recovery code. The
// MFA token is used up by any attempt: a wrong code means signing in again.
function SecondStep(props: {tenant: string; mfaToken: string; onDone: (a: LoginAnswer) => Promise<void>;
                            onCancel: () => void}) {
  const [useRecovery, setUseRecovery] = useState(false);
  const [code, setCode] = useState('');
  const {busy, error, run} = useAction();
  return (
    <div class="signin">
      <form class="card" aria-labelledby="mfa-title" onSubmit={(e) => {
        e.preventDefault();
        run(async () => {
          const answer = await completeMfa(props.tenant, props.mfaToken,
                                           useRecovery ? {recovery_code: code.trim()} : {code: code.trim()});
          await props.onDone(answer);
        });
      }}>
        <div class="brand-large">Custos</div>
        <h1 id="mfa-title">Two-factor authentication</h1>
        {useRecovery ? (
          <TextField label="Recovery code" value={code} onValue={setCode} required autoComplete="off" />
        ) : (
          <TextField label="Authentication code" value={code} onValue={setCode} required inputMode="numeric"
                     pattern="[0-9]{6}" autoComplete="one-time-code" hint="The 6-digit code your authenticator app shows" />
        )}
        <ErrorBox error={error} />
        {error && <p class="muted">Each attempt uses up this sign-in: start again to retry.</p>}
        <button type="submit" class="primary" disabled={busy || Boolean(error)}>Verify</button>
        <button type="button" class="link" onClick={() => { setCode(''); setUseRecovery(!useRecovery); }}>
          {useRecovery ? 'Use the authenticator app' : 'Use a recovery code'}
        </button>
        <button type="button" class="link" onClick={props.onCancel}>Start again</button>
      </form>
    </div>
  );
}
