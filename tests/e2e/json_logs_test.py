"""`custos serve --log-format json` prints only JSON lines: one object per line with `time`,
`level` and `msg`, and fields as members — through a run that starts, serves, relays to
Kafka, fails to mail, purges by retention and stops, twice over one data dir (the second
run 31 days ahead, so that the background retention purge has work).

    Issue 16: "`build/custos serve --log-format json` prints only JSON lines (a test parses
    every line of a run that starts, serves, relays to Kafka, purges and stops)."
"""
import json
import sys

from custos_e2e import Server, check, free_port, wait_metric


def lines_of(server):
    server.log_thread.join(timeout=30)
    return server.stderr_seen.decode().splitlines()


def parse_all(lines):
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError("not a JSON line: %r" % line)
        check(isinstance(record, dict) and {"time", "level", "msg"} <= set(record), line)
        check(record["level"] in ("debug", "info", "warn", "error"), line)
        check(all(isinstance(v, str) for v in record.values()), line)
        records.append(record)
    return records


def main(binary):
    common = ["--log-format", "json", "--kafka", "embedded",
              "--smtp", "smtp://127.0.0.1:%d" % free_port(), "--mail-from", "ops@acme.example"]
    first = Server(binary, common)
    try:
        root = first.root()
        root.expect(201, "POST", "/v1/tenants", {"id": "acme", "name": "Acme", "plan": "free"})
        for i in range(5):
            root.expect(201, "POST", "/v1/tenants/acme/users", {
                "email": "u%d@example.com" % i, "first_name": "U", "last_name": str(i)})
        wait_metric(first, "custos_kafka_relay_delivered_total", 5)   # relayed to Kafka
        wait_metric(first, "custos_mail_retries_total", 1)            # the mail is refused
    finally:
        first.proc.send_signal(15)
        check(first.proc.wait(timeout=30) == 0, "clean stop")
    records = parse_all(lines_of(first))
    msgs = [r["msg"] for r in records]
    check(any(m.startswith("listening on ") for m in msgs), msgs)
    check(msgs[-1] == "stopped", msgs)
    mail = [r for r in records if r["msg"].startswith("a mail is not sent yet")]
    check(mail and mail[0]["tenant"] == "acme" and mail[0]["type"] == "user.temporary_password",
          mail)

    later = Server(binary, common + ["--clock-offset", str(31 * 86400), "--retention-interval", "1"],
                   data_dir=first.dir)
    try:
        wait_metric(later, "custos_retention_purged_events_total", 1)
    finally:
        later.own_dir = True
        later.stop()
    records = parse_all(lines_of(later))
    purged = [r for r in records if r["msg"] == "retention purged events"]
    check(purged and int(purged[0]["events"]) > 0, [r["msg"] for r in records])
    check(any(r["level"] == "warn" and r["msg"].startswith("the clock is set") for r in records),
          records)
    print("ok")


main(sys.argv[1])
