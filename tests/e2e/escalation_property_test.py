"""The escalation property of ../shared/spec/ACCESS.md over HTTP: a real `custos serve`
(embedded Kafka, so that credentials can go by notification), a random tenant, and a few
thousand random admin requests by random principals (API clients by client credentials,
users by login) on every route that grants, shows a credential, acts on a principal or
changes the tree. After each 2xx the tenant is read back as root and checked against a
reference of the rules written here from ../shared/spec/ACCESS.md (sharing nothing with the
server):

- every grant any subject gained passes CanBind for the caller on the state before, or is
  a system group's own grant delegated to another user whose credential the caller never saw
  (tracked here from the answers);
- a temporary password, client secret or invitation token in an answer only for a principal
  the caller outranks; emails changed only by callers that outrank;
- admin kind made or unmade only by admin kind; status, kind, memberships and secrets of a
  principal changed only by a caller that outranks it;
- inherit, app, parent and deletion of a node only with the level on the node itself;
- roles within 1,000 expanded permissions and 8 levels of includes;
- a token revoked (introspection says inactive) only by its owner or a caller that outranks.

`--commands N` (default 4000) and `--seed S` (default random, printed).
"""
import argparse
import random
import sys

import requests

from custos_e2e import Server, check

LEVELS = {"none": 0, "view": 1, "operate": 2, "edit": 3, "manage": 4, "admin": 5}
TYPES = ["*", "iam.*", "workflow", "connection", "project", "folder", "iam.user", "iam.group",
         "iam.role", "iam.binding", "iam.api_client", "iam.invitation", "iam.audit"]


def is_iam(t):
    return t.startswith("iam.")


# ---- the reference: a naive reading of ../shared/spec/ACCESS.md over a snapshot ----

class World:
    def __init__(self):
        self.roles, self.groups, self.bindings, self.nodes = {}, {}, {}, {}
        self.users, self.clients, self.invitations = {}, {}, {}
        self._expanded = {}

    def expand(self, role, latent=False):
        """A role's permissions; `latent`: through inactive roles too (what reactivation restores)."""
        if (role, latent) in self._expanded:
            return self._expanded[(role, latent)]
        out, seen = set(), set()

        def walk(rid):
            if rid in seen or rid not in self.roles:
                return
            seen.add(rid)
            out.update(self.roles[rid]["perms"])
            for inc in self.roles[rid]["includes"]:
                if inc in self.roles and (latent or self.roles[inc]["active"]):
                    walk(inc)
        walk(role)
        self._expanded[(role, latent)] = out
        return out

    def grants(self, subject, latent=False):
        """(perm, scope, via_group or None, system) held, whatever the subject's status; with
        `latent`, what it would hold were all its roles active (what rank is measured by)."""
        out = []
        for b in self.bindings.values():
            direct = b["subject"] == subject
            via = (b["subject"][0] == "group" and subject[0] != "group" and
                   b["subject"][1] in self.groups and
                   subject in self.groups[b["subject"][1]]["members"])
            if not (direct or via):
                continue
            role = self.roles.get(b["role"])
            if role is None or not (latent or role["active"]):
                continue
            for p in self.expand(b["role"], latent):
                out.append((p, b["scope"], b["subject"][1] if via else None, via and b["system"]))
        return out

    def active(self, s):
        if s[0] == "user":
            u = self.users.get(s[1])
            return u is not None and u["status"] == "active"
        c = self.clients.get(s[1])
        return c is not None and c["active"]

    def admin_kind(self, s):
        return s[0] == "user" and s[1] in self.users and self.users[s[1]]["admin"]

    def reach(self, node):
        out, at = [], node
        for _ in range(100):
            n = self.nodes.get(at)
            if n is None:
                break
            out.append(at)
            if not n["inherit"] or at == "root":
                break
            at = n["parent"]
        return out

    def level_at(self, s, node, typ, app, resource):
        if not self.active(s):
            return 0
        if self.admin_kind(s):
            return 5
        reach, level = self.reach(node), 0
        for (papp, ptype, pres, plevel), scope, _, _ in self.grants(s):
            if scope not in reach or (papp != "*" and papp != app):
                continue
            if not type_covers(ptype, typ):
                continue
            if pres != "*" and (not resource or pres != resource):
                continue
            level = max(level, plevel)
        return level

    def can_bind(self, a, p, scope):
        if not self.active(a):
            return False
        if self.admin_kind(a):
            return True
        reach = self.reach(scope)
        return any(s in reach and covers(q, p) for q, s, _, _ in self.grants(a))

    def delegates(self, a, group):
        g = self.groups.get(group)
        if g is None or g["type"] != "system":
            return False
        return self.level_at(a, g["scope"], "iam.group", "iam", "") >= 5

    def outranks(self, a, p, grants=None, p_admin=None, delegated=False):
        if not self.active(a) or a == p:
            return False
        grants = self.grants(p, latent=True) if grants is None else grants
        p_admin = self.admin_kind(p) if p_admin is None else p_admin
        if p_admin and not self.admin_kind(a):
            return False
        if self.admin_kind(a):
            return True
        for perm, scope, via, system in grants:
            if delegated and via and system and self.delegates(a, via):
                continue
            if not self.can_bind(a, perm, scope):
                return False
        return True

    def shape(self, role):
        perms = set()

        def depth(rid, guard):
            r = self.roles.get(rid)
            if r is None or guard > 20:
                return 0
            perms.update(r["perms"])
            return max([1 + depth(i, guard + 1) for i in r["includes"]] + [0])
        d = depth(role, 0)
        return len(perms), d


