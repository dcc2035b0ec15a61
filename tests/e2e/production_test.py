"""Running Custos as a platform team would (issue 18): a config file, with the command line
and the environment winning over it; a wildcard listen address that needs an issuer;
librdkafka properties, one of them a secret from a file, reaching the relay's producer; a
proxy's X-Forwarded-For honoured only from a trusted address.

    Issue 18, "Show it": "Tests for each: a config file round trip; …"; "Deliver":
    "`--kafka-property KEY=VALUE` … tested against the mock cluster with a property that
    changes observable behaviour"; "a proxy header honoured only from a trusted address".
"""
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

import jwt
import requests

from custos_e2e import Server, check, read_topic, start_dev_kafka


def config_round_trip(binary, tmp):
    """Every setting below comes from the file unless the command line or environment says
    otherwise, and each is seen from outside."""
    data_dir = os.path.join(tmp, "data")
    conf = os.path.join(tmp, "custos.conf")
    with open(conf, "w") as f:
        f.write("# custos serve --config %s\n" % conf)
        f.write("listen = 127.0.0.1:0\n")
        f.write("data-dir = %s\n" % data_dir)
        f.write("kafka = off\n")
        f.write("log-format = json\n")
        f.write("log-level = error\n")  # the command line says info
        f.write("issuer = https://id.example.test\n")
        f.write("body-limit = 2048\n")  # the environment says 4096
        f.write("invitation-url = https://app.example.test/join\n")
    env = dict(os.environ, CUSTOS_BODY_LIMIT="4096")
    server = Server(binary, data_dir=data_dir, args=["--config", conf, "--log-level", "info"],
                    env=env)
    try:
        # log-format from the file: every line is JSON; log-level from the command line: the
        # info line "listening on" was printed (Server waited for it).
        for line in server.stderr_seen.decode().splitlines():
            check(line.startswith("{") and json.loads(line)["level"] in ("info", "warn"), line)
        # issuer from the file: the provider metadata and the tokens' iss say it.
        meta = requests.get(server.url("/.well-known/openid-configuration")).json()
        check(meta["issuer"] == "https://id.example.test", meta)
        root = server.root()
        claims = jwt.decode(root.token, options={"verify_signature": False})
        check(claims["iss"] == "https://id.example.test", claims)
        # body-limit from the environment, over the file's 2048: a 3,000-byte body passes the
        # limit (it is refused for what it is, not for its size), a 5,000-byte one does not.
        padding = {"name": "x" * 2900}
        r = root.call("POST", "/v1/tenants", padding)
        check(r.status_code != 413, "3,000 bytes refused: %s" % r.text)
        r = root.call("POST", "/v1/tenants", {"name": "x" * 5000})
        check(r.status_code == 413, "5,000 bytes: %d %s" % (r.status_code, r.text))
    finally:
        server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def wildcard_listen_needs_an_issuer(binary, tmp):
    data_dir = os.path.join(tmp, "wild")
    r = subprocess.run([binary, "serve", "--listen", "0.0.0.0:0", "--data-dir", data_dir],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 2, r.stderr)
    check("--issuer (or CUSTOS_ISSUER) is required with a wildcard --listen address" in r.stderr,
          r.stderr)
    check(not os.path.exists(data_dir), "a refused start made the data dir")
    # With one, it serves, and the issuer is what clients were told, not 0.0.0.0.
    server = Server(binary, data_dir=data_dir,
                    args=["--listen", "0.0.0.0:0", "--data-dir", data_dir, "--kafka", "off",
                          "--issuer", "https://id.example.test"])
    try:
        server.base = server.base.replace("0.0.0.0", "127.0.0.1")
        meta = requests.get(server.url("/.well-known/openid-configuration")).json()
        check(meta["issuer"] == "https://id.example.test", meta)
    finally:
        server.stop()


