"""Crash harness: `custos serve --kafka BROKERS` SIGKILLed under mixed HTTP load, round after
round (20 by default, CUSTOS_CRASH_ROUNDS or --rounds N), on one data dir, with
`custos dev-kafka` in a process of its own. Writers post single and batched application
events, create and delete groups and set user tags; a reader queries meanwhile. After every
restart the acknowledged writes of the round before must be there and every tenant's chain
must verify (GET …/audit/verify). At the end:

- every acknowledged event is in the log (`custos dump`), every acknowledged group exists
  and every acknowledged deletion holds, each tag holds its last acknowledged value or one
  sent after it;
- `custos rebuild --check`: every chain verifies and the state the server kept equals the
  state rebuilt from the log (digest);
- custos.audit.v1, deduplicated by id, holds exactly the log's events.

A write that was in flight at the kill may or may not have happened; only acknowledged
writes are promised.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from custos_e2e import Server, check, read_topic, start_dev_kafka
import requests

TENANTS = ["c%02d" % i for i in range(16)]
WRITERS = 4


class Acked:
    """What the server acknowledged, and what was sent without an answer."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events = set()
        self.groups = {}         # id -> tenant, created and not deleted
        self.deleted = {}        # id -> tenant, deleted
        self.uncertain = set()   # groups whose deletion was sent and not answered
        self.tags = {}           # (tenant, user, key) -> [last acked value, later values sent]
        self.writes = 0


def writer(server, token, users, acked, stop, seed):
    rng = random.Random(seed)
    http = requests.Session()
    http.headers["Authorization"] = "Bearer " + token
    n = 0
    while not stop.is_set():
        tenant = rng.choice(TENANTS)
        base = server.url("/v1/tenants/" + tenant)
        kind = rng.random()
        n += 1
        try:
            if kind < 0.35:
                r = http.post(base + "/audit/events", json={
                    "type": "workflow.executed", "data": {"writer": seed, "n": n}}, timeout=10)
                if r.status_code == 201:
                    with acked.lock:
                        acked.events.add(r.json()["id"])
            elif kind < 0.55:
                r = http.post(base + "/audit/events:batch", json={"events": [
                    {"type": "connector.changed", "data": {"writer": seed, "n": n, "k": k}}
                    for k in range(5)]}, timeout=10)
                if r.status_code == 201:
                    with acked.lock:
                        acked.events.update(e["id"] for e in r.json()["events"])
            elif kind < 0.75:
                r = http.post(base + "/groups", json={"name": "g-%d-%d" % (seed, n)}, timeout=10)
                if r.status_code == 201:
                    with acked.lock:
                        acked.groups[r.json()["id"]] = tenant
            elif kind < 0.85:
                with acked.lock:
                    mine = [g for g, t in acked.groups.items() if t == tenant]
                if not mine:
                    continue
                group = rng.choice(mine)
                with acked.lock:
                    acked.uncertain.add(group)
                r = http.delete(base + "/groups/" + group, timeout=10)
                with acked.lock:
                    if r.status_code in (204, 404):  # deleted, by this writer or another
                        acked.groups.pop(group, None)
                        acked.uncertain.discard(group)
                        if r.status_code == 204:
                            acked.deleted[group] = tenant
            else:
                key = ("w%d" % seed)
                value = "v%d" % n
                slot = (tenant, users[tenant], key)
                with acked.lock:
                    acked.tags.setdefault(slot, [None, []])[1].append(value)
                r = http.put(base + "/users/%s/tags/%s" % (users[tenant], key),
                             json={"value": value}, timeout=10)
                if r.status_code == 200:
                    with acked.lock:
                        acked.tags[slot] = [value, []]
            if r.status_code >= 500:
                raise AssertionError("%s: %d %s" % (r.url, r.status_code, r.text))
            with acked.lock:
                acked.writes += 1
        except requests.RequestException:
            return  # the server is gone


def reader(server, token, stop):
    http = requests.Session()
    http.headers["Authorization"] = "Bearer " + token
    while not stop.is_set():
        tenant = random.choice(TENANTS)
        try:
            for path in ("/audit/events?limit=20&action=workflow.*", "/groups?limit=20"):
                r = http.get(server.url("/v1/tenants/%s%s" % (tenant, path)), timeout=10)
                if r.status_code >= 500:
                    raise AssertionError(r.text)
        except requests.RequestException:
            return


def verify_chains(server, token):
    http = requests.Session()
    http.headers["Authorization"] = "Bearer " + token
    for tenant in TENANTS:
        v = http.get(server.url("/v1/tenants/%s/audit/verify" % tenant)).json()
        check(v["ok"], "tenant %s chain: %s" % (tenant, v))