def type_covers(pattern, t):
    return pattern == t or (pattern == "*" and not is_iam(t)) or (pattern == "iam.*" and is_iam(t))


def covers(q, p):
    return (q[3] >= p[3] and (q[0] == "*" or q[0] == p[0]) and type_covers(q[1], p[1]) and
            (q[2] == "*" or q[2] == p[2]))


def perm_tuple(p):
    return (p.get("app", "*"), p["resource_type"], p.get("resource", "*"), LEVELS[p["level"]])


class Tenant:
    """Reads the tenant back as root into a World."""

    def __init__(self, server, root, t):
        self.server, self.root, self.t = server, root, t

    def all(self, path):
        items, cursor = [], None
        while True:
            sep = "&" if "?" in path else "?"
            url = self.t + path + sep + "limit=1000" + ("&cursor=" + cursor if cursor else "")
            page = self.root.expect(200, "GET", url)
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items

    def snapshot(self):
        w = World()
        for r in self.all("/roles"):
            w.roles[r["id"]] = {"perms": [perm_tuple(p) for p in r["permissions"]],
                                "includes": r["includes"], "active": r["status"] == "active"}
        for g in self.all("/groups"):
            members = self.root.expect(200, "GET", self.t + "/groups/%s/members" % g["id"])["members"]
            w.groups[g["id"]] = {"type": g["type"], "scope": g["scope"],
                                 "members": {(m["type"], m["id"]) for m in members}}
        for b in self.all("/bindings"):
            w.bindings[b["id"]] = {"subject": (b["subject"]["type"], b["subject"]["id"]),
                                   "role": b["role_id"], "scope": b["scope"], "system": b["system"]}
        w.nodes["root"] = {"parent": "", "inherit": True, "type": "tenant", "app": "", "name": ""}
        for kind in ("environments", "projects", "folders", "resources"):
            for n in self.all("/" + kind):
                w.nodes[n["id"]] = {"parent": n["parent_id"], "inherit": n["inherit"],
                                    "type": n["type"], "app": n["app"], "name": n["name"]}
        for status in ("", "deleted"):
            for u in self.all("/users" + ("?status=deleted" if status else "")):
                w.users[u["id"]] = {"admin": u["kind"] == "admin", "status": u["status"],
                                    "email": u["email"].lower()}
        for c in self.all("/api-clients"):
            w.clients[c["id"]] = {"active": c["status"] == "active", "secrets": len(c["secrets"]),
                                  "keys": [k["key_id"] for k in c["secrets"]]}
        for i in self.all("/invitations"):
            w.invitations[i["id"]] = {"bindings": i["bindings"], "groups": i["group_ids"]}
        return w


