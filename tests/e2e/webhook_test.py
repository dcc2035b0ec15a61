"""The webhook sink end to end (issue 18): `custos serve --webhook https://…` delivering every
stored event to a small HTTPS receiver written here (python3's http.server and ssl, with a
self-signed certificate from python3-cryptography) while the receiver answers 500, drops
connections without an answer, is stopped and started again on the same port, and the
server itself is restarted; then the same with `--webhook-format splunk-hec`.

    Issue 18, "Show it": "the webhook sink delivers every event exactly once per id through a
    receiver that fails and restarts (a small python3 HTTPS server in the test), and its
    signature checks."

"Exactly once per id" is checked on what the receiver accepted (answered 2xx after checking
the signature): every event of the log is in it once, none twice, each tenant's in tenant_seq
order. Posts it refused or dropped are sent again, and those copies are counted apart.
"""
import hashlib
import hmac
import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import requests

from custos_e2e import Server, check, free_port, metric, self_signed

SECRET = "webhook-secret-of-the-e2e-test-0123456789"
TENANTS = ["wh-a", "wh-b", "wh-c"]


class Receiver:
    """An HTTPS endpoint on a fixed port. `mode`: "ok" (check the signature, keep the batch,
    200), "fail" (500), "drop" (read the batch, close without answering). stop() and start()
    take it down and bring it back on the same port."""

    def __init__(self, port, cert, key, hec=False):
        self.port, self.cert, self.key, self.hec = port, cert, key, hec
        self.mode = "ok"
        self.lock = threading.Lock()
        self.accepted = []  # (Custos-Batch, [event dicts]) of each batch answered 200
        self.refused = 0  # posts answered 500 or dropped
        self.bad = []  # what failed a check
        self.httpd = None
        self.start()

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                mode = receiver.mode
                if mode == "drop":
                    with receiver.lock:
                        receiver.refused += 1
                    self.close_connection = True
                    return
                if mode == "fail":
                    with receiver.lock:
                        receiver.refused += 1
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                problems = receiver.check(self.headers, body)
                if problems:
                    with receiver.lock:
                        receiver.bad.append(problems)
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                events = [json.loads(line) for line in body.decode().splitlines()]
                if receiver.hec:
                    events = [e["event"] for e in events]
                with receiver.lock:
                    receiver.accepted.append((self.headers["Custos-Batch"], events))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def check(self, headers, body):
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(headers.get("Custos-Signature", ""), expected):
            return "signature %r" % headers.get("Custos-Signature")
        if self.hec:
            if headers.get("Authorization") != "Splunk " + SECRET:
                return "authorization %r" % headers.get("Authorization")
            if headers.get("Content-Type") != "application/json":
                return "content type %r" % headers.get("Content-Type")
        elif headers.get("Content-Type") != "application/x-ndjson":
            return "content type %r" % headers.get("Content-Type")
        return None

    def accepted_events(self):
        with self.lock:
            return [e for _, events in self.accepted for e in events]


def log_events(binary, data_dir):
    """Every stored event by tenant, read with `custos dump` beside the running server."""
    out = {}
    for tenant in TENANTS:
        r = subprocess.run([binary, "dump", "--data-dir", data_dir, "--tenant", tenant],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, r.stderr)
        out[tenant] = [json.loads(line) for line in r.stdout.splitlines()]
    return out