def check_groups(server, token, acked):
    http = requests.Session()
    http.headers["Authorization"] = "Bearer " + token
    for group, tenant in list(acked.groups.items()):
        r = http.get(server.url("/v1/tenants/%s/groups/%s" % (tenant, group)))
        if group in acked.uncertain:
            # Its deletion was in flight at the kill: either outcome, now settled.
            acked.uncertain.discard(group)
            if r.status_code == 404:
                acked.groups.pop(group)
                continue
        check(r.status_code == 200, "acknowledged group %s lost: %d" % (group, r.status_code))
    for group, tenant in list(acked.deleted.items()):
        r = http.get(server.url("/v1/tenants/%s/groups/%s" % (tenant, group)))
        check(r.status_code == 404, "acknowledged deletion of %s undone" % group)
    for (tenant, user, key), (last, later) in list(acked.tags.items()):
        got = http.get(server.url("/v1/tenants/%s/users/%s" % (tenant, user))).json()
        value = (got.get("tags") or {}).get(key)
        allowed = ([last] if last is not None else [None]) + later
        check(value in allowed, "tag %s of %s is %r, acknowledged %r (then sent %r)"
              % (key, user, value, last, later))


def main(binary, rounds):
    cluster, brokers = start_dev_kafka(binary, "--partitions", "32")
    data_dir = tempfile.mkdtemp(prefix="custos-crash-")
    args = ["--kafka", brokers, "--workers", "2"]
    acked = Acked()
    try:
        server = Server(binary, args, data_dir=data_dir)
        root = server.root()
        users = {}
        for t in TENANTS:
            root.expect(201, "POST", "/v1/tenants", {"id": t, "name": t.upper()})
            users[t] = root.expect(201, "POST", "/v1/tenants/%s/users" % t, {
                "email": "owner@%s.example" % t, "first_name": "O", "last_name": "W"})["id"]
        started = time.monotonic()
        # rounds == 0: the same load once, stopped without a kill (a baseline for the checks).
        for round_no in range(max(rounds, 1)):
            if round_no > 0:
                server = Server(binary, args, data_dir=data_dir)
                root = server.root()
                verify_chains(server, root.token)
                check_groups(server, root.token, acked)
            stop = threading.Event()
            threads = [threading.Thread(target=writer,
                                        args=(server, root.token, users, acked, stop,
                                              round_no * 100 + w))
                       for w in range(WRITERS)]
            threads.append(threading.Thread(target=reader, args=(server, root.token, stop)))
            for t in threads:
                t.start()
            time.sleep(random.uniform(0.3, 1.2))  # the load runs for a random while
            if rounds > 0:
                server.kill()
            stop.set()
            for t in threads:
                t.join()
            print("round %d: %d writes acknowledged so far, %d events"
                  % (round_no + 1, acked.writes, len(acked.events)), flush=True)

        # The last start: the relay catches up, then a clean stop.
        if rounds > 0:
            server = Server(binary, args, data_dir=data_dir)
            root = server.root()
        verify_chains(server, root.token)
        check_groups(server, root.token, acked)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            k = requests.get(server.url("/readyz")).json()["kafka"]
            if k["lag_events"] == 0:
                break
            time.sleep(0.1)  # polling interval of a wait with the deadline above
        check(k["lag_events"] == 0, "the relay did not catch up: %s" % k)
        server.stop()

        log_ids = set()
        for tenant in TENANTS:
            out = subprocess.run([binary, "dump", "--data-dir", data_dir, "--tenant", tenant],
                                 capture_output=True, text=True, check=True).stdout
            log_ids.update(json.loads(line)["id"] for line in out.splitlines() if line)
        lost = acked.events - log_ids
        check(not lost, "%d acknowledged events lost, e.g. %s" % (len(lost), sorted(lost)[:3]))

        rebuilt = subprocess.run([binary, "rebuild", "--data-dir", data_dir, "--check"],
                                 capture_output=True, text=True)
        check(rebuilt.returncode == 0, "rebuild --check: %s %s" % (rebuilt.stdout, rebuilt.stderr))
        report = json.loads(rebuilt.stdout)
        check(report["equal"] and report["chains_ok"], report)

        topic = read_topic(brokers, "custos.audit.v1", len(log_ids))
        topic_ids, records = {json.loads(r[3])["id"] for r in topic}, len(topic)
        check(topic_ids == log_ids, "topic (deduplicated) %d ids, log %d: missing %d, extra %d"
              % (len(topic_ids), len(log_ids), len(log_ids - topic_ids), len(topic_ids - log_ids)))
        print("%d rounds in %.0f s: %d acknowledged writes, %d events in the log, %d records "
              "on the topic (%d repeats), state digest equal after rebuild"
              % (rounds, time.monotonic() - started, acked.writes, len(log_ids), records,
                 records - len(log_ids)))
    finally:
        cluster.terminate()
        cluster.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    rounds = int(os.environ.get("CUSTOS_CRASH_ROUNDS", "20"))
    if "--rounds" in sys.argv:
        rounds = int(sys.argv[sys.argv.index("--rounds") + 1])
    main(sys.argv[1], rounds)
