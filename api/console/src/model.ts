// What the API answers, as far as the console reads it (api/openapi.yaml has all of it).

export type Level = 'none' | 'view' | 'operate' | 'edit' | 'manage' | 'admin';
export const LEVELS: Level[] = ['none', 'view', 'operate', 'edit', 'manage', 'admin'];

export interface Permission {
  app: string;
  resource_type: string;
  resource: string;
  level: Level;
}

export interface Grant {
  binding_id: string;
  via_group: string | null;
  via_group_name?: string | null;
  role_id: string;
  role_name?: string | null;
  scope: string;
  permission: Permission;
}

export interface Me {
  type: 'root' | 'user' | 'api_client';
  id: string;
  principal: {kind?: string; email?: string; first_name?: string; last_name?: string; name?: string;
              mfa?: {method: string; enrolled_at: string; recovery_codes_left: number} | null};
  grants: Grant[];
}

export interface Subject {
  type: 'user' | 'group' | 'api_client';
  id: string;
  name?: string;
}

export interface Binding {
  id: string;
  subject: Subject;
  role_id: string;
  scope: string;
  system?: boolean;
}

export interface User {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  department?: string;
  phone?: string;
  kind: 'user' | 'admin';
  status: string;
  tags?: Record<string, string>;
  must_change_password?: boolean;
  mfa?: {method: string; enrolled_at: string; recovery_codes_left: number} | null;
  last_active_at: string | null;
  roles_count?: number;
  groups_count?: number;
  bindings?: Binding[];
  groups?: {id: string; name: string}[];
  created_at: string;
  version: number;
  temporary_password?: string | null;
  credential_delivery?: string;
}

export interface Role {
  id: string;
  name: string;
  description?: string;
  permissions: Permission[];
  includes: string[];
  status: 'active' | 'inactive';
  built_in: boolean;
  users_count?: number;
  permissions_count?: number;
  holders?: {users: {id: string; name: string; email: string}[]; api_clients: {id: string; name: string}[]};
  version: number;
}

export interface Group {
  id: string;
  name: string;
  description?: string;
  type: 'system' | 'configured' | 'app';
  scope?: string;
  members_count?: number;
  members?: Subject[];
  bindings?: Binding[];
  version: number;
}

export interface ApiClient {
  id: string;
  client_id: string;
  name: string;
  description?: string;
  status: 'active' | 'inactive';
  secrets?: {key_id: string; created_at: string; last_used_at: string | null}[];
  bindings?: Binding[];
  last_used_at?: string | null;
  created_at: string;
  client_secret?: string | null;
  credential_delivery?: string;
  version: number;
}

export interface Invitation {
  id: string;
  email: string;
  status: 'pending' | 'accepted' | 'expired' | 'revoked';
  expires_at: string;
  group_ids?: string[];
  bindings?: {role_id: string; scope?: string}[];
  sends?: number;
  created_at: string;
  token?: string | null;
  credential_delivery?: string;
  version: number;
}

export interface AuditParty {
  type: string;
  id: string;
  name?: string;
}

export interface AuditEvent {
  id: string;
  seq: number;
  tenant_seq: number;
  time: string;
  type: string;
  actor: AuditParty;
  target?: AuditParty;
  request_id?: string;
  data: Record<string, unknown>;
  changes?: Record<string, {from?: unknown; to?: unknown}>;
  hash: string;
  prev_hash: string;
}

export interface Tenant {
  id: string;
  name: string;
  plan: string;
  retention_days: number;
  seat_limit?: number | null;
  seats_used?: number;
  settings: Record<string, number> & {mfa_required?: string};
  legal_hold?: boolean;
  legal_hold_reason?: string;
  version: number;
}

// IAM types (ACCESS.md): the console hides what the caller's grants do not allow.
export type IamType =
  | 'iam.user'
  | 'iam.group'
  | 'iam.role'
  | 'iam.api_client'
  | 'iam.invitation'
  | 'iam.binding'
  | 'iam.audit'
  | 'iam.settings';

// The caller's level on an IAM type at the tenant root, from …/me: root and admin-kind users
// may do everything; otherwise the most permissive of its grants bound at the root whose
// permission covers the type (`iam.*` does, `*` does not).
export function levelOn(me: Me, type: IamType): number {
  if (me.type === 'root' || (me.type === 'user' && me.principal.kind === 'admin')) {
    return LEVELS.indexOf('admin');
  }
  let best = 0;
  for (const g of me.grants) {
    const p = g.permission;
    if (g.scope !== 'root') continue;
    if (p.app !== '*' && p.app !== 'iam') continue;
    if (p.resource_type !== type && p.resource_type !== 'iam.*') continue;
    if (p.resource !== '*' && p.resource !== 'root') continue;
    best = Math.max(best, LEVELS.indexOf(p.level));
  }
  return best;
}

export function can(me: Me, type: IamType, level: Level): boolean {
  return levelOn(me, type) >= LEVELS.indexOf(level);
}

export function fullName(u: {first_name?: string; last_name?: string}): string {
  return [u.first_name, u.last_name].filter(Boolean).join(' ');
}

// "2026-11-24 12:00" in the browser's zone, with the UTC time in the title.
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
