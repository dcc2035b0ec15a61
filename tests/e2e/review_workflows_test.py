"""The seeds' review workflows over HTTP, 91 days apart, under a fake clock: the same data dir
served again with `custos serve --clock-offset` (91 days ahead).

Seed 004 (the workflow workspace), the quarterly review: "Review user list quarterly",
"Remove inactive users", and off-boarding: "Revoke any API keys they created". The admin
finds the users inactive for 90 days (`last_active_before=`), deactivates them with
`deactivate_owned_clients=true`; their clients stop working; the trail shows each step under
the off-boarding request's id.

Seed 000 (access management), the secret-rotation review: "Rotate secrets periodically",
"Deactivate unused roles or clients". The admin finds the clients whose oldest secret is
over 90 days old (`secret_created_before=`), adds a new secret, moves the integration to it
(both work meanwhile), revokes the old one (it stops working), and the review comes back
empty; the trail records the rotation and no secret.
"""
import datetime
import sys
import time

import requests

from custos_e2e import Server, check

DAY = 86400
T = "/v1/tenants/flow"


def rfc3339(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def parse(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


def trail(root, query, count, timeout=30):
    """The audit events matching `query`, once at least `count` are indexed."""
    deadline = time.monotonic() + timeout
    while True:
        items = root.expect(200, "GET", T + "/audit/events?" + query)["items"]
        if len(items) >= count:
            return items
        check(time.monotonic() < deadline, "%s: %d events, wanted %d" % (query, len(items), count))
        time.sleep(0.05)  # polling interval of a wait with a deadline (checked above)


def sign_in_first_time(s, email, temporary, chosen):
    r = s.login("flow", email, temporary)
    check(r.status_code == 200 and r.json()["must_change_password"], r.text)
    r = requests.post(s.url(T + "/auth/password"),
                      headers={"Authorization": "Bearer " + r.json()["access_token"]},
                      json={"current_password": temporary, "new_password": chosen})
    check(r.status_code in (200, 204), r.text)


def day_one(s):
    """Everyone is active; Ben wires up an integration of his own; the ERP sync starts."""
    root = s.root()
    root.expect(201, "POST", "/v1/tenants", {"id": "flow", "name": "Flow", "plan": "enterprise"})
    integrations = root.expect(201, "POST", T + "/roles", {"name": "Integrations", "permissions": [
        {"resource_type": "iam.api_client", "level": "edit"}]})
    users = {}
    for first in ["ann", "ben", "cat"]:
        u = root.expect(201, "POST", T + "/users", {
            "email": first + "@example.com", "first_name": first.title(), "last_name": "Flow"})
        sign_in_first_time(s, first + "@example.com", u["temporary_password"], first + " passphrase!")
        users[first] = u["id"]
    root.expect(201, "POST", T + "/bindings", {"subject": {"type": "user", "id": users["ben"]},
                                               "role_id": integrations["id"]})
    ben = s.login("flow", "ben@example.com", "ben passphrase!").json()["access_token"]
    zap = requests.post(s.url(T + "/api-clients"), headers={"Authorization": "Bearer " + ben},
                        json={"name": "ben-zapier"})
    check(zap.status_code == 201 and zap.json()["owner_id"] == users["ben"], zap.text)
    zap = zap.json()
    check(s.token(zap["client_id"], zap["client_secret"]).status_code == 200, "Ben's client works")
    erp = root.expect(201, "POST", T + "/api-clients", {"name": "erp-sync"})
    check(s.token(erp["client_id"], erp["client_secret"]).status_code == 200, "ERP sync works")
    return users, zap, erp


def quarterly_review(s, users, zap):
    root = s.root()
    # Ann is back today (91 days on); Ben and Cat have not been seen since day one.
    check(s.login("flow", "ann@example.com", "ann passphrase!").status_code == 200, "Ann")
    now = parse(root.expect(200, "GET", T + "/users/" + users["ann"])["last_active_at"])
    check(now - datetime.datetime.now(datetime.timezone.utc) > datetime.timedelta(days=90),
          "the server's clock is 91 days ahead: %s" % now)
    cutoff = rfc3339(now - datetime.timedelta(days=90))
    inactive = root.expect(200, "GET", T + "/users?status=active&sort=email&last_active_before="
                           + cutoff)["items"]
    check([u["email"] for u in inactive] == ["ben@example.com", "cat@example.com"], inactive)
    unused = root.expect(200, "GET", T + "/api-clients?last_used_before=" + cutoff)["items"]
    check(sorted(c["name"] for c in unused) == ["ben-zapier", "erp-sync"], unused)
    # Remove inactive users, and the API keys they created, in one step each.
    for u in inactive:
        root.expect(200, "POST", T + "/users/%s/deactivate?deactivate_owned_clients=true" % u["id"])
    check(root.expect(200, "GET", T + "/users?status=active&last_active_before=" + cutoff)["items"]
          == [], "the review is done")
    # Their clients stop working; they cannot sign in.
    r = s.token(zap["client_id"], zap["client_secret"])
    check(r.status_code == 401 and r.json()["error"] == "invalid_client", r.text)
    check(root.expect(200, "GET", T + "/api-clients/" + zap["id"])["status"] == "inactive", "zap")
    check(s.login("flow", "ben@example.com", "ben passphrase!").status_code == 401, "Ben is out")
    # The trail shows it: each user's deactivation, and Ben's client under the same request.
    deactivated = trail(root, "action=user.deactivated", 2)
    check(sorted(e["target"]["id"] for e in deactivated) == sorted([users["ben"], users["cat"]]),
          deactivated)
    check(all(e["actor"]["type"] == "root" for e in deactivated), deactivated)
    client_event = trail(root, "action=api_client.deactivated", 1)
    check(len(client_event) == 1 and client_event[0]["target"]["id"] == zap["id"], client_event)
    bens = next(e for e in deactivated if e["target"]["id"] == users["ben"])
    check(client_event[0]["request_id"] == bens["request_id"], (client_event, bens))
    check(parse(bens["time"]) >= now, "recorded on the server's (shifted) clock")
    return cutoff


def rotation_review(s, erp, cutoff):
    root = s.root()
    due = root.expect(200, "GET", T + "/api-clients?status=active&secret_created_before=" + cutoff)
    check([c["name"] for c in due["items"]] == ["erp-sync"], due)
    old_key = root.expect(200, "GET", T + "/api-clients/" + erp["id"])["secrets"][0]["key_id"]
    new = root.expect(201, "POST", T + "/api-clients/%s/secrets" % erp["id"])
    check(new["key_id"] != old_key and new["client_secret"] != erp["client_secret"], new)
    # Both work while the integration moves over.
    check(s.token(erp["client_id"], erp["client_secret"]).status_code == 200, "old still works")
    check(s.token(erp["client_id"], new["client_secret"]).status_code == 200, "new works")
    root.expect(204, "DELETE", T + "/api-clients/%s/secrets/%s" % (erp["id"], old_key))
    r = s.token(erp["client_id"], erp["client_secret"])
    check(r.status_code == 401 and r.json()["error"] == "invalid_client", r.text)
    check(s.token(erp["client_id"], new["client_secret"]).status_code == 200, "new still works")
    check(root.expect(200, "GET", T + "/api-clients?status=active&secret_created_before=" + cutoff)
          ["items"] == [], "the rotation review is done")
    created = trail(root, "action=api_client.secret_created&target=" + erp["id"], 2)
    revoked = trail(root, "action=api_client.secret_revoked&target=" + erp["id"], 1)
    check(revoked[0]["data"]["key_id"] == old_key, revoked)
    every = str(root.expect(200, "GET", T + "/audit/events?limit=1000"))
    check(erp["client_secret"] not in every and new["client_secret"] not in every,
          "no secret in the trail")
    check(created[0]["data"]["key_id"] == new["key_id"], created)


def main(binary):
    first = Server(binary)
    try:
        users, zap, erp = day_one(first)
    finally:
        first.proc.send_signal(15)
        check(first.proc.wait(timeout=30) == 0, "clean stop")
    later = Server(binary, ["--clock-offset", str(91 * DAY)], data_dir=first.dir)
    try:
        cutoff = quarterly_review(later, users, zap)
        rotation_review(later, erp, cutoff)
    finally:
        later.own_dir = True  # remove the data dir now
        later.stop()
    print("ok")


main(sys.argv[1])
