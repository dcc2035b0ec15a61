// The console in a real browser (../shared/spec/CONSOLE.md): Debian's Chromium, headless,
// driven by playwright-core, against a real `custos serve` on 127.0.0.1 (port 0) over a fresh
// data dir. It walks the seeds' stories by role names and labels, writes a screenshot of each
// page under --shots, and fails on any CSP violation, page error or unexpected console error.
//
//   node console_test.mjs --custos build/custos --console build/console \
//        --modules build/console-npm/node_modules --shots build/console-shots
import {spawn} from 'node:child_process';
import {createHmac} from 'node:crypto';
import {mkdtempSync, mkdirSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import assert from 'node:assert/strict';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  if (i < 0 || i + 1 >= args.length) throw new Error(`${name} is required`);
  return resolve(args[i + 1]);
};
const custos = opt('--custos');
const consoleDir = opt('--console');
const modules = opt('--modules');
const shots = opt('--shots');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const CHROMIUM = process.env.CUSTOS_CHROMIUM ?? '/usr/bin/chromium';
const {chromium} = await import(pathToFileURL(join(modules, 'playwright-core', 'index.mjs')).href);

// ---- the server -------------------------------------------------------------------------
const dataDir = mkdtempSync(join(tmpdir(), 'custos-console-'));
const server = spawn(custos, ['serve', '--listen', '127.0.0.1:0', '--data-dir', join(dataDir, 'data'),
                              '--kafka', 'off', '--console-dir', consoleDir, '--access-log', 'off',
                              '--sso-private-networks'],
                     {stdio: ['ignore', 'pipe', 'pipe']});
let serverLog = '';
// Whatever happens (a failed setup included), the server and its data dir go with the test.
process.on('exit', () => {
  if (server.exitCode === null) server.kill('SIGKILL');
  rmSync(dataDir, {recursive: true, force: true});
});
const base = await new Promise((ok, fail) => {
  const timer = setTimeout(() => fail(new Error(`custos serve did not listen within 30 s:\n${serverLog}`)), 30_000);
  const onData = (chunk) => {
    serverLog += chunk;
    const m = /listening on (\S+)/.exec(serverLog);
    if (m) {
      clearTimeout(timer);
      ok(`http://${m[1]}`);
    }
  };
  server.stdout.on('data', onData);
  server.stderr.on('data', onData);
  server.on('exit', (code) => fail(new Error(`custos serve exited (${code}):\n${serverLog}`)));
});
const root = JSON.parse(readFileSync(join(dataDir, 'data', 'root-client.json'), 'utf8'));

async function http(method, path, {token, body, form} = {}) {
  const headers = {Accept: 'application/json'};
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(form).toString();
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(base + path, {method, headers, body: payload});
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { json = null; }
  return {status: res.status, json, text, headers: res.headers};
}
async function must(method, path, opts, status) {
  const r = await http(method, path, opts);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  return r.json;
}
const rootToken = (await must('POST', '/oauth/token', {form: {grant_type: 'client_credentials',
  client_id: root.client_id, client_secret: root.client_secret}}, 200)).access_token;
const T = '/v1/tenants/acme';
const asRoot = (method, path, body, status = 200) => must(method, path, {token: rootToken, body}, status);

// ---- the tenant the stories start from ---------------------------------------------------
await asRoot('POST', '/v1/tenants', {id: 'acme', name: 'Acme Corp', plan: 'pro'}, 201);
const ada = await asRoot('POST', `${T}/users`, {email: 'ada@acme.test', first_name: 'Ada', last_name: 'Lovelace',
  kind: 'admin', department: 'IT'}, 201);
const bob = await asRoot('POST', `${T}/users`, {email: 'bob@acme.test', first_name: 'Bob', last_name: 'Builder',
  department: 'Operations'}, 201);
const runner = await asRoot('POST', `${T}/roles`, {name: 'Workflow Runner', description: 'Runs the nightly workflows',
  permissions: [{resource_type: 'workflow', level: 'view'}]}, 201);
