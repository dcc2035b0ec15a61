"""Seed 004 (workspace roles, invitations, teams, folder permissions with an item-level
override; suspension takes effect on the next request)."""
from custos_e2e import Session, check, find, run
import requests


def scenario(s):
    root = s.root()
    root.expect(201, "POST", "/v1/tenants", {"id": "flows", "name": "Flows", "plan": "enterprise",
                                              "retention_days": 730})
    t = "/v1/tenants/flows"
    prod = find(root.expect(200, "GET", t + "/environments")["items"], name="Production")["id"]
    ws = root.expect(201, "POST", t + "/projects", {"name": "Workspace", "environment_id": prod})
    folder = root.expect(201, "POST", t + "/folders", {"name": "Finance", "parent_id": ws["id"]})
    flow = root.expect(201, "POST", t + "/resources", {"type": "flow", "name": "Invoices", "parent_id": folder["id"]})
    payroll = root.expect(201, "POST", t + "/resources", {"type": "flow", "name": "Payroll",
                                                           "parent_id": folder["id"], "inherit": False})
    roles = {r["name"]: r["id"] for r in root.expect(200, "GET", t + "/roles?limit=100")["items"]}
    # Teams: the Engineering team edits everything in the folder.
    team = root.expect(201, "POST", t + "/groups", {"name": "Engineering Team"})
    root.expect(201, "POST", t + "/bindings", {"subject": {"type": "group", "id": team["id"]},
                                               "role_id": roles["Designer"], "scope": folder["id"]})
    ada = root.expect(201, "POST", t + "/users", {"email": "ada@example.com", "first_name": "Ada",
                                                  "last_name": "L", "group_ids": [team["id"]]})
    members = root.expect(200, "GET", t + "/groups/%s/members" % team["id"])["members"]
    check(members[0]["id"] == ada["id"], members)
    # Owner / Editor / Viewer / None on a flow, by folder inheritance.
    def can(uid, action, node):
        return root.expect(200, "POST", t + "/access/check", {"subject": {"type": "user", "id": uid},
                                                              "action": action, "resource_id": node})["allowed"]
    viewer = root.expect(201, "POST", t + "/users", {"email": "vi@example.com", "first_name": "Vi",
                                                     "last_name": "Ewer",
                                                     "bindings": [{"role_id": roles["Viewer"], "scope": folder["id"]}]})
    for action, expect in (("read", True), ("update", True), ("execute", True), ("delete", False)):
        check(can(ada["id"], action, flow["id"]) == expect, "editor " + action)
    for action, expect in (("read", True), ("update", False), ("execute", False)):
        check(can(viewer["id"], action, flow["id"]) == expect, "viewer " + action)
    # The item-level override: the folder's grants stop at Payroll.
    check(not can(ada["id"], "read", payroll["id"]), "override")
    who = root.expect(200, "GET", t + "/access/who?resource_id=" + flow["id"])["items"]
    check({w["subject"]["id"] for w in who} == {ada["id"], viewer["id"]}, who)
    # Invite a member with a role; suspend → access lost on the next request.
    inv = root.expect(201, "POST", t + "/invitations", {"email": "ops@example.com", "bindings": [
        {"role_id": roles["Tenant Admin"]}]})
    r = requests.post(s.url("/v1/invitations/accept"), json={
        "token": inv["token"], "first_name": "Op", "last_name": "S", "password": "operations passphrase"})
    check(r.status_code == 200, r.text)
    ops = Session(s, s.login("flows", "ops@example.com", "operations passphrase").json()["access_token"])
    ops.expect(200, "GET", t + "/users")
    root.expect(200, "POST", t + "/users/%s/suspend" % r.json()["user_id"])
    ops.expect(401, "GET", t + "/users")
    # Retention by plan is the tenant's.
    check(root.expect(200, "GET", t)["retention_days"] == 730, "enterprise retention")


run(scenario)
