// The console's only way to the server: the public HTTP API (../shared/spec/API.md) with the
// signed-in principal's bearer token, kept in memory only (no cookie, no storage).

export interface FieldProblem {
  field: string;
  message: string;
}

// A problem+json answer (or a failure to reach the server), as the pages show it.
export class ApiError extends Error {
  constructor(
    public status: number,
    public title: string,
    public detail: string,
    public errors: FieldProblem[] = [],
  ) {
    super(detail || title);
  }
  // "403 Forbidden: caller lacks view on iam.audit"
  describe(): string {
    const head = this.status ? `${this.status} ${this.title}` : this.title;
    return this.detail && this.detail !== this.title ? `${head}: ${this.detail}` : head;
  }
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export type Query = Record<string, string | number | undefined | null>;

async function problemOf(res: Response): Promise<ApiError> {
  let title = res.statusText || 'Error';
  let detail = '';
  let errors: FieldProblem[] = [];
  try {
    const body = await res.json();
    if (body && typeof body === 'object') {
      title = body.title ?? title;
      detail = body.detail ?? body.error_description ?? body.error ?? '';
      errors = Array.isArray(body.errors) ? body.errors : [];
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, title, detail, errors);
}

export function queryString(q: Query | undefined): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

export class Api {
  constructor(
    public readonly tenant: string,
    private token: string,
  ) {}

  // The tenant's route prefix: /v1/tenants/{tenant}
  get base(): string {
    return `/v1/tenants/${encodeURIComponent(this.tenant)}`;
  }

  private headers(extra?: Record<string, string>): Record<string, string> {
    return {Authorization: `Bearer ${this.token}`, Accept: 'application/json', ...extra};
  }

  async raw(method: string, path: string, init: {body?: BodyInit; type?: string; query?: Query} = {}) {
    let res: Response;
    try {
      res = await fetch(path + queryString(init.query), {
        method,
        headers: this.headers(init.type ? {'Content-Type': init.type} : undefined),
        body: init.body ?? null,
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (e) {
      throw new ApiError(0, 'The server cannot be reached', String(e));
    }
    if (!res.ok) throw await problemOf(res);
    return res;
  }

  async call<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const res = await this.raw(method, path, {
      body: body === undefined ? undefined : JSON.stringify(body),
      type: body === undefined ? undefined : 'application/json',
      query,
    });
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.call<T>('GET', this.base + path, undefined, query);
  }
  post<T>(path: string, body: unknown = {}, query?: Query): Promise<T> {
    return this.call<T>('POST', this.base + path, body, query);
  }
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PATCH', this.base + path, body);
  }
  put<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PUT', this.base + path, body);
  }
  del(path: string): Promise<void> {
    return this.call<void>('DELETE', this.base + path);
  }

  // Every page of a list (for pickers: roles, groups), at most `max` items.
  async all<T>(path: string, query: Query = {}, max = 5000): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<T> = await this.get<Page<T>>(path, {...query, limit: 1000, cursor});
      out.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && out.length < max);
    return out;
  }

  // An upload with its progress (XMLHttpRequest: fetch reports none for request bodies);
  // `onProgress(sent, total)` while the body goes, then (total, total) while the server works.
  upload<T>(path: string, body: Blob | string, type: string, query: Query,
            onProgress: (sent: number, total: number) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', this.base + path + queryString(query));
      xhr.setRequestHeader('Authorization', `Bearer ${this.token}`);
      xhr.setRequestHeader('Content-Type', type);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.total);
      xhr.onerror = () => reject(new ApiError(0, 'The server cannot be reached', 'upload failed'));
      xhr.onload = () => {
        let parsed: any = null;
        try {
          parsed = JSON.parse(xhr.responseText);
        } catch {
          parsed = null;
        }
        if (xhr.status >= 200 && xhr.status < 300) return resolve(parsed as T);
        reject(new ApiError(xhr.status, parsed?.title ?? xhr.statusText, parsed?.detail ?? '',
                            Array.isArray(parsed?.errors) ? parsed.errors : []));
      };
      xhr.send(body);
    });
  }

  // A streamed download (exports): reads the body as it arrives, reporting the bytes so far,
  // and returns it whole for the browser to save.
  async download(path: string, query: Query, onProgress: (bytes: number) => void): Promise<Blob> {
    const res = await this.raw('GET', this.base + path, {query});
    const type = res.headers.get('Content-Type') ?? 'application/octet-stream';
    if (!res.body) return new Blob([await res.arrayBuffer()], {type});
    const reader = res.body.getReader();
    const parts: Uint8Array[] = [];
    let bytes = 0;
    for (;;) {
      const {done, value} = await reader.read();
      if (done) break;
      parts.push(value);
      bytes += value.length;
      onProgress(bytes);
    }
    return new Blob(parts as BlobPart[], {type});
  }
}