def post_from(source, server, path, body, headers):
    """A POST sent from `source` (an address of 127.0.0.0/8) with http.client."""
    host, port = server.base.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
    try:
        conn.request("POST", path, json.dumps(body),
                     dict(headers, **{"Content-Type": "application/json"}))
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def trusted_proxy(binary):
    """X-Forwarded-For is believed from 127.0.0.2 (the proxy) and from nowhere else; what the
    client wrote to the left of the proxy's entry is never read."""
    server = Server(binary, ["--trusted-proxy", "127.0.0.2/32"])
    try:
        root = server.root()
        auth = {"Authorization": "Bearer " + root.token,
                "X-Forwarded-For": "6.6.6.6, 203.0.113.9"}
        status, body = post_from("127.0.0.2", server, "/v1/tenants",
                                 {"id": "via-proxy", "name": "Via proxy"}, auth)
        check(status == 201, body)
        status, body = post_from("127.0.0.1", server, "/v1/tenants",
                                 {"id": "direct", "name": "Direct"}, auth)
        check(status == 201, body)
        for tenant, ip in (("via-proxy", "203.0.113.9"), ("direct", "127.0.0.1")):
            events = root.expect(200, "GET", "/v1/tenants/%s/audit/events?action=tenant.created"
                                 % tenant)["items"]
            check(len(events) == 1 and events[0]["actor"]["ip"] == ip,
                  "%s: expected actor.ip %s: %s" % (tenant, ip, events))
    finally:
        server.stop()


def murmur2(data):
    """Kafka's murmur2 (the Java client's partitioner; librdkafka's murmur2_random)."""
    m, h = 0x5BD1E995, 0x9747B28C ^ len(data)
    for i in range(0, len(data) // 4 * 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail, extra = len(data) // 4 * 4, len(data) % 4
    if extra == 3:
        h ^= data[tail + 2] << 16
    if extra >= 2:
        h ^= data[tail + 1] << 8
    if extra >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def kafka_properties(binary, tmp):
    """librdkafka's default partitioner puts a key on crc32(key) % N; with
    `partitioner=murmur2_random` (what Java producers do, so that both agree) it is
    murmur2(key) % N. The property, read from a file, visibly moves the tenants' records."""
    partitions = 4
    crc = lambda t: zlib.crc32(t.encode()) % partitions
    murmur = lambda t: (murmur2(t.encode()) & 0x7FFFFFFF) % partitions
    moved = [t for t in ("tenant-%d" % i for i in range(64)) if crc(t) != murmur(t)]
    check(len(moved) >= 6, "tenants the two partitioners disagree on: %s" % moved)
    before, after = moved[:3], moved[3:6]
    cluster, brokers = start_dev_kafka(binary, "--partitions", str(partitions))
    secret = os.path.join(tmp, "partitioner")
    with open(secret, "w") as f:
        f.write("murmur2_random\n")
    os.chmod(secret, 0o600)
    data_dir = os.path.join(tmp, "kafka-data")
    try:
        for tenants, extra in ((before, []),
                               (after, ["--kafka-property-file", "partitioner=" + secret,
                                        "--kafka-property", "compression.type=gzip"])):
            server = Server(binary, data_dir=data_dir,
                            args=["--listen", "127.0.0.1:0", "--data-dir", data_dir,
                                  "--kafka", brokers] + extra)
            try:
                root = server.root()
                for t in tenants:
                    root.expect(201, "POST", "/v1/tenants", {"id": t, "name": t})
                    root.expect(201, "POST", "/v1/tenants/%s/audit/events" % t,
                                {"type": "deploy.finished", "actor": {"type": "system", "id": "ci"}})
                # Relayed before it stops (the relay's lag is on /readyz).
                deadline = time.monotonic() + 60
                while True:
                    k = requests.get(server.url("/readyz")).json()["kafka"]
                    if k["lag_events"] == 0 and k["state"] == "up":
                        break
                    check(time.monotonic() < deadline, "the relay did not catch up")
                    time.sleep(0.05)
            finally:
                server.stop()
        records = read_topic(brokers, "custos.audit.v1", at_least=6)
        seen = {}
        for partition, _, key, _, _ in records:
            seen.setdefault(key, set()).add(partition)
        for t in before:
            check(seen.get(t) == {crc(t)}, "%s: %s, expected crc32's %d" % (t, seen.get(t), crc(t)))
        for t in after:
            check(seen.get(t) == {murmur(t)},
                  "%s: %s, expected murmur2's %d" % (t, seen.get(t), murmur(t)))
        # The secret file's content is nowhere in what the server said.
        check(b"murmur2_random" not in server.stderr_seen, "the file's value was logged")
    finally:
        cluster.terminate()
        cluster.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)


def main():
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="custos-production-")
    try:
        config_round_trip(binary, tmp)
        wildcard_listen_needs_an_issuer(binary, tmp)
        kafka_properties(binary, tmp)
        trusted_proxy(binary)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
