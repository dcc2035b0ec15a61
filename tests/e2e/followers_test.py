"""Followers end to end (../shared/spec/REPLICATION.md): `custos dev-kafka` in its own process,
one leader (`custos serve --kafka BROKERS`) and two followers (`custos serve --follow BROKERS
--leader URL`), each a process of its own over its own data dir, driven with python3-requests:

- a mixed workload on the leader (tenants, users, roles, groups, bindings, API clients,
  ingested events); each follower reaches the leader's `digest` for every tenant, and the same
  audit queries and access checks answer the same on all three;
- `Custos-Min-Seq` with the leader's `Custos-Seq` reads the write just made;
- a write sent to a follower lands on the leader through the 307 (requests follows it);
- a token revoked on the leader is refused by the followers within their lag;
- a follower SIGKILLed mid-stream 10 times and restarted: digests equal (nothing applied
  twice, nothing missing);
- the brokers stopped for 10 s (SIGSTOP): followers answer what they have, Custos-Min-Seq of a
  later write is 503, and they catch up once the brokers are back;
- a forged line (a producer writing a wrong prev_hash) halts that tenant on the followers,
  who say so on /readyz, and the other tenants are served.
"""
import hashlib
import hmac
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

from custos_e2e import Server, check, read_topic, start_dev_kafka
import requests

TENANTS = ["t0", "t1", "t2", "t3"]


class KeepAuthSession(requests.Session):
    """requests drops Authorization when a redirect changes host or port; a client of a
    follower keeps it for its own leader (docs/replication.md)."""

    def __init__(self, leader):
        super().__init__()
        self.leader = leader

    def rebuild_auth(self, prepared, response):
        if not prepared.url.startswith(self.leader + "/"):
            super().rebuild_auth(prepared, response)


def wait(condition, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)  # polling interval of a wait with the deadline above
    raise AssertionError("timed out waiting for " + what)


# A record's custos-mac under the replication key (core::RecordMac).
def record_mac(key, tenant, line):
    message = b"custos-record-v1\0" + tenant.encode() + b"\0" + line.encode()
    return hmac.new(key.encode(), message, "sha256").hexdigest()


# The replication key the leader authenticates its records with and the followers check.
KEY_DIR = tempfile.mkdtemp(prefix="custos-follower-e2e-key-")
KEY_FILE = os.path.join(KEY_DIR, "replication.key")
KEY = os.urandom(24).hex()


def follower_args(data_dir, brokers, leader):
    return ["--listen", "127.0.0.1:0", "--data-dir", data_dir, "--follow", brokers,
            "--leader", leader.base, "--access-log", "off", "--replication-key-file", KEY_FILE]


def get(server, token, path, min_seq=None):
    headers = {"Authorization": "Bearer " + token}
    if min_seq is not None:
        headers["Custos-Min-Seq"] = str(min_seq)
    return requests.get(server.url(path), headers=headers, timeout=10)


def digests_equal(leader, follower, token, tenants):
    for t in tenants:
        a = get(leader, token, "/v1/tenants/%s/digest" % t)
        b = get(follower, token, "/v1/tenants/%s/digest" % t)
        if a.status_code != 200 or b.status_code != 200 or a.json() != b.json():
            return False
    return True


def workload(root, leader):
    """Identity commands and ingested events on every tenant; the last Custos-Seq."""
    last = 0
    for t in TENANTS:
        base = "/v1/tenants/" + t
        r = root.call("POST", "/v1/tenants", {"id": t, "name": t.upper()})
        check(r.status_code == 201, r.text)
        role = root.expect(201, "POST", base + "/roles", {
            "name": "Auditors", "permissions": [{"resource_type": "iam.audit", "level": "view"}]})
        group = root.expect(201, "POST", base + "/groups", {"name": "Ops"})
        for i in range(5):
            user = root.expect(201, "POST", base + "/users", {
                "email": "u%d@%s.test" % (i, t), "first_name": "U", "last_name": str(i)})
            r = root.call("POST", base + "/groups/%s/members" % group["id"],
                          {"members": [{"type": "user", "id": user["id"]}]})
            check(r.status_code < 300, r.text)
        root.expect(201, "POST", base + "/bindings", {
            "subject": {"type": "group", "id": group["id"]}, "role_id": role["id"]})
        root.expect(201, "POST", base + "/api-clients", {"name": "ci"})
        r = root.call("POST", base + "/audit/events:batch", {"events": [
            {"type": "workflow.executed", "actor": {"type": "system", "id": "engine"},
             "data": {"n": k}} for k in range(200)]})
        check(r.status_code == 201, r.text)
        last = max(last, int(r.headers["Custos-Seq"]))
    return last


