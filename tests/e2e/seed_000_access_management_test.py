"""Seed 000 (access management: users, roles of app/resource/level, API clients), as its
admin clicks through it."""
from custos_e2e import check, find, run, verify_jwt


def scenario(s):
    root = s.root()
    root.expect(201, "POST", "/v1/tenants", {"id": "vince", "name": "Vince Live", "plan": "pro"})
    t = "/v1/tenants/vince"
    # Users tab: first/last name, email, phone, address, an M3 user id, tags.
    ada = root.expect(201, "POST", t + "/users", {
        "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
        "phone": "+44 20 7946 0000", "address": "12 St James's Square, London",
        "external_ids": {"m3": "M3-0042"}, "tags": {"Warehouse": "W1", "Region": "EU"}})
    check(ada["must_change_password"] and ada["status"] == "active", ada)
    check(ada["last_active_at"] is None, ada)
    temp = ada["temporary_password"]
    check(len(temp) >= 16, "temporary password too short")
    # A role of app + resource type + one named resource + level (Read/Write/All).
    envs = root.expect(200, "GET", t + "/environments")["items"]
    prod = find(envs, name="Production")["id"]
    project = root.expect(201, "POST", t + "/projects", {"name": "Foundation", "environment_id": prod})
    export = root.expect(201, "POST", t + "/resources", {
        "type": "workflow", "name": "Diwakar Export", "parent_id": project["id"], "app": "foundation"})
    other = root.expect(201, "POST", t + "/resources", {
        "type": "workflow", "name": "Other", "parent_id": project["id"], "app": "foundation"})
    role = root.expect(201, "POST", t + "/roles", {
        "name": "Export Runner", "permissions": [
            {"app": "foundation", "resource_type": "workflow", "resource": export["id"],
             "level": "operate"}]})
    root.expect(201, "POST", t + "/bindings", {
        "subject": {"type": "user", "id": ada["id"]}, "role_id": role["id"]})
    # First login with the temporary password, then the forced change.
    r = s.login("vince", "ada@example.com", temp)
    check(r.status_code == 200 and r.json()["must_change_password"], r.text)
    from custos_e2e import Session
    me = Session(s, r.json()["access_token"])
    verify_jwt(s, me.token, "vince")
    me.expect(403, "POST", t + "/access/check", {
        "subject": {"type": "user", "id": ada["id"]}, "action": "execute",
        "resource_id": export["id"]})
    me.expect(200, "POST", t + "/auth/password", {
        "current_password": temp, "new_password": "a long passphrase of mine"})
    # The change ends the session it was made in (../shared/spec/ACCESS.md rule 8): log in again.
    me.expect(401, "GET", t + "/me")
    r = s.login("vince", "ada@example.com", "a long passphrase of mine")
    check(r.status_code == 200 and not r.json()["must_change_password"], r.text)
    me = Session(s, r.json()["access_token"])
    check(me.expect(200, "POST", t + "/access/check", {
        "subject": {"type": "user", "id": ada["id"]}, "action": "execute",
        "resource_id": export["id"]})["allowed"], "Ada may run the export")
    check(not me.expect(200, "POST", t + "/access/check", {
        "subject": {"type": "user", "id": ada["id"]}, "action": "execute",
        "resource_id": other["id"]})["allowed"], "but not another workflow")
    listed = root.expect(200, "GET", t + "/users")["items"]
    check(find(listed, email="ada@example.com")["roles_count"] == 1, listed)
    check(find(listed, email="ada@example.com")["last_active_at"] is not None, listed)
    # Roles tab: users per role, permissions count, status.
    roles = root.expect(200, "GET", t + "/roles?limit=100")["items"]
    check(find(roles, name="Export Runner")["users_count"] == 1, roles)
    # API clients: token, call, deactivate → 401; names unique.
    reader = root.expect(201, "POST", t + "/roles", {"name": "User Reader", "permissions": [
        {"resource_type": "iam.user", "level": "view"}]})
    client = root.expect(201, "POST", t + "/api-clients", {
        "name": "ERP Export", "description": "Exports users to Excel", "label": "ERP",
        "bindings": [{"role_id": reader["id"]}]})
    root.expect(409, "POST", t + "/api-clients", {"name": "erp export"})
    tok = s.token(client["client_id"], client["client_secret"])
    check(tok.status_code == 200, tok.text)
    api = Session(s, tok.json()["access_token"])
    verify_jwt(s, api.token, "vince")
    api.expect(200, "GET", t + "/users")
    api.expect(403, "POST", t + "/users", {"email": "x@example.com", "first_name": "X", "last_name": "Y"})
    # Rotation: a second secret, both work, the first revoked.
    second = root.expect(201, "POST", t + "/api-clients/%s/secrets" % client["id"])
    check(s.token(client["client_id"], second["client_secret"]).status_code == 200, "second secret")
    first_key = [k["key_id"] for k in root.expect(200, "GET", t + "/api-clients/" + client["id"])["secrets"]
                 if k["key_id"] != second["key_id"]][0]
    root.expect(204, "DELETE", t + "/api-clients/%s/secrets/%s" % (client["id"], first_key))
    check(s.token(client["client_id"], client["client_secret"]).status_code == 401, "revoked secret")
    root.expect(200, "POST", t + "/api-clients/%s/deactivate" % client["id"])
    api.expect(401, "GET", t + "/users")
    # Deactivating a user keeps the data.
    root.expect(200, "POST", t + "/users/%s/deactivate" % ada["id"])
    check(root.expect(200, "GET", t + "/users/" + ada["id"])["tags"] == {"Region": "EU", "Warehouse": "W1"}, "kept")
    me.expect(401, "GET", t + "/me")


run(scenario)
