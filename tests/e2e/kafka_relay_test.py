"""The Kafka relay end to end: `custos dev-kafka` in its own process, `custos serve --kafka
<its brokers>` ingesting application events over HTTP from several threads, SIGKILLed in
the middle of the stream and started again on the same data dir. Then Debian's
python3-confluent-kafka and kcat read the topics as a SIEM and a mailer would:

- custos.audit.v1 holds every event at least once, and deduplicated by `id` exactly the
  log's events (read back with `custos dump`), each tenant's in tenant_seq order, with key
  and headers; every acknowledged event is among them;
- custos.audit.ocsf.v1 holds the same events as OCSF records;
- custos.notifications.v1 carries the temporary password and the invitation link, which
  appear nowhere on the audit topics.
"""
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from custos_e2e import Server, check, read_topic, start_dev_kafka
import requests

TENANTS = ["t%d" % i for i in range(8)]
BATCH = 50


def ingest(server, token, acked, stop, errors):
    """Posts batches round-robin over the tenants until told to stop or the server dies."""
    http = requests.Session()
    http.headers["Authorization"] = "Bearer " + token
    i = 0
    while not stop.is_set():
        tenant = TENANTS[i % len(TENANTS)]
        body = {"events": [{"type": "workflow.executed",
                            "actor": {"type": "system", "id": "engine"},
                            "data": {"batch": i, "n": k}} for k in range(BATCH)]}
        try:
            r = http.post(server.url("/v1/tenants/%s/audit/events:batch" % tenant), json=body,
                          timeout=10)
        except requests.RequestException:
            return  # the server is gone
        if r.status_code != 201:
            errors.append(r.text)
            return
        acked.update(e["id"] for e in r.json()["events"])
        i += 1


def kafka_lag(server):
    r = requests.get(server.url("/readyz"), timeout=10)
    return r.json()["kafka"]


def main(binary):
    cluster, brokers = start_dev_kafka(binary)
    data_dir = tempfile.mkdtemp(prefix="custos-kafka-e2e-")
    try:
        args = ["--kafka", brokers]
        first = Server(binary, args, data_dir=data_dir)
        root = first.root()
        for t in TENANTS:
            root.expect(201, "POST", "/v1/tenants", {"id": t, "name": t.upper()})

        acked, stop, errors = set(), threading.Event(), []
        writers = [threading.Thread(target=ingest, args=(first, root.token, acked, stop, errors))
                   for _ in range(4)]
        for w in writers:
            w.start()
        deadline = time.monotonic() + 60
        while len(acked) < 4000 and time.monotonic() < deadline and not errors:
            time.sleep(0.05)  # polls the writers' progress
        check(not errors, errors)
        check(len(acked) >= 4000, "only %d events acknowledged" % len(acked))
        first.kill()  # mid-stream: writers and the relay are both busy
        stop.set()
        for w in writers:
            w.join()
        acked_before_kill = set(acked)

        second = Server(binary, args, data_dir=data_dir)
        root = second.root()
        stop.clear()
        more = threading.Thread(target=ingest, args=(second, root.token, acked, stop, errors))
        more.start()
        deadline = time.monotonic() + 120
        while (len(acked) < len(acked_before_kill) + 1000 and not errors
               and time.monotonic() < deadline):
            time.sleep(0.05)  # polling interval of a wait with the deadline above
        stop.set()
        more.join()
        check(not errors, errors)
        check(len(acked) >= len(acked_before_kill) + 1000,
              "the restarted server acknowledged too few writes within 120 s")

        # The mailer's messages: a temporary password and an invitation link.
        t = "/v1/tenants/t0"
        user = root.expect(201, "POST", t + "/users", {
            "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"})
        password = user["temporary_password"]
        inv = root.expect(201, "POST", t + "/invitations", {"email": "grace@example.com"})

        # The relay catches up: lag 0 on /readyz and /metrics.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            k = kafka_lag(second)
            if k["lag_events"] == 0 and k["state"] == "up":
                break
            time.sleep(0.1)  # polling interval of a wait with the deadline above
        k = kafka_lag(second)
        check(k["lag_events"] == 0 and k["lag_seconds"] == 0, k)
        metrics = requests.get(second.url("/metrics")).text
        check("custos_kafka_relay_lag_events 0\n" in metrics, "lag metric")
        second.stop()

        # The log, read back offline.
        log = {}
        for tenant in TENANTS:
            out = subprocess.run([binary, "dump", "--data-dir", data_dir, "--tenant", tenant],
                                 capture_output=True, text=True, check=True).stdout
            log[tenant] = [json.loads(line)["id"] for line in out.splitlines() if line]
        log_ids = {i for ids in log.values() for i in ids}
        total = len(log_ids)
        check(acked_before_kill <= log_ids and acked <= log_ids, "an acknowledged event is missing")

        audit = read_topic(brokers, "custos.audit.v1", total)
        firsts, seen = {}, set()
        for _, _, key, value, headers in audit:
            event = json.loads(value)
            check(key == event["tenant"] == headers["tenant"], (key, headers))
            check(headers["type"] == event["type"] and headers["schema"] == "custos.event.1",
                  headers)
            if event["id"] not in seen:
                seen.add(event["id"])
                firsts.setdefault(key, []).append(event["id"])
        check(seen == log_ids, "topic ids (deduplicated) differ from the log's: %d vs %d"
              % (len(seen), len(log_ids)))
        check(firsts == log, "each tenant's events in log order")
        print("audit topic: %d records for %d events (%d repeats after the SIGKILL)"
              % (len(audit), total, len(audit) - total))

        ocsf = read_topic(brokers, "custos.audit.ocsf.v1", total)
        ocsf_ids = {json.loads(v)["metadata"]["uid"] for _, _, _, v, _ in ocsf}
        check(ocsf_ids == log_ids, "OCSF topic ids differ from the log's")

        notes = read_topic(brokers, "custos.notifications.v1", 2)
        by_type = {json.loads(v)["type"]: json.loads(v) for _, _, _, v, _ in notes}
        check(by_type["user.temporary_password"]["temporary_password"] == password, by_type)
        check(by_type["user.temporary_password"]["email"] == "ada@example.com", by_type)
        link = by_type["invitation.link"]
        check(link["token"] == inv["token"] and link["link"].endswith("?token=" + inv["token"]),
              link)
        for _, _, _, value, _ in audit + ocsf:
            check(password not in value and inv["token"] not in value, "a secret on an audit topic")

        # kcat, as an operator would tail the topic.
        kc = subprocess.run(["kcat", "-b", brokers, "-t", "custos.audit.v1", "-C", "-e", "-q",
                             "-f", "%k %h\\n"], capture_output=True, text=True, timeout=120)
        check(kc.returncode == 0, kc.stderr)
        lines = kc.stdout.splitlines()
        check(len(lines) == len(audit), "kcat read %d records, expected %d" % (len(lines), len(audit)))
        check(all("type=" in l and "schema=custos.event.1" in l for l in lines), lines[:3])
    finally:
        cluster.terminate()
        cluster.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1])
