"""The seeds' role stories as tables of (who, request, expected status), over HTTP against a
real `custos serve --kafka embedded` (credentials that a caller may not see go to the
notifications topic, read back here with python3-confluent-kafka):

- seed 001 (Saltbox): the Tenant Admin adds Ada to "Production Designer" and off-boards her,
  and still gets 403 on the project — nor can it reach it through itself, a user whose
  password it saw, or an API client it made;
- seed 000 (Vince Live): admin and user kinds — only an admin makes, unmakes or acts on admins;
- seed 004 (the workflow product): an item-level override (inherit: false) that only the
  item's own holders can lift.
"""
import json
import os

from custos_e2e import Server, Session, check, find, read_topic


def user_session(s, tenant, email, temp):
    """Logs in with the temporary password, changes it, logs in again (the change ended the
    first session)."""
    r = s.login(tenant, email, temp)
    check(r.status_code == 200, r.text)
    first = Session(s, r.json()["access_token"])
    first.expect(200, "POST", "/v1/tenants/%s/auth/password" % tenant,
                 {"current_password": temp, "new_password": "a long passphrase here"})
    r = s.login(tenant, email, "a long passphrase here")
    check(r.status_code == 200, r.text)
    return Session(s, r.json()["access_token"])


def table(name, rows):
    """Each row: (session, method, path, body, expected status); returns the answers."""
    answers = []
    for who, method, path, body, status in rows:
        r = who.call(method, path, body)
        check(r.status_code == status, "%s: %s %s %s: expected %d, got %d: %s" % (
            name, method, path, body, status, r.status_code, r.text))
        answers.append(r.json() if r.content else None)
    return answers


def saltbox(s, root):
    t = "/v1/tenants/saltbox"
    root.expect(201, "POST", "/v1/tenants", {"id": "saltbox", "name": "Saltbox"})
    prod = find(root.expect(200, "GET", t + "/environments")["items"], name="Production")["id"]
    project = root.expect(201, "POST", t + "/projects", {"name": "Acme Integration", "environment_id": prod})["id"]
    wf = root.expect(201, "POST", t + "/resources", {"type": "workflow", "name": "Sync", "parent_id": project})["id"]
    groups = {g["name"]: g["id"] for g in root.expect(200, "GET", t + "/groups?type=system&limit=200")["items"]}
    tam_user = root.expect(201, "POST", t + "/users", {"email": "tam@example.com", "first_name": "Tam", "last_name": "Clark",
                                                       "group_ids": [groups["Tenant Admin"]]})
    ben = root.expect(201, "POST", t + "/users", {"email": "ben@example.com", "first_name": "Ben", "last_name": "Ho"})
    tam = user_session(s, "saltbox", "tam@example.com", tam_user["temporary_password"])
    ada = table("saltbox", [
        (tam, "POST", t + "/users", {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
                                     "group_ids": [groups["Production Designer"]]}, 201)])[0]
    check(ada["temporary_password"] is None and ada["credential_delivery"] == "notification", ada)
    pup = tam.expect(201, "POST", t + "/users", {"email": "pup@example.com", "first_name": "Pup", "last_name": "Pet"})
    check(pup["temporary_password"] is not None and pup["credential_delivery"] == "response", pup)
    bot = tam.expect(201, "POST", t + "/api-clients", {"name": "Bot"})
    member = lambda kind, id_: {"members": [{"type": kind, "id": id_}]}
    table("saltbox", [
        # Delegated administration: others, into system groups.
        (tam, "POST", t + "/groups/%s/members" % groups["Acme Integration Manager"], member("user", ben["id"]), 200),
        # Never itself, a puppet whose password it saw, or a client it made.
        (tam, "POST", t + "/groups/%s/members" % groups["Acme Integration Manager"], member("user", tam_user["id"]), 403),
        (tam, "POST", t + "/groups/%s/members" % groups["Production Designer"], member("user", pup["id"]), 403),
        (tam, "POST", t + "/groups/%s/members" % groups["Production Designer"], member("api_client", bot["id"]), 403),
        (tam, "POST", t + "/bindings", {"subject": {"type": "user", "id": pup["id"]},
                                        "role_id": find(root.expect(200, "GET", t + "/roles")["items"], name="Designer")["id"],
                                        "scope": project}, 403),
        # Nor an admin-kind user, who may do anything.
        (tam, "POST", t + "/users", {"email": "boss@example.com", "first_name": "B", "last_name": "Oss", "kind": "admin"}, 403),
        # Off-boarding Ada: out of the group, suspended; Ben deactivated.
        (tam, "DELETE", t + "/groups/%s/members/%s" % (groups["Production Designer"], ada["id"]), None, 204),
        (tam, "POST", t + "/users/%s/suspend" % ada["id"], None, 200),
        (tam, "POST", t + "/users/%s/deactivate" % ben["id"], None, 200),
        # And the project stays out of its reach.
        (tam, "GET", t + "/projects/" + project, None, 403),
        (tam, "GET", t + "/resources/" + wf, None, 403),
        (tam, "PATCH", t + "/resources/" + wf, {"name": "Mine"}, 403),
        (tam, "DELETE", t + "/resources/" + wf, None, 403),
    ])
    return ada