def invitation_grants(w, bindings, groups):
    out = []
    for b in bindings:
        if b["role_id"] in w.roles:
            out += [(p, b.get("scope") or "root", None, False) for p in w.expand(b["role_id"], True)]
    for gid in groups:
        for b in w.bindings.values():
            if b["subject"] == ("group", gid) and b["role"] in w.roles:
                out += [(p, b["scope"], gid, b["system"]) for p in w.expand(b["role"], True)]
    return out


# ---- the run ----

class Run:
    def __init__(self, server, seed):
        self.s, self.rng = server, random.Random(seed)
        self.root = server.root()
        self.t = "/v1/tenants/acme"
        self.tenant = Tenant(server, self.root, self.t)
        self.principals = {}     # (type, id) -> {"token", "secret"/"password", "email"}
        self.known_users = {}    # user id -> set of principals that saw its credential
        self.known_clients = {}  # client id -> set (kept after the client is deleted)
        self.known_inv = {}      # invitation id -> set
        self.inviter = {}        # invitation id -> principal (None: root)
        self.inv_tokens = {}     # invitation id -> token seen in an answer
        self.n = 0
        self.stats = {}
        self.moved = False  # the tenant changed outside the checked requests (logins)

    def name(self, prefix):
        self.n += 1
        return "%s%d" % (prefix, self.n)

    def pick(self, seq):
        seq = list(seq)
        return self.rng.choice(seq) if seq else "none"

    # -- authentication --
    def authenticate(self, p):
        info = self.principals[p]
        if p[0] == "api_client":
            r = self.s.token(p[1], info["secret"])
        else:
            r = self.s.login("acme", info["email"], info["password"])
        if r.status_code != 200:
            return None
        info["token"] = r.json()["access_token"]
        return info["token"]

    def ensure_token(self, p):
        """The principal's token, logging in (which changes the tenant: last login, failed
        logins) when it has none; self.moved tells that the tenant changed."""
        info = self.principals[p]
        if not info.get("token"):
            self.moved = True
            if self.authenticate(p) is None:
                # Its password was reset, its secret revoked, it was suspended or deleted: it
                # leaves the pool (the run adds fresh clients now and then).
                del self.principals[p]
                return None
        return info["token"]

    def call(self, p, method, path, body=None, **kw):
        """The request with the principal's token; None if it has none or it was refused
        (an ended session, a revoked token: it logs in again next time)."""
        info = self.principals.get(p)
        token = info and info.get("token")
        if not token:
            return None
        r = requests.request(method, self.s.url(path), json=body, timeout=30,
                             headers={"Authorization": "Bearer " + token}, **kw)
        if r.status_code == 401:
            info["token"] = None
            return None
        return r

    def add_user_principal(self, uid, email, temp):
        r = self.s.login("acme", email, temp)
        if r.status_code != 200:
            return
        token = r.json()["access_token"]
        password = "a long passphrase " + uid[-6:]
        r = requests.post(self.s.url(self.t + "/auth/password"), timeout=30,
                          headers={"Authorization": "Bearer " + token},
                          json={"current_password": temp, "new_password": password})
        if r.status_code == 200:
            self.principals[("user", uid)] = {"email": email, "password": password, "token": None}
        self.moved = True

    # -- the world --
    def setup(self):
        root, t = self.root, self.t
        root.expect(201, "POST", "/v1/tenants", {"id": "acme", "name": "Acme"})
        envs = {e["name"]: e["id"] for e in root.expect(200, "GET", t + "/environments")["items"]}
        p1 = root.expect(201, "POST", t + "/projects", {"name": "Alpha", "environment_id": envs["Production"]})["id"]
        root.expect(201, "POST", t + "/projects", {"name": "Beta", "environment_id": envs["Development"]})
        vault = root.expect(201, "POST", t + "/folders", {"name": "Vault", "parent_id": p1, "inherit": False})["id"]
        root.expect(201, "POST", t + "/resources", {"type": "workflow", "name": "Sync", "parent_id": p1})
        root.expect(201, "POST", t + "/resources", {"type": "workflow", "name": "Pay", "parent_id": vault})
        roles = {r["name"]: r["id"] for r in root.expect(200, "GET", t + "/roles")["items"]}
        for name, perms in (("IAM Admin", [("iam.*", "admin")]), ("IAM Editor", [("iam.*", "edit")]),
                            ("Binder", [("iam.binding", "admin"), ("iam.user", "edit"),
                                        ("iam.group", "edit"), ("iam.api_client", "edit"),
                                        ("workflow", "manage")])):
            roles[name] = root.expect(201, "POST", t + "/roles", {
                "name": name, "permissions": [{"resource_type": a, "level": b} for a, b in perms]})["id"]
        self.powers = powers = [(roles["Tenant Admin"], "root"), (roles["IAM Admin"], "root"),
                  (roles["IAM Editor"], "root"), (roles["Binder"], "root"), (roles["Binder"], p1),
                  (roles["Manager"], "root"), (roles["Designer"], p1), (roles["Manager"], vault)]
        for i in range(6):
            grant = self.rng.choice(powers)
            body = {"email": "p%d@example.com" % i, "first_name": "P", "last_name": str(i),
                    "kind": "admin" if i == 0 else "user",
                    "bindings": [{"role_id": grant[0], "scope": grant[1]}]}
            if self.rng.random() < 0.5:
                groups = [g["id"] for g in root.expect(200, "GET", t + "/groups?limit=100")["items"]]
                body["group_ids"] = [self.rng.choice(groups)]
            u = root.expect(201, "POST", t + "/users", body)
            self.known_users[u["id"]] = set()
            self.add_user_principal(u["id"], body["email"], u["temporary_password"])
        for i in range(4):
            grant = self.rng.choice(powers)
            c = root.expect(201, "POST", t + "/api-clients", {
                "name": "Client %d" % i, "bindings": [{"role_id": grant[0], "scope": grant[1]}]})
            self.principals[("api_client", c["id"])] = {"secret": c["client_secret"], "token": None}

    # -- random requests --
    def random_permission(self, w):
        p = {"resource_type": self.pick(TYPES), "level": self.pick(LEVELS.keys() - {"none"})}
        if self.rng.random() < 0.1:
            p["app"] = self.pick(["foundation", "iam"])
        if self.rng.random() < 0.1 and not is_iam(p["resource_type"]):
            p["resource"] = self.pick(w.nodes)
        return p

    def random_grants(self, w, n):
        return [{"role_id": self.pick(w.roles), "scope": self.pick(w.nodes)}
                for _ in range(self.rng.randint(0, n))]

    def random_request(self, w):
        """(kind, method, path, body, extra) for a random request."""
        t, rng = self.t, self.rng
        principal = lambda: self.pick(list((("user", u) for u in w.users)) + list((("api_client", c) for c in w.clients)))
        k = rng.randrange(26)
        if k < 2:
            s = principal() if rng.random() < 0.8 else ("group", self.pick(w.groups))
            return ("bind", "POST", t + "/bindings", {"subject": {"type": s[0], "id": s[1]},
                                                      "role_id": self.pick(w.roles), "scope": self.pick(w.nodes)}, None)
        if k == 2:
            return ("unbind", "DELETE", t + "/bindings/" + self.pick(w.bindings), None, None)
        if k < 5:
            m = principal()
            return ("add_member", "POST", t + "/groups/%s/members" % self.pick(w.groups),
                    {"members": [{"type": m[0], "id": m[1]}]}, None)
        if k == 5:
            gid = self.pick(w.groups)
            members = w.groups.get(gid, {}).get("members") or {("user", self.pick(w.users))}
            return ("remove_member", "DELETE", t + "/groups/%s/members/%s" % (gid, self.pick(members)[1]), None, None)
        if k < 8:
            body = {"email": self.name("u") + "@example.com", "first_name": "U", "last_name": "X"}
            if rng.random() < 0.1:
                body["kind"] = "admin"
            if rng.random() < 0.4:
                body["bindings"] = self.random_grants(w, 2)
            if rng.random() < 0.5:
                body["group_ids"] = [self.pick(w.groups) for _ in range(rng.randint(1, 2))]
            return ("create_user", "POST", t + "/users", body, None)
        if k == 8:
            body = rng.choice([{"email": self.name("e") + "@example.com"},
                               {"kind": rng.choice(["admin", "user"])}, {"department": "Sales"}])
            return ("patch_user", "PATCH", t + "/users/" + self.pick(w.users), body, None)
        if k < 11:
            uid, action = self.pick(w.users), rng.choice(["activate", "deactivate", "suspend", "unlock", "delete"])
            if action == "delete":
                return ("user_status", "DELETE", t + "/users/" + uid, None, None)
            return ("user_status", "POST", t + "/users/%s/%s" % (uid, action), None, None)
        if k == 11:
            return ("reset", "POST", t + "/users/%s/reset-password" % self.pick(w.users), None, self.pick(w.users))
        if k == 12:
            incl = [self.pick(w.roles)] if rng.random() < 0.4 else []
            return ("create_role", "POST", t + "/roles", {"name": self.name("Role "), "includes": incl,
                    "permissions": [self.random_permission(w) for _ in range(rng.randint(0, 3))]}, None)
        if k < 15:
            body = {}
            if rng.random() < 0.7:
                body["permissions"] = [self.random_permission(w) for _ in range(rng.randint(0, 3))]
            if rng.random() < 0.4:
                body["includes"] = [self.pick(w.roles)]
            return ("patch_role", "PATCH", t + "/roles/" + self.pick(w.roles), body or {"description": "x"}, None)
        if k == 15:
            return ("role_status", "POST", t + "/roles/%s/%s" % (self.pick(w.roles), rng.choice(["activate", "deactivate"])), None, None)
        if k == 16:
            return ("create_client", "POST", t + "/api-clients", {"name": self.name("Client "), "bindings": self.random_grants(w, 2)}, None)
        if k == 17:
            cid = self.pick(w.clients)
            if rng.random() < 0.3:
                key = self.pick(w.clients[cid]["keys"]) if cid in w.clients else "none"
                return ("revoke_secret", "DELETE", t + "/api-clients/%s/secrets/%s" % (cid, key), None, None)
            return ("secret", "POST", t + "/api-clients/%s/secrets" % cid, None, None)
        if k == 18:
            cid = self.pick(w.clients)
            if rng.random() < 0.5:
                return ("client_status", "POST", t + "/api-clients/%s/%s" % (cid, rng.choice(["activate", "deactivate"])), None, None)
            return ("client_status", "DELETE", t + "/api-clients/" + cid, None, None)
        if k == 19:
            return ("invite", "POST", t + "/invitations", {"email": self.name("i") + "@example.com",
                    "bindings": self.random_grants(w, 1), "group_ids": [self.pick(w.groups)] if rng.random() < 0.5 else []}, None)
        if k == 20:
            return ("resend", "POST", t + "/invitations/%s/resend" % self.pick(w.invitations), None, None)
        if k == 21:
            return ("accept", "POST", "/v1/invitations/accept", None, self.pick(self.inv_tokens))
        if k == 22:
            body = {"name": self.name("N"), "parent_id": self.pick(n for n, v in w.nodes.items() if v["type"] in ("project", "folder")),
                    "inherit": rng.random() < 0.7}
            if rng.random() < 0.5:
                body["type"] = "workflow"
                return ("create_node", "POST", t + "/resources", body, None)
            return ("create_node", "POST", t + "/folders", body, None)
        if k < 25:
            nid = self.pick(n for n in w.nodes if n != "root")
            coll = {"env": "environments", "prj": "projects", "fld": "folders", "res": "resources"}[nid[:3]]
            if rng.random() < 0.2:
                return ("delete_node", "DELETE", t + "/%s/%s" % (coll, nid), None, nid)
            body = rng.choice([{"inherit": rng.random() < 0.5}, {"app": rng.choice(["foundation", ""])},
                               {"name": self.name("R")}])
            if coll in ("folders", "resources") and rng.random() < 0.3:
                body = {"parent_id": self.pick(n for n, v in w.nodes.items() if v["type"] in ("project", "folder"))}
            return ("patch_node", "PATCH", t + "/%s/%s" % (coll, nid), body, nid)
        return ("revoke", "POST", "/oauth/revoke", None, self.pick(self.principals))

    def new_client(self):
        """Root adds a client with a random power, so that the pool of callers that can do
        something does not run dry as the run suspends, resets and deletes them."""
        grant = self.rng.choice(self.powers)
        c = self.root.expect(201, "POST", self.t + "/api-clients", {
            "name": self.name("Pool "), "bindings": [{"role_id": grant[0], "scope": grant[1]}]})
        self.principals[("api_client", c["id"])] = {"secret": c["client_secret"], "token": None}
        self.moved = True

    def step(self, index, before):
        if self.rng.random() < 0.02:
            self.new_client()
        kind, method, path, body, extra = self.random_request(before)
        caller = self.pick(p for p in self.principals if p[1] in before.users or p[1] in before.clients)
        if caller == "none" or self.ensure_token(caller) is None:
            return before, None
        if kind == "revoke" and extra != "none" and extra in self.principals:
            self.ensure_token(extra)
        if self.moved:
            before, self.moved = self.tenant.snapshot(), False
        authority = caller
        if kind == "accept":
            if extra == "none":
                return before, None
            authority = self.inviter.get(extra)
            r = requests.post(self.s.url(path), timeout=30, json={"token": self.inv_tokens.pop(extra),
                              "first_name": "In", "last_name": "Vitee", "password": "a long passphrase ok"})
        elif kind == "revoke":
            victim = extra
            token = self.principals.get(victim, {}).get("token")
            if token is None:
                return before, None
            introspect = lambda: requests.post(self.s.url("/oauth/introspect"), data={"token": token}, timeout=30,
                                               headers={"Authorization": "Bearer " + self.root.token}).json()
            # A token already dead (its principal deactivated, say) proves nothing about the revocation.
            if not introspect()["active"]:
                return before, None
            r = self.call(caller, "POST", path, data={"token": token})
            if r is None or r.status_code != 200:
                return before, None
            intro = introspect()
            if not intro["active"] and caller != victim and not before.outranks(caller, victim):
                return before, "%s revoked a token of %s, which it does not outrank" % (caller, victim)
            if not intro["active"]:
                self.principals[victim]["token"] = None
            self.count(kind, True)
            return before, None
        else:
            r = self.call(caller, method, path, body)
        if r is None:
            return before, None
        ok = 200 <= r.status_code < 300
        self.count(kind, ok)
        if r.status_code >= 500:
            return before, "%s %s answered %d: %s" % (method, path, r.status_code, r.text)
        if not ok:
            return before, None
        answer = r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else {}
        after = self.tenant.snapshot()
        self.track(kind, caller, answer, extra, before, after)
        if authority is None:
            return after, None
        v = self.check(kind, authority, answer, extra, before, after, path)
        return after, ("request %d %s %s %s by %s: %s" % (index, method, path, body, authority, v)) if v else None

    def count(self, kind, ok):
        s = self.stats.setdefault(kind, [0, 0])
        s[1 if ok else 0] += 1

    def track(self, kind, caller, answer, extra, before, after):
        shown = lambda name: answer.get(name) is not None
        if kind == "create_user":
            self.known_users[answer["id"]] = {caller} if shown("temporary_password") else set()
        elif kind == "reset":
            uid = answer["id"]
            if answer.get("credential_delivery") == "notification":
                self.known_users[uid] = set()
            elif shown("temporary_password"):
                self.known_users.setdefault(uid, set()).add(caller)
            if ("user", uid) in self.principals:  # its sessions ended with its password
                del self.principals[("user", uid)]
                if shown("temporary_password") and after.users[uid]["status"] == "active":
                    self.add_user_principal(uid, after.users[uid]["email"], answer["temporary_password"])
        elif kind == "invite":
            self.inviter[answer["id"]] = caller
            self.known_inv[answer["id"]] = {caller} if shown("token") else set()
            if shown("token"):
                self.inv_tokens[answer["id"]] = answer["token"]
        elif kind == "resend":
            iid = answer["id"]
            if answer.get("credential_delivery") == "notification":
                self.known_inv[iid] = set()
                self.inv_tokens.pop(iid, None)
            elif shown("token"):
                self.known_inv.setdefault(iid, set()).add(caller)
                self.inv_tokens[iid] = answer["token"]
        elif kind == "accept":
            self.known_users[answer["user_id"]] = self.known_inv.get(extra, set())
        elif kind == "create_client":
            self.known_clients[answer["id"]] = {caller} if shown("client_secret") else set()
            if shown("client_secret"):
                self.principals[("api_client", answer["id"])] = {"secret": answer["client_secret"], "token": None}
        elif kind == "secret" and shown("client_secret"):
            self.known_clients.setdefault(answer.get("client_id") or answer["id"], set()).add(caller)

    def controllers(self, s):
        """Who controls a principal: whoever saw its credential, whoever saw theirs, and so on
        (through deleted clients too: what they saw, their controllers could have)."""
        out, todo = set(), [s]
        while todo:
            at = todo.pop()
            known = self.known_users if at[0] == "user" else self.known_clients
            for k in known.get(at[1], set()):
                if k not in out:
                    out.add(k)
                    todo.append(k)
        return out

    def related(self, a, s):
        """Whether a and s control one another or share a controller (rule 2 refuses them)."""
        of_s, of_a = self.controllers(s), self.controllers(a)
        return a in of_s or s in of_a or bool(of_s & of_a)

    def check(self, kind, a, answer, extra, before, after, path=""):
        path_id = path.rsplit("/", 1)[-1]
        # Gains: rule 1, or rule 2's delegation.
        subjects = [("user", u) for u, v in after.users.items() if v["status"] != "deleted"]
        subjects += [("api_client", c) for c in after.clients]
        for s in subjects:
            held = {(p, scope) for p, scope, _, _ in before.grants(s)}
            now = after.grants(s)
            for p, scope, via, system in now:
                if (p, scope) in held or before.can_bind(a, p, scope):
                    continue
                unrelated = not self.related(a, s)
                delegated = any(q == p and sc == scope and g and sy and s[0] == "user" and s != a and
                                unrelated and before.delegates(a, g) for q, sc, g, sy in now)
                if not delegated:
                    return "%s gained %s at %s (via %s), which the caller may neither bind nor delegate" % (s, p, scope, via)
        for uid, u in after.users.items():
            was = before.users.get(uid)
            if u["admin"] != (was is not None and was["admin"]) and not before.admin_kind(a):
                return "user %s changed kind without an admin-kind caller" % uid
        # Credentials: rule 4.
        secret = {"create_user": "temporary_password", "reset": "temporary_password",
                  "create_client": "client_secret", "secret": "client_secret",
                  "invite": "token", "resend": "token"}.get(kind)
        if secret and answer.get(secret) is not None:
            if answer.get("credential_delivery") != "response":
                return "a secret in an answer that does not say it was delivered in the response"
            if kind in ("create_user", "reset"):
                p = ("user", answer["id"])
                w = after if kind == "create_user" else before
                ok = before.outranks(a, p, w.grants(p), w.admin_kind(p))
            elif kind in ("create_client", "secret"):
                p = ("api_client", answer.get("client_id") or answer["id"])
                w = after if kind == "create_client" else before
                ok = before.outranks(a, p, w.grants(p), False)
            else:
                inv = (after if kind == "invite" else before).invitations[answer["id"]]
                ok = before.outranks(a, ("user", "(invitee)"),
                                     invitation_grants(before, inv["bindings"], inv["groups"]), False)
            if not ok:
                return "a %s reached a caller that does not outrank its principal" % secret
        # Acting on principals: rule 5; emails: rule 4.
        for uid, u in before.users.items():
            if u["status"] == "deleted":
                continue
            p, now = ("user", uid), after.users[uid]
            if (now["status"] != u["status"] or now["admin"] != u["admin"]) and not before.outranks(a, p, delegated=True):
                return "user %s changed status or kind by a caller that does not outrank it" % uid
            if now["email"] != u["email"] and not before.outranks(a, p):
                return "user %s's email changed by a caller that does not outrank it" % uid
        for cid, c in before.clients.items():
            now = after.clients.get(cid)
            # A client may drop its own secrets; anything else done to it needs rank.
            acted = (now is None or now["active"] != c["active"] or
                     (now["secrets"] < c["secrets"] and ("api_client", cid) != a))
            if acted and not before.outranks(a, ("api_client", cid), delegated=True):
                return "client %s deactivated, deleted or cut off by a caller that does not outrank it" % cid
        for gid, g in before.groups.items():
            if gid not in after.groups:
                continue
            for m in g["members"] - after.groups[gid]["members"]:
                still = (m[1] in after.users and after.users[m[1]]["status"] != "deleted") if m[0] == "user" else m[1] in after.clients
                if still and not before.outranks(a, m, delegated=True):
                    return "%s removed from %s by a caller that does not outrank it" % (m, gid)
        if kind == "unbind":
            b = before.bindings.get(path_id)
            if b is not None and path_id not in after.bindings:
                s = b["subject"]
                targets = before.groups[s[1]]["members"] if s[0] == "group" and s[1] in before.groups else [s]
                for m in targets:
                    gone = m[0] == "user" and before.users.get(m[1], {}).get("status") == "deleted"
                    if m[0] != "group" and not gone and not before.outranks(a, m, delegated=True):
                        return "binding %s of %s taken away by a caller that does not outrank %s" % (path_id, s, m)
        # The tree: rule 6.
        for nid, n in before.nodes.items():
            if nid == "root":
                continue
            now = after.nodes.get(nid)
            level = before.level_at(a, nid, n["type"], n["app"], nid)
            if now is None and level < 4:
                return "node %s deleted without manage on it" % nid
            if now is not None and (now["inherit"], now["app"], now["parent"]) != (n["inherit"], n["app"], n["parent"]) and level < 3:
                return "node %s's inherit, app or parent changed without edit on it" % nid
            if now is not None and now["name"] != n["name"] and level < 1:
                return "node %s renamed by a caller that cannot see it" % nid
        # Bounded roles: rule 7.
        for rid in after.roles:
            count, depth = after.shape(rid)
            if count > 1000 or depth > 8:
                return "role %s: %d expanded permissions, %d levels" % (rid, count, depth)
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--commands", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=random.randrange(1 << 32))
    args = ap.parse_args()
    print("escalation over HTTP: seed %d, %d requests" % (args.seed, args.commands), flush=True)
    server = Server(args.binary, ["--kafka", "embedded"])
    try:
        run = Run(server, args.seed)
        run.setup()
        world = run.tenant.snapshot()
        for i in range(args.commands):
            world, violation = run.step(i, world)
            check(violation is None, "seed %d: %s" % (args.seed, violation))
        # Most random requests are refused (that is the point); enough must pass, revocations
        # (which anyone may make of its own tokens) aside, for the checks to have bitten.
        accepted = sum(s[1] for k, s in run.stats.items() if k != "revoke")
        print("refused/accepted by kind:", {k: tuple(v) for k, v in sorted(run.stats.items())})
        check(accepted >= args.commands // 20, "too few requests succeeded: %s" % run.stats)
    finally:
        server.stop()
    print("ok")


if __name__ == "__main__":
    main()