await asRoot('POST', `${T}/bindings`, {subject: {type: 'user', id: bob.id}, role_id: runner.id}, 201);
const envs = await asRoot('GET', `${T}/environments`);
const production = envs.items.find((e) => e.name === 'Production');
const project = await asRoot('POST', `${T}/projects`, {name: 'Payroll', environment_id: production.id}, 201);
const workflow = await asRoot('POST', `${T}/resources`, {type: 'workflow', name: 'Nightly sync', parent_id: project.id}, 201);
await asRoot('POST', `${T}/groups`, {name: 'Finance', description: 'Finance team'}, 201);
// An API client that calls itself "root", and acts (its token is recorded).
const impostor = await asRoot('POST', `${T}/api-clients`, {name: 'root'}, 201);
await must('POST', '/oauth/token', {form: {grant_type: 'client_credentials', client_id: impostor.client_id,
                                           client_secret: impostor.client_secret}}, 200);
// A reader of users only: no view on iam.audit.
const readers = await asRoot('POST', `${T}/roles`, {name: 'User Reader',
  permissions: [{resource_type: 'iam.user', level: 'view'}]}, 201);
const olivia = await asRoot('POST', `${T}/users`, {email: 'olivia@acme.test', first_name: 'Olivia', last_name: 'Observer',
  bindings: [{role_id: readers.id}]}, 201);
const OLIVIA_PASSWORD = 'olivia-reads-users-1';
{
  const login = await must('POST', `${T}/auth/login`, {body: {email: 'olivia@acme.test', password: olivia.temporary_password}}, 200);
  await must('POST', `${T}/auth/password`, {token: login.access_token,
    body: {current_password: olivia.temporary_password, new_password: OLIVIA_PASSWORD}}, 200);
}

// RFC 6238 (SHA-1, 6 digits, 30 s) as an authenticator app computes it.
function totp(base32, unixSeconds = Date.now() / 1000) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/[\s=]/g, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, '0');
}

// ---- the browser --------------------------------------------------------------------------
mkdirSync(shots, {recursive: true});
const browser = await chromium.launch({executablePath: CHROMIUM, headless: true,
                                       args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
const failures = [];

// A page whose every CSP violation, uncaught error and console error is a failure, except
// the console errors a test names as expected (a 403 the console shows on purpose).
async function newPage(viewport = {width: 1280, height: 800}, allowed = []) {
  const context = await browser.newContext({viewport, acceptDownloads: true});
  const page = await context.newPage();
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    if (allowed.some((a) => text.includes(a))) return;
    failures.push(`console error: ${text}`);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return {context, page};
}

async function shot(page, name) {
  await page.screenshot({path: join(shots, `${name}.png`), fullPage: true});
}

async function signIn(page, email, password) {
  await page.getByLabel('Tenant').fill('acme');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', {exact: true}).fill(password);
  await page.getByRole('button', {name: 'Sign in', exact: true}).click();
}

// Waits until the table's row links are exactly `names` (in any order).
async function rowsAre(table, names, deadlineMs = 15_000) {
  const until = Date.now() + deadlineMs;
  let seen = [];
  while (Date.now() < until) {
    seen = (await table.locator('tbody tr td:first-child a').allTextContents()).sort();
    if (JSON.stringify(seen) === JSON.stringify([...names].sort())) return;
    await new Promise((r) => setTimeout(r, 50));  // the polling interval, under the deadline
  }
  throw new Error(`rows are ${JSON.stringify(seen)}, expected ${JSON.stringify(names)}`);
}

// Waits until the table has rows and every cell of column `n` passes `ok` (a filter applied).
async function columnAll(table, n, ok, what, deadlineMs = 15_000) {
  const until = Date.now() + deadlineMs;
  let seen = [];
  while (Date.now() < until) {
    seen = await table.locator(`tbody td:nth-child(${n})`).allTextContents();
    if (seen.length > 0 && seen.every(ok)) return seen;
    await new Promise((r) => setTimeout(r, 50));  // the polling interval, under the deadline
  }
  throw new Error(`${what}: ${JSON.stringify(seen)}`);
}

const nav = (page) => page.getByRole('navigation', {name: 'Main'});
const main = (page) => page.getByRole('main');

async function step(name, fn) {
  if (only && !name.includes(only)) return;
  const started = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures.push(`${name}: ${e.stack ?? e}`);
    await shot(page, `failed-${name.replace(/\W+/g, '-').slice(0, 40)}`).catch(() => undefined);
    console.log(`FAIL ${name}`);
  }
}

const {page} = await newPage();
page.setDefaultTimeout(15_000);
const ADA_PASSWORD = 'ada-chose-this-one-1';

await step('served with its security headers', async () => {
  const res = await page.goto(`${base}/console/`);
  const h = res.headers();
  assert.match(h['content-security-policy'], /script-src 'self'/);
  assert.doesNotMatch(h['content-security-policy'], /unsafe-inline/);
  assert.equal(h['x-content-type-options'], 'nosniff');
  assert.equal(h['referrer-policy'], 'no-referrer');
  const html = await res.text();
  assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]/, 'no inline script in index.html');
  const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)[1];
  const js = await http('GET', asset);
  assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
});