def main(binary):
    cluster, brokers = start_dev_kafka(binary)
    dirs = [tempfile.mkdtemp(prefix="custos-follower-e2e-") for _ in range(2)]
    followers = []
    leader = None
    try:
        with open(KEY_FILE, "w") as out:
            out.write(KEY + "\n")
        leader = Server(binary, ["--kafka", brokers, "--access-log", "off",
                                 "--replication-key-file", KEY_FILE])
        root = leader.root()
        token = root.token
        followers = [Server(binary, args=follower_args(d, brokers, leader), data_dir=d,
                            follower=True) for d in dirs]
        seq = workload(root, leader)

        # Every follower reaches the leader's digest of every tenant.
        for f in followers:
            check(get(f, token, "/v1/tenants/t0/digest", seq).status_code == 200, "min-seq")
            wait(lambda: digests_equal(leader, f, token, TENANTS), "equal digests")
            ready = requests.get(f.url("/readyz")).json()
            check(ready["role"] == "follower" and ready["halted_tenants"] == [], ready)
            check(ready["applied_seq"] >= seq, ready)

        # The same audit queries and access checks on all three.
        user = get(leader, token, "/v1/tenants/t1/users?limit=1").json()["items"][0]
        queries = ["/v1/tenants/t1/audit/events?limit=50",
                   "/v1/tenants/t1/audit/events?action=user.created&limit=100",
                   "/v1/tenants/t2/audit/events?actor=engine&limit=20",
                   "/v1/tenants/t1/users?limit=100", "/v1/tenants/t1/roles",
                   "/v1/tenants/t1/users/%s/access" % user["id"], "/v1/tenants/t1/audit/verify"]
        for q in queries:
            want = get(leader, token, q)
            check(want.status_code == 200, (q, want.text))
            for f in followers:
                got = get(f, token, q)
                check(got.status_code == 200 and got.json() == want.json(), (q, got.text))
        env = get(leader, token, "/v1/tenants/t1/environments").json()["items"][0]["id"]
        checks = {"checks": [{"subject": {"type": "user", "id": user["id"]}, "action": a,
                              "resource_id": env} for a in ("read", "execute", "administer")]}
        want = root.call("POST", "/v1/tenants/t1/access/check:batch", checks)
        check(want.status_code == 200, want.text)
        for f in followers:
            got = requests.post(f.url("/v1/tenants/t1/access/check:batch"), json=checks,
                                headers={"Authorization": "Bearer " + token})
            check(got.status_code == 200 and got.json() == want.json(), got.text)

        # Read-your-writes, and a write through a follower's redirect.
        made = root.call("POST", "/v1/tenants/t0/users", {
            "email": "ryw@t0.test", "first_name": "R", "last_name": "W"})
        check(made.status_code == 201, made.text)
        for f in followers:
            r = get(f, token, "/v1/tenants/t0/users/" + made.json()["id"],
                    made.headers["Custos-Seq"])
            check(r.status_code == 200 and r.json()["email"] == "ryw@t0.test", r.text)
        http = KeepAuthSession(leader.base)
        http.headers["Authorization"] = "Bearer " + token
        via = http.post(followers[0].url("/v1/tenants/t0/users"),
                        json={"email": "via@t0.test", "first_name": "V", "last_name": "F"})
        check(via.status_code == 201 and via.history and via.history[0].status_code == 307,
              via.text)
        check(get(leader, token, "/v1/tenants/t0/users/" + via.json()["id"]).status_code == 200,
              "the redirected write is on the leader")

        # A token revoked on the leader stops working on the followers.
        client = root.expect(201, "POST", "/v1/tenants/t0/api-clients", {"name": "temp"})
        ct = leader.token(client["client_id"], client["client_secret"]).json()["access_token"]
        seq = int(root.call("GET", "/v1/tenants/t0").headers.get("Custos-Seq", "0") or 0)
        for f in followers:
            wait(lambda: get(f, ct, "/v1/tenants/t0/me").status_code == 200, "token accepted")
        r = requests.post(leader.url("/oauth/revoke"), data={"token": ct},
                          headers={"Authorization": "Bearer " + ct})
        check(r.status_code == 200, r.text)
        for f in followers:
            wait(lambda: get(f, ct, "/v1/tenants/t0/me").status_code == 401, "token refused",
                 timeout=10)

        # SIGKILL the second follower mid-stream, ten times, while the leader takes writes.
        stop, errors = threading.Event(), []

        def ingest():
            i = 0
            while not stop.is_set():
                t = TENANTS[i % 3]
                r = root.call("POST", "/v1/tenants/%s/audit/events:batch" % t, {"events": [
                    {"type": "job.ran", "actor": {"type": "system", "id": "cron"},
                     "data": {"i": i, "k": k}} for k in range(20)]})
                if r.status_code != 201:
                    errors.append(r.text)
                    return
                i += 1

        writer = threading.Thread(target=ingest)
        writer.start()
        for _ in range(10):
            applied = requests.get(followers[1].url("/readyz")).json()["applied_seq"]
            wait(lambda: requests.get(followers[1].url("/readyz")).json()["applied_seq"] > applied,
                 "the follower applying")
            followers[1].kill()
            followers[1] = Server(binary, args=follower_args(dirs[1], brokers, leader),
                                  data_dir=dirs[1], follower=True)
        stop.set()
        writer.join()
        check(not errors, errors)
        for f in followers:
            wait(lambda: digests_equal(leader, f, token, TENANTS), "digests after the kills")
        for t in TENANTS[:3]:
            want = get(leader, token, "/v1/tenants/%s/audit/events?limit=1000" % t).json()
            for f in followers:
                got = get(f, token, "/v1/tenants/%s/audit/events?limit=1000" % t).json()
                check(got == want, "the same events on the follower for " + t)

        # The brokers away for 10 s: stale reads, a Custos-Min-Seq that waits in vain.
        cluster.send_signal(signal.SIGSTOP)
        try:
            away = root.call("POST", "/v1/tenants/t1/users", {
                "email": "away@t1.test", "first_name": "A", "last_name": "W"})
            check(away.status_code == 201, away.text)
            started = time.monotonic()
            for f in followers:
                check(get(f, token, "/v1/tenants/t1/users?limit=1").status_code == 200,
                      "a stale read is served")
                r = get(f, token, "/v1/tenants/t1/users/" + away.json()["id"],
                        away.headers["Custos-Seq"])
                check(r.status_code == 503 and r.headers.get("Retry-After") == "1", r.text)
            time.sleep(max(0.0, 10 - (time.monotonic() - started)))  # the outage lasts 10 s
            for f in followers:
                ready = requests.get(f.url("/readyz")).json()
                print("during the outage: " + json.dumps(ready))
                check(ready["status"] == "ready" and ready["brokers"] == "away", ready)
                check(ready["lag_seconds"] >= 5, ready)
        finally:
            cluster.send_signal(signal.SIGCONT)
        for f in followers:
            wait(lambda: get(f, token, "/v1/tenants/t1/users/" + away.json()["id"],
                             away.headers["Custos-Seq"]).status_code == 200, "catch-up", 60)
            wait(lambda: digests_equal(leader, f, token, TENANTS), "digests after the outage")
            wait(lambda: requests.get(f.url("/readyz")).json()["brokers"] == "up", "brokers up")

        # A forged line on t3: a record that does not follow the chain.
        records = [r for r in read_topic(brokers, "custos.audit.v1", 1) if r[2] == "t3"]
        partition, _, _, value, headers = max(records, key=lambda r: json.loads(r[3])["tenant_seq"])
        line = json.loads(value)  # keeps the stored member order
        del line["hash"]
        line["id"] = line["id"][:-1] + ("0" if line["id"][-1] != "0" else "1")
        line["seq"] += 1000000
        line["tenant_seq"] += 1
        line["prev_hash"] = "f" * 64  # not the hash of the line before it
        body = json.dumps(line, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256((line["prev_hash"] + "\n" + body).encode()).hexdigest()
        forged = body[:-1] + ',"hash":"%s"}' % digest  # a line whose own hash is right
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": brokers})
        # Without the replication key, the record's headers copied from the real one: its
        # custos-mac is not the forged line's, and the followers skip it, halting nothing.
        check(headers.get("custos-mac") == record_mac(KEY, "t3", value),
              "the leader's records carry their custos-mac")
        p.produce("custos.audit.v1", key="t3", value=forged, partition=partition,
                  headers=list(headers.items()))
        check(p.flush(30) == 0, "the forged record was not produced")
        for f in followers:
            wait(lambda: requests.get(f.url("/readyz")).json()["unauthenticated_records"] == 1,
                 "the unauthenticated record skipped")
            check(requests.get(f.url("/readyz")).json()["halted_tenants"] == [], "nothing halted")
            check(get(f, token, "/v1/tenants/t3/users").status_code == 200, "t3 still served")
        # With the key (a holder of it, as a leader): the chain check halts t3.
        mac = record_mac(KEY, "t3", forged)
        p.produce("custos.audit.v1", key="t3", value=forged, partition=partition,
                  headers=[(k, v) for k, v in headers.items() if k != "custos-mac"] +
                  [("custos-mac", mac)])
        check(p.flush(30) == 0, "the forged record was not produced")
        for f in followers:
            wait(lambda: requests.get(f.url("/readyz")).json()["halted_tenants"] == ["t3"],
                 "t3 halted")
            why = requests.get(f.url("/readyz")).json()["halted"]["t3"]
            check("prev_hash is not the hash of the event before it" in why, why)
            r = get(f, token, "/v1/tenants/t3/users")
            check(r.status_code == 503 and "t3" in r.json()["detail"], r.text)
            # Only a caller the route takes learns why.
            r = requests.get(f.url("/v1/tenants/t3/users"))
            check(r.status_code == 401, r.text)
            check(get(f, token, "/v1/tenants/t0/users").status_code == 200, "t0 still served")
        check(get(leader, token, "/v1/tenants/t3/users").status_code == 200, "the leader serves t3")
        metrics = requests.get(followers[0].url("/metrics")).text
        check("custos_follower_halted_tenants 1\n" in metrics, "halted gauge")

        for f in followers:
            f.stop()
        leader.stop()
    finally:
        for f in followers:
            if f.proc.poll() is None:
                f.kill()
        if leader is not None and leader.proc.poll() is None:
            leader.kill()
        cluster.send_signal(signal.SIGCONT)
        cluster.terminate()
        cluster.wait(timeout=30)
        for d in dirs + [KEY_DIR]:
            shutil.rmtree(d, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1])