def wait_for(condition, what, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        check(time.monotonic() < deadline, "timed out waiting for " + what)
        time.sleep(0.05)  # polling interval of a wait with a deadline (checked above)


class Writers:
    """Threads ingesting events into every tenant until stopped."""

    def __init__(self, server, token):
        self.stop_flag = threading.Event()
        self.written = 0
        self.errors = []
        self.threads = [threading.Thread(target=self.run, args=(server, token, t))
                        for t in TENANTS]
        for t in self.threads:
            t.start()

    def run(self, server, token, tenant):
        http = requests.Session()
        http.headers["Authorization"] = "Bearer " + token
        n = 0
        while not self.stop_flag.is_set():
            n += 1
            r = http.post(server.url("/v1/tenants/%s/audit/events:batch" % tenant),
                          json={"events": [{"type": "workflow.executed", "data": {"n": n, "k": k}}
                                           for k in range(10)]}, timeout=30)
            if r.status_code != 201:
                self.errors.append(r.text)
                return
            self.written += 10
            time.sleep(0.02)  # paces the writers (about 1,500 events/s): not a wait

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join()
        check(not self.errors, "a write failed: %s" % self.errors[:1])


def check_exactly_once(receiver, binary, data_dir):
    """What the receiver accepted is the log: each event once, in tenant_seq order."""
    log = log_events(binary, data_dir)
    total = sum(len(v) for v in log.values())
    wait_for(lambda: len(receiver.accepted_events()) >= total, "the receiver to have %d" % total)
    accepted = receiver.accepted_events()
    ids = [e["id"] for e in accepted]
    if len(ids) != len(set(ids)):
        seen, twice = set(), set()
        for i in ids:
            (twice if i in seen else seen).add(i)
        batches = [b for b, events in receiver.accepted if any(e["id"] in twice for e in events)]
        check(False, "%d events accepted twice, in batches %s" % (len(twice), batches))
    check(set(ids) == {e["id"] for events in log.values() for e in events},
          "the accepted events are not the log's")
    for tenant, events in log.items():
        got = [e for e in accepted if e["tenant"] == tenant]
        check(got == events, "tenant %s: accepted out of order or altered" % tenant)
    check(not receiver.bad, receiver.bad)
    return total


def delivery_through_failures(binary, tmp, cert, key):
    port = free_port()
    receiver = Receiver(port, cert, key)
    secret_file = os.path.join(tmp, "webhook.secret")
    with open(secret_file, "w") as f:
        f.write(SECRET + "\n")
    data_dir = os.path.join(tmp, "data")
    args = ["--listen", "127.0.0.1:0", "--data-dir", data_dir, "--kafka", "off",
            "--webhook", "https://localhost:%d/hook" % port, "--webhook-secret-file", secret_file,
            "--webhook-ca-file", cert]
    server = Server(binary, data_dir=data_dir, args=args)
    writers = None
    try:
        root = server.root()
        for t in TENANTS:
            root.expect(201, "POST", "/v1/tenants", {"id": t, "name": t})
        writers = Writers(server, root.token)
        wait_for(lambda: len(receiver.accepted) >= 3, "the first batches")

        receiver.mode = "fail"  # 500s
        wait_for(lambda: receiver.refused >= 3, "three refused posts")
        receiver.mode = "drop"  # batches read and never answered
        wait_for(lambda: receiver.refused >= 5, "two dropped posts")
        receiver.stop()  # nothing listens
        time.sleep(2)  # the receiver's outage: its length is the point, not a wait
        receiver.mode = "ok"
        receiver.start()
        accepted_before = len(receiver.accepted)
        wait_for(lambda: len(receiver.accepted) > accepted_before + 2, "delivery to resume")

        # The server restarted mid-stream: it resumes after its stored cursor.
        writers.stop()
        server.stop()
        server = Server(binary, data_dir=data_dir, args=args)
        root = server.root()
        writers = Writers(server, root.token)
        wait_for(lambda: writers.written >= 500, "writes after the restart")
        writers.stop()
        writers = None
        total = check_exactly_once(receiver, binary, data_dir)
        check(metric(server, "custos_webhook_delivered_total") > 0, "delivered metric")
        print("webhook: %d events accepted exactly once; %d posts refused or dropped and sent "
              "again" % (total, receiver.refused))
        check(receiver.refused >= 5, "the failures happened")
        check(SECRET.encode() not in server.stderr_seen, "the secret is in the server's log")
    finally:
        if writers:
            writers.stop()
        server.stop()
        receiver.stop()
    # The secret never reaches the log or the store in clear.
    found = subprocess.run(["grep", "-rl", SECRET, data_dir], capture_output=True, text=True)
    check(found.stdout == "", "the webhook secret is in " + found.stdout)


def certificate_checked(binary, tmp, cert, key):
    """Without the receiver's certificate trusted (no --webhook-ca-file), nothing is
    delivered: the TLS check is not skipped."""
    port = free_port()
    receiver = Receiver(port, cert, key)
    secret_file = os.path.join(tmp, "webhook.secret")
    data_dir = os.path.join(tmp, "untrusted")
    server = Server(binary, data_dir=data_dir, args=[
        "--listen", "127.0.0.1:0", "--data-dir", data_dir, "--kafka", "off",
        "--webhook", "https://localhost:%d/hook" % port, "--webhook-secret-file", secret_file])
    try:
        root = server.root()
        root.expect(201, "POST", "/v1/tenants", {"id": "wh-a", "name": "a"})
        wait_for(lambda: metric(server, "custos_webhook_failures_total") >= 2, "refused posts")
        check(metric(server, "custos_webhook_failing") == 1, "failing")
        check(not receiver.accepted, "a batch went to an untrusted certificate")
    finally:
        server.stop()
        receiver.stop()


def splunk_hec(binary, tmp, cert, key):
    port = free_port()
    receiver = Receiver(port, cert, key, hec=True)
    secret_file = os.path.join(tmp, "hec.token")
    with open(secret_file, "w") as f:
        f.write(SECRET)
    data_dir = os.path.join(tmp, "hec-data")
    server = Server(binary, data_dir=data_dir, args=[
        "--listen", "127.0.0.1:0", "--data-dir", data_dir, "--kafka", "off",
        "--webhook", "https://127.0.0.1:%d/services/collector/event" % port,
        "--webhook-secret-file", secret_file, "--webhook-ca-file", cert,
        "--webhook-format", "splunk-hec"])
    try:
        root = server.root()
        for t in TENANTS:
            root.expect(201, "POST", "/v1/tenants", {"id": t, "name": t})
            root.expect(201, "POST", "/v1/tenants/%s/audit/events" % t,
                        {"type": "workflow.executed", "data": {"x": 1}})
        check_exactly_once(receiver, binary, data_dir)
    finally:
        server.stop()
        receiver.stop()


def refused_configurations(binary, tmp, cert):
    secret_file = os.path.join(tmp, "short.secret")
    with open(secret_file, "w") as f:
        f.write("short\n")
    good_secret = os.path.join(tmp, "good.secret")
    with open(good_secret, "w") as f:
        f.write(SECRET + "\n")
    control = os.path.join(tmp, "control.secret")
    with open(control, "w") as f:
        f.write(SECRET + "\0tail\n")
    data_dir = os.path.join(tmp, "refused")
    for extra, message in [
            (["--webhook", "ftp://x.example/h", "--webhook-secret-file", secret_file],
             "--webhook must be an http:// or https:// URL"),
            (["--webhook", "https://u:p@x.example/h"], "no user or password in the URL"),
            (["--webhook", "https://x.example/h"], "--webhook-secret-file"),
            (["--webhook", "https://x.example/h", "--webhook-secret-file", secret_file],
             "at least 16 printable characters"),
            (["--webhook-secret-file", secret_file], "--webhook-secret-file needs --webhook"),
            (["--webhook", "https://x.example/h", "--webhook-secret-file", control],
             "printable characters"),
            (["--webhook", "https://x.example/h", "--webhook-format", "xml"], "webhook-format"),
            (["--webhook-format", "splunk-hec"], "--webhook-format needs --webhook"),
            (["--webhook", "http://x.example/h", "--webhook-format", "splunk-hec",
              "--webhook-secret-file", good_secret],
             "splunk-hec needs an https:// URL")]:
        r = subprocess.run([binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir]
                           + extra, capture_output=True, text=True, timeout=60)
        check(r.returncode == 2 and message in r.stderr, "%s: %d %s" % (extra, r.returncode,
                                                                        r.stderr))
        check(SECRET not in r.stderr and "short" not in r.stderr.replace(secret_file, ""),
              "a secret was quoted")
    check(not os.path.exists(data_dir), "a refused start made the data dir")


def main():
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="custos-webhook-")
    try:
        cert, key = self_signed(tmp, "receiver", "webhook-receiver")
        refused_configurations(binary, tmp, cert)
        delivery_through_failures(binary, tmp, cert, key)
        certificate_checked(binary, tmp, cert, key)
        splunk_hec(binary, tmp, cert, key)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