await step('sign in with a temporary password and change it', async () => {
  await page.getByRole('heading', {name: 'Sign in'}).waitFor();
  await shot(page, '01-sign-in');
  await signIn(page, 'ada@acme.test', ada.temporary_password);
  await page.getByRole('heading', {name: 'Choose a new password'}).waitFor();
  await page.getByLabel('Current password').fill(ada.temporary_password);
  await page.getByLabel('New password', {exact: true}).fill(ADA_PASSWORD);
  await page.getByLabel('Confirm new password').fill(ADA_PASSWORD);
  await shot(page, '02-change-password');
  await page.getByRole('button', {name: 'Change password'}).click();
  await main(page).getByRole('heading', {name: 'Users'}).waitFor();
  for (const link of ['Users', 'Roles', 'Groups', 'API clients', 'Invitations', 'Access', 'Audit trail', 'Settings']) {
    await nav(page).getByRole('link', {name: link, exact: true}).waitFor();
  }
  // The old temporary password no longer works; the new one does.
  const again = await http('POST', `${T}/auth/login`, {body: {email: 'ada@acme.test', password: ADA_PASSWORD}});
  assert.equal(again.status, 200);
  assert.equal(again.json.must_change_password, false);
});

await step('create a user with tags, find it by search and filter, suspend it', async () => {
  await page.getByRole('button', {name: 'New user'}).click();
  const dialog = page.getByRole('dialog', {name: 'New user'});
  await dialog.getByLabel('First name').fill('Grace');
  await dialog.getByLabel('Last name').fill('Hopper');
  await dialog.getByLabel('Email').fill('grace@acme.test');
  await dialog.getByLabel('Department').fill('Engineering');
  await dialog.getByRole('button', {name: 'Add tag'}).click();
  await dialog.getByLabel('Tag key').fill('Region');
  await dialog.getByLabel('Tag value').fill('EU');
  await shot(page, '03-new-user');
  await dialog.getByRole('button', {name: 'Create user'}).click();
  const made = page.getByRole('dialog', {name: 'User created'});
  const secret = await made.locator('[data-secret]').textContent();
  assert.ok(secret && secret.length >= 16, 'the temporary password is shown once');
  await made.getByRole('button', {name: 'Done'}).click();

  const table = page.getByRole('table', {name: 'Users'});
  await rowsAre(table, ['Ada Lovelace', 'Bob Builder', 'Grace Hopper', 'Olivia Observer']);
  await page.getByLabel('Search').fill('grace');
  await rowsAre(table, ['Grace Hopper']);
  await page.getByLabel('Search').fill('');
  await page.getByLabel('Role').selectOption({label: 'Workflow Runner'});
  await rowsAre(table, ['Bob Builder']);
  await page.getByLabel('Role').selectOption({label: 'Any role'});
  await page.getByRole('button', {name: 'Email'}).click();  // sort by email
  await page.getByRole('columnheader', {name: /Email/}).and(page.locator('[aria-sort="ascending"]')).waitFor();
  await shot(page, '04-users');

  await table.getByRole('link', {name: 'Grace Hopper'}).click();
  await main(page).getByRole('heading', {name: 'Grace Hopper'}).waitFor();
  const tags = page.getByRole('table', {name: 'Tags'});
  await tags.getByRole('cell', {name: 'Region', exact: true}).waitFor();
  await tags.getByRole('cell', {name: 'EU', exact: true}).waitFor();
  // Tags: add one, edit it, delete it.
  const addTag = page.getByRole('form', {name: 'Add tag'});
  await addTag.getByLabel('Key').fill('Team');
  await addTag.getByLabel('Value').fill('Compilers');
  await addTag.getByRole('button', {name: 'Add tag'}).click();
  await tags.getByRole('cell', {name: 'Compilers', exact: true}).waitFor();
  await page.getByRole('button', {name: 'Edit tag Team'}).click();
  await page.getByRole('form', {name: 'Edit tag'}).getByLabel('Value').fill('Languages');
  await page.getByRole('button', {name: 'Save tag'}).click();
  await tags.getByRole('cell', {name: 'Languages', exact: true}).waitFor();
  await page.getByRole('button', {name: 'Delete tag Team'}).click();
  await tags.getByRole('cell', {name: 'Languages', exact: true}).waitFor({state: 'detached'});
  // A profile change, recorded with its changes.
  await page.getByRole('button', {name: 'Edit profile'}).click();
  await page.getByRole('dialog', {name: 'Edit profile'}).getByLabel('Department').fill('Research');
  await page.getByRole('dialog', {name: 'Edit profile'}).getByRole('button', {name: 'Save'}).click();
  await page.getByText('Research').waitFor();

  await page.getByRole('button', {name: 'Suspend', exact: true}).click();
  await page.getByRole('group', {name: 'Status actions'}).getByRole('button', {name: 'Activate', exact: true}).waitFor();
  await page.locator('.badge-suspended').first().waitFor();
  await page.getByRole('heading', {name: 'Recent audit events'}).waitFor();
  await page.getByRole('table', {name: 'Audit events'}).getByText('user.suspended').waitFor();
  await shot(page, '05-user');

  await nav(page).getByRole('link', {name: 'Users'}).click();
  await page.getByLabel('Status').selectOption('suspended');
  await rowsAre(table, ['Grace Hopper']);
  await page.getByLabel('Status').selectOption('deleted');
  await page.getByText('No user matches these filters.').waitFor();
});

