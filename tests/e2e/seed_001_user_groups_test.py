"""Seed 001 (user groups: system groups per tenant, environment and project; the most
permissive group wins; Tenant Admin manages users but sees no project)."""
from custos_e2e import Session, check, find, run


def login_changed(s, tenant, email, temp):
    r = s.login(tenant, email, temp)
    check(r.status_code == 200, r.text)
    session = Session(s, r.json()["access_token"])
    session.expect(200, "POST", "/v1/tenants/%s/auth/password" % tenant,
                   {"current_password": temp, "new_password": "another long passphrase"})
    # A password change ends every session of the user (../shared/spec/ACCESS.md rule 8): log in
    # again.
    session.expect(401, "GET", "/v1/tenants/%s/me" % tenant)
    r = s.login(tenant, email, "another long passphrase")
    check(r.status_code == 200, r.text)
    return Session(s, r.json()["access_token"])


def scenario(s):
    root = s.root()
    root.expect(201, "POST", "/v1/tenants", {"id": "saltbox", "name": "Saltbox",
                                              "environments": ["Production", "Staging", "Development"]})
    t = "/v1/tenants/saltbox"
    prod = find(root.expect(200, "GET", t + "/environments")["items"], name="Production")["id"]
    project = root.expect(201, "POST", t + "/projects", {"name": "Acme Integration", "environment_id": prod})
    groups = root.expect(200, "GET", t + "/groups?type=system&limit=200")["items"]
    for level in ("User", "Operator", "Designer", "Manager"):
        g = find(groups, name="Acme Integration " + level)
        check(g["scope"] == project["id"], g)
    for name in ("Tenant User", "Tenant Admin", "Staging Operator", "Development Manager"):
        find(groups, name=name)
    wf = root.expect(201, "POST", t + "/resources", {"type": "workflow", "name": "Sync",
                                                       "parent_id": project["id"]})
    gid = lambda name: find(groups, name=name)["id"]
    people = [("Pat", "Brown", "Sales", ["Production User", "Acme Integration Designer"]),
              ("Oli", "Adams", "Ops", ["Production Operator"]),
              ("Tam", "Clark", "IT", ["Tenant Admin"]),
              ("Nob", "Dent", "Sales", [])]
    temps = {}
    for first, last, dept, member_of in people:
        u = root.expect(201, "POST", t + "/users", {
            "email": first.lower() + "@example.com", "first_name": first, "last_name": last,
            "department": dept, "group_ids": [gid(g) for g in member_of]})
        temps[first] = (u["id"], u["temporary_password"])

    def check_access(who, action, expect):
        r = root.expect(200, "POST", t + "/access/check", {
            "subject": {"type": "user", "id": temps[who][0]}, "action": action,
            "resource_id": wf["id"]})
        check(r["allowed"] == expect, "%s %s: %s" % (who, action, r))
        return r
    # The most permissive group wins: Designer over User.
    check(check_access("Pat", "update", True)["level"] == "edit", "Pat edits")
    check_access("Oli", "execute", True)
    check_access("Oli", "update", False)
    check_access("Tam", "read", False)
    check_access("Nob", "read", False)
    # Tenant Admin manages users.
    tam = login_changed(s, "saltbox", "tam@example.com", temps["Tam"][1])
    tam.expect(201, "POST", t + "/users", {"email": "new@example.com", "first_name": "New",
                                           "last_name": "Hire", "department": "IT"})
    # Filter and sort users by first name, last name, email, department and status.
    names = lambda q: [u["first_name"] for u in tam.expect(200, "GET", t + "/users?" + q)["items"]]
    check(names("sort=first_name") == ["New", "Nob", "Oli", "Pat", "Tam"], names("sort=first_name"))
    check(names("sort=-last_name")[0] == "New", names("sort=-last_name"))  # Hire > Dent…
    check(names("sort=email&department=Sales") == ["Nob", "Pat"], names("department=Sales"))
    tam.expect(200, "POST", t + "/users/%s/suspend" % temps["Nob"][0])
    check(names("status=suspended") == ["Nob"], names("status=suspended"))
    check(names("sort=status")[-1] == "Nob", names("sort=status"))
    # Pages: no duplicates, no gaps.
    seen, cursor = [], None
    while True:
        page = tam.expect(200, "GET", t + "/users?sort=last_name&limit=2" + ("&cursor=" + cursor if cursor else ""))
        seen += [u["last_name"] for u in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    check(seen == sorted(seen, key=str.lower) and len(seen) == 5, seen)


run(scenario)
