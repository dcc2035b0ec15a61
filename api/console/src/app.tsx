// The shell: sign-in, then the navigation and the page the address names.
import type {ComponentChildren} from 'preact';
import {useEffect, useState} from 'preact/hooks';
import {Api} from './api';
import {can, fullName, type IamType, type Me} from './model';
import {onLink, useRoute} from './router';
import {SessionContext, type Session} from './session';
import {ErrorBox} from './ui';
import {SignIn, ChangePassword} from './pages/signin';
import {UsersPage} from './pages/users';
import {RolesPage} from './pages/roles';
import {GroupsPage} from './pages/groups';
import {ClientsPage} from './pages/clients';
import {InvitationsPage} from './pages/invitations';
import {AccessPage} from './pages/access';
import {AuditPage} from './pages/audit';
import {SettingsPage} from './pages/settings';
import {SecurityPage} from './pages/security';
import {ApiError} from './api';

interface NavItem {
  page: string;
  label: string;
  // The grant that makes the page useful; the page is not offered without it.
  needs: IamType;
  render: (id: string | null) => ComponentChildren;
}

// The signed-in user's own page (top bar, not the main navigation): its second factor.
const SECURITY: NavItem = {page: 'security', label: 'Security', needs: 'iam.user', render: () => <SecurityPage />};

export const NAV: NavItem[] = [
  {page: 'users', label: 'Users', needs: 'iam.user', render: (id) => <UsersPage id={id} />},
  {page: 'roles', label: 'Roles', needs: 'iam.role', render: (id) => <RolesPage id={id} />},
  {page: 'groups', label: 'Groups', needs: 'iam.group', render: (id) => <GroupsPage id={id} />},
  {page: 'api-clients', label: 'API clients', needs: 'iam.api_client', render: (id) => <ClientsPage id={id} />},
  {page: 'invitations', label: 'Invitations', needs: 'iam.invitation', render: () => <InvitationsPage />},
  {page: 'access', label: 'Access', needs: 'iam.binding', render: () => <AccessPage />},
  {page: 'audit', label: 'Audit trail', needs: 'iam.audit', render: (id) => <AuditPage id={id} />},
  {page: 'settings', label: 'Settings', needs: 'iam.settings', render: () => <SettingsPage />},
];

interface Signed {
  api: Api;
  me: Me;
  mustChange: boolean;
  // The tenant requires a second factor this user has not enrolled: only Security answers.
  mustEnrollMfa: boolean;
}

export function App() {
  const [signed, setSigned] = useState<Signed | null>(null);
  const route = useRoute();

  if (!signed) {
    return <SignIn onSignedIn={(api, me, f) => setSigned({api, me, ...f})} />;
  }
  const signOut = () => {
    signed.api.post('/auth/logout').catch(() => undefined);
    setSigned(null);
  };
  if (signed.mustChange) {
    return (
      <ChangePassword
        api={signed.api}
        onChanged={(api, me) => setSigned({...signed, api, me, mustChange: false})}
        onCancel={() => setSigned(null)}
      />
    );
  }
  const session: Session = {
    api: signed.api,
    me: signed.me,
    signOut,
    refresh: async () => {
      const me = await signed.api.get<Me>('/me');
      setSigned({...signed, me, mustEnrollMfa: signed.mustEnrollMfa && !me.principal.mfa});
    },
  };
  const offered = signed.mustEnrollMfa ? [] : NAV.filter((n) => can(signed.me, n.needs, 'view'));
  const current = signed.mustEnrollMfa || route.page === 'security' ? SECURITY : NAV.find((n) => n.page === route.page);
  return (
    <SessionContext.Provider value={session}>
      <Shell offered={offered} current={route.page} me={signed.me} tenant={signed.api.tenant} onSignOut={signOut}>
        {signed.mustEnrollMfa && (
          <div class="problem" role="alert">
            Your organization requires two-factor authentication: set it up to continue.
          </div>
        )}
        {current ? (
          <Page key={`${route.page}/${route.id ?? ''}`} item={current} id={route.id} />
        ) : (
          <ErrorBox error={new ApiError(404, 'Not Found', `no page ${route.page}`)} />
        )}
      </Shell>
    </SessionContext.Provider>
  );
}

function Page({item, id}: {item: NavItem; id: string | null}) {
  useEffect(() => {
    document.title = `${item.label} · Custos`;
  }, [item]);
  return <>{item.render(id)}</>;
}

function Shell(props: {
  offered: NavItem[];
  current: string;
  me: Me;
  tenant: string;
  onSignOut: () => void;
  children: ComponentChildren;
}) {
  const [open, setOpen] = useState(false);
  const who =
    props.me.type === 'root'
      ? 'root client'
      : props.me.type === 'user'
        ? fullName(props.me.principal) || props.me.principal.email || props.me.id
        : props.me.principal.name || props.me.id;
  return (
    <div class="shell" onClick={onLink}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <button type="button" class="menu" aria-expanded={open} aria-controls="nav" onClick={() => setOpen(!open)}>
          Menu
        </button>
        <span class="brand">Custos</span>
        <span class="tenant" title="Tenant">
          {props.tenant}
        </span>
        <span class="who">{who}</span>
        {props.me.type === 'user' && (
          <a class="top-link" href="/console/security" aria-current={props.current === 'security' ? 'page' : undefined}>
            Security
          </a>
        )}
        <button type="button" class="link" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <nav id="nav" class={open ? 'sidebar open' : 'sidebar'} aria-label="Main" onClick={() => setOpen(false)}>
        <ul>
          {props.offered.map((n) => (
            <li key={n.page}>
              <a href={`/console/${n.page}`} aria-current={n.page === props.current ? 'page' : undefined}>
                {n.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {props.children}
      </main>
    </div>
  );
}