async function checkBobExecute(expect) {
  await nav(page).getByRole('link', {name: 'Access'}).click();
  const check = page.locator('.card', {has: page.getByRole('heading', {name: 'Check access'})});
  await check.getByLabel('Subject', {exact: true}).fill('bob@acme.test');
  await check.getByLabel('Action').selectOption('execute');
  await check.getByLabel('Resource').fill(workflow.id);
  await check.getByRole('button', {name: 'Check access'}).click();
  await check.getByRole('status').getByText(expect, {exact: true}).waitFor();
}

await step("edit a role's permissions and see the holder's access change in Access", async () => {
  await checkBobExecute('Denied');
  await shot(page, '06-access-denied');
  await nav(page).getByRole('link', {name: 'Roles'}).click();
  const roles = page.getByRole('table', {name: 'Roles'});
  await roles.getByRole('link', {name: 'Workflow Runner'}).click();
  await main(page).getByRole('heading', {name: 'Workflow Runner'}).waitFor();
  await page.getByLabel('Level of permission 1').selectOption('operate');
  await shot(page, '07-role');
  await page.getByRole('button', {name: 'Save permissions'}).click();
  await page.getByText('Permissions saved.').waitFor();
  await checkBobExecute('Allowed');
  const grants = page.getByRole('table', {name: 'Grants that apply'});
  await grants.getByRole('link', {name: 'Workflow Runner'}).waitFor();
  // Who has access to the workflow now: Bob, at operate.
  const who = page.locator('.card', {has: page.getByRole('heading', {name: 'Who has access'})});
  await who.getByLabel('Node').fill(workflow.id);
  await who.getByRole('button', {name: 'Show who has access'}).click();
  const row = who.getByRole('row', {name: /Bob Builder/});
  await row.getByRole('cell', {name: 'operate'}).waitFor();
  await shot(page, '08-access');
});

