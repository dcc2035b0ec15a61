"""Seed 002 (users, groups and roles with access controls per entity type; CSV import of
many users; locked accounts)."""
from custos_e2e import Session, check, find, run


def scenario(s):
    root = s.root()
    root.expect(201, "POST", "/v1/tenants", {"id": "emporix", "name": "Emporix"})
    t = "/v1/tenants/emporix"
    prod = find(root.expect(200, "GET", t + "/environments")["items"], name="Production")["id"]
    shop = root.expect(201, "POST", t + "/projects", {"name": "Shop", "environment_id": prod})
    product = root.expect(201, "POST", t + "/resources", {"type": "product", "name": "Sku 1", "parent_id": shop["id"]})
    levels = {"OE Viewer": "view", "OE Editor": "edit", "OE Manager": "manage", "OE Admin": "admin"}
    for name, level in levels.items():
        role = root.expect(201, "POST", t + "/roles", {"name": name + " Rights", "permissions": [
            {"resource_type": "product", "level": level}, {"resource_type": "iam.user", "level": "view"}]})
        group = root.expect(201, "POST", t + "/groups", {"name": name, "description": "OE " + level})
        root.expect(201, "POST", t + "/bindings", {"subject": {"type": "group", "id": group["id"]},
                                                   "role_id": role["id"]})
    root.expect(409, "POST", t + "/groups", {"name": "oe viewer"})
    # Many users at once: CSV with a bad line, all or nothing, then best effort.
    csv = ("email,first_name,last_name,department,groups,tags\n"
           "vi@example.com,Vi,Ewer,Catalog,OE Viewer,Region=EU\n"
           "ed@example.com,Ed,Itor,Catalog,OE Editor,\n"
           "not-an-email,Bad,Line,,,\n"
           "ma@example.com,Ma,Nager,Catalog,OE Manager;OE Viewer,Region=US;Team=Web\n")
    r = root.call("POST", t + "/users:import", headers={"Content-Type": "text/csv"}, data=csv)
    check(r.status_code == 200 and r.json() == {"created": 0, "failed": [
        {"line": 4, "error": "email: must be a valid email address"}]}, r.text)
    check(root.expect(200, "GET", t + "/users")["items"] == [], "nothing imported")
    r = root.call("POST", t + "/users:import?mode=best_effort", headers={"Content-Type": "text/csv"}, data=csv)
    check(r.status_code == 200 and r.json()["created"] == 3 and r.json()["failed"][0]["line"] == 4, r.text)
    users = root.expect(200, "GET", t + "/users?sort=email")["items"]
    check([u["email"] for u in users] == ["ed@example.com", "ma@example.com", "vi@example.com"], users)
    check(find(users, email="ma@example.com")["groups_count"] == 2, users)
    exported = root.call("GET", t + "/users:export")
    check(exported.status_code == 200 and exported.text.startswith("id,email,"), exported.text[:200])
    check("Region=US;Team=Web" in exported.text, exported.text)
    # Access per entity type through the groups.
    def allowed(email, action):
        uid = find(users, email=email)["id"]
        return root.expect(200, "POST", t + "/access/check", {
            "subject": {"type": "user", "id": uid}, "action": action, "resource_id": product["id"]})["allowed"]
    check(allowed("vi@example.com", "read") and not allowed("vi@example.com", "update"), "viewer")
    check(allowed("ed@example.com", "update") and not allowed("ed@example.com", "delete"), "editor")
    check(allowed("ma@example.com", "delete"), "manager")
    # A locked account (grey in the dashboard) after repeated failures.
    vi = find(users, email="vi@example.com")
    temp = root.expect(200, "POST", t + "/users/%s/reset-password" % vi["id"])["temporary_password"]
    for _ in range(5):
        check(s.login("emporix", "vi@example.com", "wrong").status_code == 401, "failure")
    check(s.login("emporix", "vi@example.com", temp).status_code == 401, "locked")
    check(root.expect(200, "GET", t + "/users/" + vi["id"])["status"] == "locked", "status locked")
    root.expect(200, "POST", t + "/users/%s/unlock" % vi["id"])
    check(s.login("emporix", "vi@example.com", temp).status_code == 200, "unlocked")


run(scenario)