def vince(s, root):
    t = "/v1/tenants/vince"
    root.expect(201, "POST", "/v1/tenants", {"id": "vince", "name": "Vince Live"})
    editor_role = root.expect(201, "POST", t + "/roles", {"name": "User Editor", "permissions": [
        {"resource_type": "iam.user", "level": "edit"}, {"resource_type": "iam.*", "level": "view"}]})["id"]
    val_user = root.expect(201, "POST", t + "/users", {"email": "val@example.com", "first_name": "Val", "last_name": "Admin", "kind": "admin"})
    uma_user = root.expect(201, "POST", t + "/users", {"email": "uma@example.com", "first_name": "Uma", "last_name": "User",
                                                       "bindings": [{"role_id": editor_role}]})
    val = user_session(s, "vince", "val@example.com", val_user["temporary_password"])
    uma = user_session(s, "vince", "uma@example.com", uma_user["temporary_password"])
    prod = find(root.expect(200, "GET", t + "/environments")["items"], name="Production")["id"]
    # An admin may do anything in its tenant, admins included.
    made = table("vince", [
        (val, "GET", t + "/environments/" + prod, None, 200),
        (val, "POST", t + "/users", {"email": "a3@example.com", "first_name": "A", "last_name": "Three", "kind": "admin"}, 201),
    ])[1]
    check(made["temporary_password"] is not None, made)
    val.expect(200, "PATCH", t + "/users/" + made["id"], {"kind": "user"})
    answers = table("vince", [
        # A user-kind editor of users neither makes nor unmakes admins, nor acts on them.
        (uma, "POST", t + "/users", {"email": "a2@example.com", "first_name": "A", "last_name": "Two", "kind": "admin"}, 403),
        (uma, "PATCH", t + "/users/" + val_user["id"], {"kind": "user"}, 403),
        (uma, "PATCH", t + "/users/" + uma_user["id"], {"kind": "admin"}, 403),
        (uma, "POST", t + "/users/%s/suspend" % val_user["id"], None, 403),
        (uma, "PATCH", t + "/users/" + val_user["id"], {"email": "mine@example.com"}, 403),
        (uma, "PATCH", t + "/users/" + val_user["id"], {"department": "Ops"}, 200),
        # A reset of an admin's password: the mail alone has it.
        (uma, "POST", t + "/users/%s/reset-password" % val_user["id"], None, 200),
    ])
    reset = answers[6]
    check(reset["temporary_password"] is None and reset["credential_delivery"] == "notification", reset)
    # The reset ended Val's sessions.
    val.expect(401, "GET", t + "/me")
    return val_user["id"]


def workflow_product(s, root):
    t = "/v1/tenants/flows"
    root.expect(201, "POST", "/v1/tenants", {"id": "flows", "name": "Flows"})
    prod = find(root.expect(200, "GET", t + "/environments")["items"], name="Production")["id"]
    project = root.expect(201, "POST", t + "/projects", {"name": "Workspace", "environment_id": prod})["id"]
    finance = root.expect(201, "POST", t + "/folders", {"name": "Finance", "parent_id": project, "inherit": False})["id"]
    payroll = root.expect(201, "POST", t + "/resources", {"type": "workflow", "name": "Payroll", "parent_id": finance})["id"]
    roles = {r["name"]: r["id"] for r in root.expect(200, "GET", t + "/roles")["items"]}
    groups = {g["name"]: g["id"] for g in root.expect(200, "GET", t + "/groups?type=system&limit=200")["items"]}
    dee_user = root.expect(201, "POST", t + "/users", {"email": "dee@example.com", "first_name": "Dee", "last_name": "Signer",
                                                       "group_ids": [groups["Workspace Designer"]]})
    ola_user = root.expect(201, "POST", t + "/users", {"email": "ola@example.com", "first_name": "Ola", "last_name": "Owner",
                                                       "group_ids": [groups["Workspace Designer"]],
                                                       "bindings": [{"role_id": roles["Manager"], "scope": finance}]})
    dee = user_session(s, "flows", "dee@example.com", dee_user["temporary_password"])
    ola = user_session(s, "flows", "ola@example.com", ola_user["temporary_password"])
    table("flows", [
        # The project's Designer does not reach the override, and cannot lift, move or delete it.
        (dee, "GET", t + "/folders/" + finance, None, 403),
        (dee, "GET", t + "/resources/" + payroll, None, 403),
        (dee, "PATCH", t + "/folders/" + finance, {"inherit": True}, 403),
        (dee, "PATCH", t + "/folders/" + finance, {"app": "other"}, 403),
        (dee, "DELETE", t + "/folders/" + finance, None, 403),
        (dee, "PATCH", t + "/resources/" + payroll, {"parent_id": project}, 403),
        # Its own holder (manage on it, and edit at the project for the parent rule) lifts it…
        (ola, "GET", t + "/resources/" + payroll, None, 200),
        (ola, "PATCH", t + "/folders/" + finance, {"inherit": True}, 200),
        (dee, "GET", t + "/resources/" + payroll, None, 200),
        # …and sets it again.
        (ola, "PATCH", t + "/folders/" + finance, {"inherit": False}, 200),
        (dee, "GET", t + "/resources/" + payroll, None, 403),
    ])


def scenario(s):
    root = s.root()
    ada = saltbox(s, root)
    val = vince(s, root)
    workflow_product(s, root)
    # The credentials the callers could not see went to the notifications topic, and only there.
    brokers = open(os.path.join(s.dir, "kafka.addr")).read().strip()
    records = [json.loads(r[3]) for r in read_topic(brokers, "custos.notifications.v1", at_least=2)]
    mails = {(m["type"], m.get("user_id")) for m in records}
    check(("user.temporary_password", ada["id"]) in mails, "Ada's mail: %s" % records)
    check(("user.temporary_password", val) in mails, "Val's reset mail: %s" % records)


def main():
    import sys
    server = Server(sys.argv[1], ["--kafka", "embedded"])
    try:
        scenario(server)
    finally:
        server.stop()
    print("ok")


if __name__ == "__main__":
    main()