await step('add a member to a group', async () => {
  await nav(page).getByRole('link', {name: 'Groups'}).click();
  const groups = page.getByRole('table', {name: 'Groups'});
  await groups.getByRole('cell', {name: 'system'}).first().waitFor();  // system groups are marked
  await shot(page, '09-groups');
  await groups.getByRole('link', {name: 'Finance'}).click();
  await main(page).getByRole('heading', {name: 'Finance'}).waitFor();
  await page.getByLabel('Find member').fill('grace');
  await page.getByRole('list', {name: 'Matches'}).getByRole('button', {name: 'Add'}).click();
  await page.getByRole('table', {name: 'Members'}).getByRole('link', {name: 'Grace Hopper'}).waitFor();
  await shot(page, '10-group');
});

await step('create an API client and rotate its secret', async () => {
  await nav(page).getByRole('link', {name: 'API clients'}).click();
  await page.getByRole('button', {name: 'New API client'}).click();
  const dialog = page.getByRole('dialog', {name: 'New API client'});
  await dialog.getByLabel('Name').fill('CI pipeline');
  await dialog.getByRole('button', {name: 'Create API client'}).click();
  const made = page.getByRole('dialog', {name: 'API client created'});
  const first = await made.locator('[data-secret]').textContent();
  await made.getByRole('link', {name: 'CI pipeline'}).click();
  await main(page).getByRole('heading', {name: 'CI pipeline'}).waitFor();
  const secrets = page.getByRole('table', {name: 'Secrets'});
  assert.equal(await secrets.getByRole('row').count(), 2);
  await page.getByRole('button', {name: 'Rotate secret'}).click();
  const second = await page.locator('[data-secret]').textContent();
  assert.notEqual(first, second);
  await secrets.getByRole('row').nth(2).waitFor();
  assert.equal(await secrets.getByRole('row').count(), 3, 'two secrets now');
  // Both work until the old one is revoked.
  const clientId = (await page.locator('main p code').first().textContent()).trim();
  for (const s of [first, second]) {
    const r = await http('POST', '/oauth/token', {form: {grant_type: 'client_credentials', client_id: clientId, client_secret: s}});
    assert.equal(r.status, 200);
  }
  await shot(page, '11-api-client');
  await page.getByRole('button', {name: /^Revoke secret/}).first().click();
  await page.getByText(/Secret key_\w+ revoked\./).waitFor();
  const old = await http('POST', '/oauth/token', {form: {grant_type: 'client_credentials', client_id: clientId, client_secret: first}});
  assert.equal(old.status, 401);
});

await step('invite someone', async () => {
  await nav(page).getByRole('link', {name: 'Invitations'}).click();
  await page.getByText('No pending invitations.').waitFor();
  await page.getByRole('button', {name: 'Invite', exact: true}).click();
  const dialog = page.getByRole('dialog', {name: 'Invite someone'});
  await dialog.getByLabel('Email').fill('new.hire@acme.test');
  await dialog.getByLabel('Group').selectOption({label: 'Finance'});
  await dialog.getByRole('button', {name: 'Send invitation'}).click();
  await page.getByRole('group', {name: 'Invitation token'}).waitFor();
  const row = page.getByRole('table', {name: 'Invitations'}).getByRole('row', {name: /new\.hire@acme\.test/});
  await row.getByText('pending').waitFor();
  await shot(page, '12-invitations');
  await page.getByRole('button', {name: 'Resend to new.hire@acme.test'}).click();
  await page.getByText('Invitation to new.hire@acme.test sent again.').waitFor();
});

