"""End-to-end helpers: a real `custos serve` on 127.0.0.1 (port 0) over a fresh data dir,
driven with python3-requests and checked with python3-jwt, as an admin console would.

Waits are on conditions with deadlines (the server's "listening on" line, its exit), never
on sleeps.
"""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import jwt
import requests


class Server:
    def __init__(self, binary, extra_args=(), data_dir=None, args=None, env=None, scheme="http",
                 follower=False):
        """`args` replaces the default flags (listen on 127.0.0.1:0, `data_dir`, Kafka off);
        `data_dir` must then name the dir they select. A follower has no root client."""
        # A data dir given by the caller outlives the server (restarts); ours is removed.
        self.own_dir = data_dir is None
        self.dir = data_dir or tempfile.mkdtemp(prefix="custos-e2e-")
        if args is None:
            args = ["--listen", "127.0.0.1:0", "--data-dir", self.dir, "--kafka", "off"]
        self.proc = subprocess.Popen(
            [binary, "serve"] + list(args) + list(extra_args),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        self.base = None
        deadline = time.monotonic() + 30
        buffered = b""
        while self.base is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("custos serve did not start: " + buffered.decode())
            ready, _, _ = select.select([self.proc.stderr], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.proc.stderr.fileno(), 4096)
            if not chunk:
                raise RuntimeError("custos serve exited: " + buffered.decode())
            buffered += chunk
            for line in buffered.decode(errors="replace").splitlines():
                if line.startswith("{"):  # --log-format json
                    try:
                        line = " " + json.loads(line).get("msg", "")
                    except ValueError:
                        continue
                if " listening on " in line:
                    self.base = scheme + "://" + line.split(" listening on ")[1].split(" ")[0]
        # Keep reading the server's log so that it never blocks on a full pipe; the tail is
        # kept for diagnostics.
        self.stderr_seen = buffered
        self.log_thread = threading.Thread(target=self._drain_log, daemon=True)
        self.log_thread.start()
        if follower:
            return
        root = json.load(open(os.path.join(self.dir, "root-client.json")))
        self.root_id, self.root_secret = root["client_id"], root["client_secret"]
        mode = os.stat(os.path.join(self.dir, "root-client.json")).st_mode & 0o777
        check(mode == 0o600, "root-client.json must be mode 0600, is %o" % mode)

    def _drain_log(self):
        while True:
            chunk = os.read(self.proc.stderr.fileno(), 65536)
            if not chunk:
                return
            self.stderr_seen = (self.stderr_seen + chunk)[-65536:]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        finally:
            if self.own_dir:
                shutil.rmtree(self.dir, ignore_errors=True)
        check(code == 0, "custos serve exited with %s" % code)

    def kill(self):
        """SIGKILL: no shutdown of any kind; the data dir stays."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def url(self, path):
        return self.base + path

    def token(self, client_id, secret):
        r = requests.post(self.url("/oauth/token"), data={"grant_type": "client_credentials"},
                          auth=(client_id, secret))
        return r

    def root(self):
        r = self.token(self.root_id, self.root_secret)
        check(r.status_code == 200, r.text)
        return Session(self, r.json()["access_token"])

    def login(self, tenant, email, password):
        return requests.post(self.url("/v1/tenants/%s/auth/login" % tenant),
                             json={"email": email, "password": password})


class Session:
    """Calls with one bearer token; `expect` asserts the status and returns the JSON."""

    def __init__(self, server, token):
        self.server = server
        self.token = token

    def call(self, method, path, body=None, headers=None, **kw):
        h = {"Authorization": "Bearer " + self.token}
        h.update(headers or {})
        return requests.request(method, self.server.url(path), json=body, headers=h, **kw)

    def expect(self, status, method, path, body=None, **kw):
        r = self.call(method, path, body, **kw)
        check(r.status_code == status,
              "%s %s: expected %d, got %d: %s" % (method, path, status, r.status_code, r.text))
        try:
            return r.json()
        except ValueError:
            return r.text


def start_dev_kafka(binary, *args):
    """`custos dev-kafka` in a process of its own; returns (process, bootstrap servers)."""
    proc = subprocess.Popen([binary, "dev-kafka"] + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    brokers = proc.stdout.readline().strip()
    check(brokers.startswith("127.0.0.1:"), "dev-kafka printed %r" % brokers)
    return proc, brokers


def read_topic(brokers, topic, at_least, timeout=120):
    """Every record of a topic, all partitions from the beginning, read with Debian's
    python3-confluent-kafka until at least `at_least` arrived and every partition is at its
    end: a list of (partition, offset, key, value, headers) in partition and offset order."""
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING, KafkaError
    c = Consumer({"bootstrap.servers": brokers, "group.id": "e2e-" + topic,
                  "enable.partition.eof": True, "enable.auto.commit": False})
    parts = list(c.list_topics(topic, timeout=10).topics[topic].partitions)
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
    out, at_end = [], set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (len(out) >= at_least and len(at_end) == len(parts)):
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(m.partition())
                continue
            raise AssertionError(str(m.error()))
        at_end.discard(m.partition())
        out.append((m.partition(), m.offset(), m.key().decode(), m.value().decode(),
                    {k: v.decode() for k, v in (m.headers() or [])}))
    c.close()
    out.sort(key=lambda r: (r[0], r[1]))
    return out


def self_signed(directory, name, common_name):
    """A certificate for 127.0.0.1 and localhost and its key, as PEM files (name.crt/.key)."""
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    with open(cert_file, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_file, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_file, key_file


def free_port():
    """A port of 127.0.0.1 that nothing listens on (yet)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def metric(server, name):
    """The value of an unlabelled sample on /metrics."""
    for line in requests.get(server.url("/metrics")).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no metric " + name)


def wait_metric(server, name, at_least, timeout=60):
    """Waits, with a deadline, until a sample of /metrics reaches `at_least`."""
    deadline = time.monotonic() + timeout
    while metric(server, name) < at_least:
        check(time.monotonic() < deadline, "%s stayed below %s" % (name, at_least))
        time.sleep(0.05)  # polling interval of a wait with a deadline (checked above)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def verify_jwt(server, token, tenant):
    """The token verifies against the published JWKS with a standard JWT library."""
    jwks = requests.get(server.url("/.well-known/jwks.json")).json()
    header = jwt.get_unverified_header(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    check(header["typ"] == "at+jwt", "an RFC 9068 access token: %s" % header)
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["EdDSA"], issuer=server.base,
                        audience=server.base)
    check(claims.get("tenant") == tenant, "tenant claim: %s" % claims)
    return claims


def find(items, **match):
    for item in items:
        if all(item.get(k) == v for k, v in match.items()):
            return item
    raise AssertionError("no item with %s in %s" % (match, [i.get("name") for i in items]))


def run(scenario, extra_args=()):
    server = Server(sys.argv[1], extra_args)
    try:
        scenario(server)
    finally:
        server.stop()
    print("ok")
