"""Seed 003 (human and application users, context-specific roles, invites)."""
from custos_e2e import Session, check, find, run
import requests


def scenario(s):
    root = s.root()
    root.expect(201, "POST", "/v1/tenants", {"id": "spaces", "name": "Spaces"})
    t = "/v1/tenants/spaces"
    prod = find(root.expect(200, "GET", t + "/environments")["items"], name="Production")["id"]
    space_a = root.expect(201, "POST", t + "/projects", {"name": "Space A", "environment_id": prod})
    space_b = root.expect(201, "POST", t + "/projects", {"name": "Space B", "environment_id": prod})
    tpl_a = root.expect(201, "POST", t + "/resources", {"type": "template", "name": "Home", "parent_id": space_a["id"]})
    tpl_b = root.expect(201, "POST", t + "/resources", {"type": "template", "name": "Home", "parent_id": space_b["id"]})
    dev = root.expect(201, "POST", t + "/roles", {"name": "Web Developer", "permissions": [
        {"resource_type": "template", "level": "edit"}]})
    # A space invite: pending → accepted.
    inv = root.expect(201, "POST", t + "/invitations", {
        "email": "webdev@example.com", "bindings": [{"role_id": dev["id"], "scope": space_a["id"]}]})
    check(inv["status"] == "pending" and inv["token"], inv)
    check(find(root.expect(200, "GET", t + "/invitations?status=pending")["items"], id=inv["id"]), "listed")
    accept = lambda token: requests.post(s.url("/v1/invitations/accept"), json={
        "token": token, "first_name": "Web", "last_name": "Dev", "password": "a long passphrase here"})
    r = accept(inv["token"])
    check(r.status_code == 200 and r.json()["tenant"] == "spaces", r.text)
    check(accept(inv["token"]).status_code == 410, "used token")
    check(root.expect(200, "GET", t + "/invitations/" + inv["id"])["status"] == "accepted", "accepted")
    user_id = r.json()["user_id"]
    # Permissions are context specific: edit in Space A, nothing in Space B.
    login = s.login("spaces", "webdev@example.com", "a long passphrase here")
    check(login.status_code == 200 and not login.json()["must_change_password"], login.text)
    me = Session(s, login.json()["access_token"])
    ok = me.expect(200, "POST", t + "/access/check", {"subject": {"type": "user", "id": user_id},
                                                      "action": "update", "resource_id": tpl_a["id"]})
    check(ok["allowed"] and ok["grants"][0]["scope"] == space_a["id"], ok)
    no = me.expect(200, "POST", t + "/access/check", {"subject": {"type": "user", "id": user_id},
                                                      "action": "read", "resource_id": tpl_b["id"]})
    check(not no["allowed"], no)
    # Another invite revoked before it is used.
    second = root.expect(201, "POST", t + "/invitations", {"email": "later@example.com"})
    root.expect(200, "POST", t + "/invitations/%s/revoke" % second["id"])
    check(accept(second["token"]).status_code == 410, "revoked")
    # An application user: its key, a new key, the old one deactivated.
    app = root.expect(201, "POST", t + "/api-clients", {"name": "Storefront", "bindings": [
        {"role_id": dev["id"], "scope": space_b["id"]}]})
    new_key = root.expect(201, "POST", t + "/api-clients/%s/secrets" % app["id"])
    old = [k for k in root.expect(200, "GET", t + "/api-clients/" + app["id"])["secrets"]
           if k["key_id"] != new_key["key_id"]][0]
    root.expect(204, "DELETE", t + "/api-clients/%s/secrets/%s" % (app["id"], old["key_id"]))
    check(s.token(app["client_id"], app["client_secret"]).status_code == 401, "old key off")
    check(s.token(app["client_id"], new_key["client_secret"]).status_code == 200, "new key on")


run(scenario)