await step('filter the audit trail, open changes, export CSV, verify the chain', async () => {
  await nav(page).getByRole('link', {name: 'Audit trail'}).click();
  const events = page.getByRole('table', {name: 'Audit events'});
  await events.getByRole('row').nth(1).waitFor();
  await page.getByLabel('Actor').fill(ada.id);
  await page.getByLabel('Action').fill('user.*');
  await page.getByRole('button', {name: 'Apply filters'}).click();
  await columnAll(events, 3, (t) => t.startsWith('user.'), 'only user.* events');
  await events.getByRole('cell', {name: 'user.suspended'}).waitFor();
  const actors = await events.locator('tbody td:nth-child(2)').allTextContents();
  assert.ok(actors.every((a) => a === 'Ada Lovelace'), `only Ada's events: ${actors}`);
  await shot(page, '13-audit');
  await page.getByLabel('Action').fill('user.updated');
  await page.getByRole('button', {name: 'Apply filters'}).click();
  await events.getByRole('cell', {name: 'user.updated'}).first().click();
  const changes = page.getByRole('table', {name: 'Changes'});
  const dept = changes.getByRole('row', {name: /department/});
  await dept.getByRole('cell', {name: 'Engineering'}).waitFor();
  await dept.getByRole('cell', {name: 'Research'}).waitFor();
  await shot(page, '14-audit-event');
  await page.getByRole('link', {name: 'Audit trail'}).first().click();

  await page.getByLabel('Export format').selectOption('csv');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', {name: 'Export', exact: true}).click()]);
  assert.equal(download.suggestedFilename(), 'audit-acme.csv');
  const csv = readFileSync(await download.path(), 'utf8');
  assert.ok(csv.startsWith('id,seq,tenant_seq,time,type,actor_type,actor_id,actor_name,target_type,target_id,target_name,request_id,data'),
            csv.slice(0, 200));
  assert.ok(csv.includes('user.suspended'));
  await page.getByText(/audit-acme\.csv \(.+\) downloaded\./).waitFor();

  await page.getByRole('button', {name: 'Verify chain'}).click();
  await page.getByText('Chain verified').waitFor();
  await shot(page, '15-audit-verified');
});

await step('an API client named root cannot pass for the root client in the Audit trail', async () => {
  await nav(page).getByRole('link', {name: 'Audit trail'}).click();
  const events = page.getByRole('table', {name: 'Audit events'});
  await page.getByLabel('Action').fill('');
  for (const [id, shown] of [[impostor.client_id, 'root · API client'], [root.client_id, 'root · root client']]) {
    await page.getByLabel('Actor').fill(id);
    await page.getByRole('button', {name: 'Apply filters'}).click();
    await columnAll(events, 2, (a) => a === shown, `${id} shown as ${shown}`);
  }
});

await step('settings: plan and retention read-only for a tenant admin', async () => {
  await nav(page).getByRole('link', {name: 'Settings'}).click();
  await page.getByRole('heading', {name: 'Plan and retention'}).waitFor();
  await page.getByText('90 days').waitFor();
  await page.getByLabel('Lockout threshold').fill('7');
  await page.getByRole('button', {name: 'Save settings'}).click();
  await page.getByText('Settings saved.').waitFor();
  const t = await asRoot('GET', T);
  assert.equal(t.settings.lockout_threshold, 7);
  await shot(page, '16-settings');
});