// Sign-in: a user's email and password, or an API client's id and secret.
export interface LoginAnswer {
  access_token?: string;
  expires_in: number;
  must_change_password?: boolean;
  mfa_enrollment_required?: boolean;
  // A second factor: no token yet; POST …/auth/mfa with this token and a code.
  mfa_required?: boolean;
  mfa_token?: string;
}

export async function loginUser(tenant: string, email: string, password: string): Promise<LoginAnswer> {
  let res: Response;
  try {
    res = await fetch(`/v1/tenants/${encodeURIComponent(tenant)}/auth/login`, {
      method: 'POST',
      headers: {'Content-Type': 'application/json', Accept: 'application/json'},
      body: JSON.stringify({email, password}),
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, 'The server cannot be reached', String(e));
  }
  if (!res.ok) throw await problemOf(res);
  return (await res.json()) as LoginAnswer;
}

// The tenant's single sign-on providers (public; none for an unknown tenant).
export interface SsoProvider {
  protocol: string;
  issuer: string;
  start_url: string;
}
export async function ssoProviders(tenant: string): Promise<SsoProvider[]> {
  try {
    const res = await fetch(`/v1/tenants/${encodeURIComponent(tenant)}/sso/providers`,
                            {headers: {Accept: 'application/json'}, credentials: 'omit'});
    if (!res.ok) return [];
    return ((await res.json()) as {providers: SsoProvider[]}).providers;
  } catch {
    return [];
  }
}

// What a single sign-on sent back in the address's fragment (and removes it from the address):
// a token, an MFA token, or an error; null when the address carries none.
export interface SsoReturn {
  answer?: LoginAnswer;
  error?: string;
}
export function takeSsoReturn(): SsoReturn | null {
  if (!location.hash || location.hash.length < 2) return null;
  const f = new URLSearchParams(location.hash.slice(1));
  if (!f.has('access_token') && !f.has('mfa_token') && !f.has('error')) return null;
  history.replaceState(null, '', location.pathname + location.search);
  if (f.has('error')) return {error: f.get('error_description') ?? f.get('error') ?? 'refused'};
  return {answer: {
    access_token: f.get('access_token') ?? undefined,
    expires_in: Number(f.get('expires_in') ?? 0),
    mfa_required: f.get('mfa_required') === 'true',
    mfa_token: f.get('mfa_token') ?? undefined,
    must_change_password: f.get('must_change_password') === 'true',
    mfa_enrollment_required: f.get('mfa_enrollment_required') === 'true',
  }};
}

// The second step of a login: a code from the authenticator, or a recovery code.
export async function completeMfa(tenant: string, mfaToken: string,
                                  code: {code?: string; recovery_code?: string}): Promise<LoginAnswer> {
  let res: Response;
  try {
    res = await fetch(`/v1/tenants/${encodeURIComponent(tenant)}/auth/mfa`, {
      method: 'POST',
      headers: {'Content-Type': 'application/json', Accept: 'application/json'},
      body: JSON.stringify({mfa_token: mfaToken, ...code}),
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, 'The server cannot be reached', String(e));
  }
  if (!res.ok) throw await problemOf(res);
  return (await res.json()) as LoginAnswer;
}

export async function loginClient(clientId: string, secret: string): Promise<LoginAnswer> {
  const form = new URLSearchParams({grant_type: 'client_credentials', client_id: clientId,
                                    client_secret: secret});
  let res: Response;
  try {
    res = await fetch('/oauth/token', {
      method: 'POST',
      headers: {'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json'},
      body: form.toString(),
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, 'The server cannot be reached', String(e));
  }
  if (!res.ok) throw await problemOf(res);
  return (await res.json()) as LoginAnswer;
}

// The claims of a JWT (no verification: the server verifies; the console only reads which
// tenant an API client's token is for).
export function tokenClaims(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(json) as Record<string, unknown>;
  } catch {
    return {};
  }
}