await step('export users as CSV and import with per-line errors', async () => {
  await nav(page).getByRole('link', {name: 'Users'}).click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', {name: 'Export CSV'}).click()]);
  const csv = readFileSync(await download.path(), 'utf8');
  assert.ok(csv.includes('grace@acme.test'));
  await page.getByRole('button', {name: 'Import CSV'}).click();
  const dialog = page.getByRole('dialog', {name: 'Import users from CSV'});
  await dialog.getByLabel('CSV file').setInputFiles({name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(
    'email,first_name,last_name,phone,department,roles,groups,tags\n' +
    'linus@acme.test,Linus,Torvalds,,Kernel,,Finance,Region=EU\n' +
    'not-an-email,Bad,Line,,,,,\n')});
  await dialog.getByRole('button', {name: 'Import', exact: true}).click();
  await dialog.getByText('1 created, 1 failed.').waitFor();
  await dialog.getByRole('table', {name: 'Lines that failed'}).getByRole('cell', {name: '3', exact: true}).waitFor();
  await shot(page, '17-import');
  await dialog.getByRole('button', {name: 'Close', exact: true}).click();
});

await step('a narrow screen folds the navigation behind Menu', async () => {
  await page.setViewportSize({width: 390, height: 844});
  await nav(page).getByRole('link', {name: 'Users'}).waitFor({state: 'hidden'});
  await page.getByRole('button', {name: 'Menu'}).click();
  await nav(page).getByRole('link', {name: 'Groups'}).click();
  await main(page).getByRole('heading', {name: 'Groups'}).waitFor();
  await shot(page, '18-narrow-groups');
  await page.setViewportSize({width: 1280, height: 800});
});

await step('set up two-factor authentication in Security and sign in with a code', async () => {
  await page.getByRole('link', {name: 'Security'}).click();
  await main(page).getByRole('heading', {name: 'Security'}).waitFor();
  await page.getByRole('button', {name: 'Set up two-factor authentication'}).click();
  const secret = (await page.locator('[data-totp-secret]').textContent()).replace(/\s/g, '');
  const t0 = Date.now() / 1000;
  await page.getByLabel('Code from the app').fill(totp(secret, t0));
  await page.getByRole('button', {name: 'Turn on'}).click();
  const codes = page.getByRole('group', {name: 'Recovery codes'});
  await codes.waitFor();
  assert.equal(await codes.getByRole('listitem').count(), 10);
  await page.getByText('Two-factor authentication is on.').waitFor();
  await shot(page, '20-security');
  await page.getByRole('button', {name: 'Sign out'}).click();
  await signIn(page, 'ada@acme.test', ADA_PASSWORD);
  await page.getByRole('heading', {name: 'Two-factor authentication'}).waitFor();
  await shot(page, '21-second-step');
  await page.getByLabel('Authentication code').fill(totp(secret, t0 + 30));  // the next step's code
  await page.getByRole('button', {name: 'Verify'}).click();
  await nav(page).getByRole('link', {name: 'Users'}).waitFor();
  // An admin sees it on the user's page and may reset it (here: Ada's own, as the root would).
  const me = await http('GET', `${T}/users/${ada.id}`, {token: rootToken});
  assert.equal(me.json.mfa.method, 'totp');
});

await step('a user without view on iam.audit sees no Audit trail link and gets 403 at its URL', async () => {
  const {context, page: p} = await newPage({width: 1280, height: 800},
                                           ['the server responded with a status of 403']);
  p.setDefaultTimeout(15_000);
  await p.goto(`${base}/console/`);
  await signIn(p, 'olivia@acme.test', OLIVIA_PASSWORD);
  await nav(p).getByRole('link', {name: 'Users'}).waitFor();
  assert.equal(await nav(p).getByRole('link', {name: 'Audit trail'}).count(), 0);
  assert.equal(await nav(p).getByRole('link', {name: 'Roles'}).count(), 0);
  assert.equal(await p.getByRole('button', {name: 'New user'}).count(), 0, 'no New user without edit');
  await p.goto(`${base}/console/audit`);
  await signIn(p, 'olivia@acme.test', OLIVIA_PASSWORD);
  await p.getByRole('alert').getByText(/^403/).waitFor();
  await shot(p, '19-audit-forbidden');
  await context.close();
});

await step('sign in with single sign-on through the identity provider', async () => {
  // The tests' identity provider (tests/e2e/oidc_idp.py), approving one user at once.
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'e2e', 'oidc_idp.py');
  const user = {sub: 'idp-sam', email: 'sam.sso@acme.test', email_verified: true,
                given_name: 'Sam', family_name: 'Single', groups: ['staff']};
  const idp = spawn('/usr/bin/python3', [script, 'custos-console', 'console-secret', JSON.stringify(user)],
                    {stdio: ['pipe', 'pipe', 'inherit']});
  try {
    const issuer = await new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error('the identity provider did not start')), 15_000);
      idp.stdout.once('data', (chunk) => { clearTimeout(timer); ok(String(chunk).trim()); });
      idp.on('exit', (code) => fail(new Error(`the identity provider exited (${code})`)));
    });
    // The provider's "staff" group gives the Tenant Admin system group (admin on iam.*).
    const groups = await asRoot('GET', `${T}/groups?limit=200`);
    const tenantUser = groups.items.find((g) => g.name === 'Tenant Admin');
    await asRoot('PUT', `${T}/sso/oidc`, {issuer, client_id: 'custos-console', client_secret: 'console-secret',
                                          allowed_domains: ['acme.test'], redirect_uris: [`${base}/console/`],
                                          group_claim: 'groups', group_mapping: {staff: tenantUser.id}});
    const {context, page: p} = await newPage();
    await p.goto(`${base}/console/`);
    await p.getByLabel('Tenant').fill('acme');
    await p.getByRole('button', {name: 'Sign in with single sign-on'}).waitFor();
    await shot(p, '21-signin-with-sso');
    await p.getByRole('button', {name: 'Sign in with single sign-on'}).click();
    // Custos → the provider → Custos's callback → the console, signed in as the new user.
    await p.locator('header .who').getByText('Sam Single').waitFor();
    await nav(p).getByRole('link', {name: 'Users'}).waitFor();  // the mapped group's access
    assert.ok(!p.url().includes('access_token'), 'the token left the address bar');
    await shot(p, '22-signed-in-with-sso');
    const users = await asRoot('GET', `${T}/users?limit=200`);
    assert.ok(users.items.some((u) => u.email === 'sam.sso@acme.test' && u.sso?.subject === 'idp-sam'));
    await context.close();
    await asRoot('DELETE', `${T}/sso/oidc`, undefined, 204);
  } finally {
    idp.stdin.end();
    idp.kill();
  }
});

await step('sign in with an API client (the root client)', async () => {
  const {context, page: p} = await newPage();
  // A link to a page with its subject (as the user page makes) opens there after sign-in.
  await p.goto(`${base}/console/access?subject=user:${bob.id}`);
  await p.getByRole('button', {name: 'Sign in with an API client'}).click();
  await p.getByLabel('Tenant').fill('acme');
  await p.getByLabel('Client ID').fill(root.client_id);
  await p.getByLabel('Client secret').fill(root.client_secret);
  await p.getByRole('button', {name: 'Sign in', exact: true}).click();
  assert.equal(await p.getByLabel('Subject', {exact: true}).inputValue(), bob.id);
  await nav(p).getByRole('link', {name: 'Settings'}).click();
  await p.getByLabel('Retention days').waitFor();  // root may change plan and retention
  await context.close();
});

await browser.close();
server.kill('SIGTERM');
await new Promise((ok) => server.on('exit', ok));
rmSync(dataDir, {recursive: true, force: true});
if (failures.length) {
  console.error(`\n${failures.length} failure(s):\n${failures.join('\n\n')}`);
  process.exit(1);
}
console.log(`all console stories passed; screenshots in ${shots}`);
