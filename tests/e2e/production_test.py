"""Running Custos as a platform team would (issue 18): a config file, with the command line
and the environment winning over it; a wildcard listen address that needs an issuer;
librdkafka properties, one of them a secret from a file, reaching the relay's producer; a
proxy's X-Forwarded-For honoured only from a trusted address; HTTPS with a self-signed
certificate, renewed on SIGHUP; an online backup under write load, restored and checked;
ES256 access tokens with an audience, verified by PyJWT; both signing keys rotated online and
offline, with what was signed before and after verifying; W3C traceparent kept as trace_id.

    Issue 18, "Show it": "Tests for each: a config file round trip; …"; "Deliver":
    "`--kafka-property KEY=VALUE` … tested against the mock cluster with a property that
    changes observable behaviour"; "a proxy header honoured only from a trusted address";
    "TLS with a self-signed cert (python3-requests with `verify=`)"; "backup taken under
    write load, restored, `custos rebuild --check` and `custos verify` pass and the digest
    equals the source at the backup's seq"; "PyJWT verifies an ES256 token with `aud`"; "key
    rotation with tokens and checkpoints from before and after both verifying (PyJWT,
    python3-cryptography)".
"""
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import jwt
import requests

from custos_e2e import Server, check, metric, read_topic, self_signed, start_dev_kafka


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
    server = Server(binary, data_dir=data_dir,
                    args=["--config", conf, "--log-level", "info", "--access-log", "on"], env=env)
    try:
        # log-format from the file: every line is JSON; log-level from the command line: the
        # info line "listening on" was printed (Server waited for it).
        for line in server.stderr_seen.decode().splitlines():
            check(line.startswith("{") and json.loads(line)["level"] in ("info", "warn"), line)
        # issuer from the file: the provider metadata and the tokens' iss say it.
        r = requests.get(server.url("/.well-known/openid-configuration"),
                         headers={"X-Request-Id": "conf-round-trip-1"})
        meta = r.json()
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
        # The access log: one JSON line per answered request, with its request id.
        deadline = time.monotonic() + 30
        while True:
            lines = [json.loads(line) for line in server.stderr_seen.decode().splitlines()]
            access = [l for l in lines if l.get("request_id") == "conf-round-trip-1"]
            if access:
                break
            check(time.monotonic() < deadline, "no access line for the request")
            time.sleep(0.05)  # polling interval of a wait with a deadline (checked above)
        check(access[0]["route"] == "/.well-known/openid-configuration" and
              access[0]["status"] == "200" and access[0]["method"] == "GET" and
              float(access[0]["duration_ms"]) >= 0, access)
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


def served_common_name(server):
    """The CN of the certificate a new TLS connection is shown."""
    import ssl
    from cryptography import x509
    host, port = server.base.split("//")[1].split(":")
    pem = ssl.get_server_certificate((host, int(port)))
    cert = x509.load_pem_x509_certificate(pem.encode())
    return cert.subject.rfc4514_string()


def tls(binary, tmp):
    """HTTPS with a self-signed certificate, verified by python3-requests with `verify=`; a
    renewed certificate read on SIGHUP; a broken one refused at SIGHUP without harm."""
    first_cert, first_key = self_signed(tmp, "first", "custos-first")
    second_cert, second_key = self_signed(tmp, "second", "custos-second")
    cert, key = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
    shutil.copy(first_cert, cert)
    shutil.copy(first_key, key)
    server = Server(binary, ["--tls-cert", cert, "--tls-key", key], scheme="https")
    try:
        r = requests.get(server.url("/readyz"), verify=first_cert, timeout=10)
        check(r.status_code == 200, r.text)
        meta = requests.get(server.url("/.well-known/openid-configuration"),
                            verify=first_cert).json()
        check(meta["issuer"] == server.base and meta["issuer"].startswith("https://"), meta)
        token = requests.post(server.url("/oauth/token"), data={"grant_type": "client_credentials"},
                              auth=(server.root_id, server.root_secret), verify=first_cert)
        check(token.status_code == 200, token.text)
        # Without the certificate trusted, no connection; nor in clear text.
        try:
            requests.get(server.url("/readyz"), timeout=10)
            raise AssertionError("an untrusted certificate was accepted")
        except requests.exceptions.SSLError:
            pass
        try:
            r = requests.get(server.url("/readyz").replace("https://", "http://"), timeout=10)
            raise AssertionError("plain HTTP answered on the TLS port: %d" % r.status_code)
        except requests.exceptions.ConnectionError:
            pass
        # A keep-alive connection made before the renewal keeps working after it.
        kept = requests.Session()
        check(kept.get(server.url("/readyz"), verify=first_cert).status_code == 200, "keep-alive")
        # Renewal: the files replaced, SIGHUP; new connections see the new certificate.
        shutil.copy(second_cert, cert)
        shutil.copy(second_key, key)
        server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while served_common_name(server) != "CN=custos-second":
            check(time.monotonic() < deadline, "the renewed certificate was never served")
            time.sleep(0.05)  # polling interval of a wait with a deadline (checked above)
        r = requests.get(server.url("/readyz"), verify=second_cert, timeout=10)
        check(r.status_code == 200, r.text)
        check(kept.get(server.url("/readyz"), verify=first_cert).status_code == 200,
              "the connection made before the renewal")
        # A broken renewal (a key that is not the certificate's): refused, logged, and the
        # server goes on with the certificate it had.
        shutil.copy(first_key, key)
        server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while b"the TLS files were not reloaded" not in server.stderr_seen:
            check(time.monotonic() < deadline, "the failed reload was not logged")
            time.sleep(0.05)  # polling interval of a wait with a deadline (checked above)
        check(served_common_name(server) == "CN=custos-second", "a broken reload took effect")
        r = requests.get(server.url("/readyz"), verify=second_cert, timeout=10)
        check(r.status_code == 200, r.text)
    finally:
        server.stop()
    # Refused before anything is opened: a key that is not the certificate's.
    data_dir = os.path.join(tmp, "tls-refused")
    r = subprocess.run([binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
                        "--tls-cert", first_cert, "--tls-key", second_key],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 2 and "--tls-key " + second_key + ": key values mismatch" in r.stderr,
          r.stderr)
    check(not os.path.exists(data_dir), "a refused start made the data dir")


def run(binary, *args):
    return subprocess.run([binary] + list(args), capture_output=True, text=True, timeout=300)


def backup_and_restore(binary, tmp):
    """An online backup taken while writers ingest events and make users; restored into a new
    data dir: `custos rebuild --check` (every chain, and the state equal to the replay of its
    log) and `custos verify` pass, and each tenant's restored log is exactly the source's
    lines up to the backup's seq, byte for byte. A state that is a function of that log
    prefix (rebuild --check) is then the source's state at that seq. The restored dir serves,
    with the same root credentials and keys."""
    tenants = ["bk-a", "bk-b", "bk-c"]
    source_dir = os.path.join(tmp, "bk-source")
    server = Server(binary, data_dir=source_dir)
    backup_dir = os.path.join(tmp, "bk-backup")
    try:
        root = server.root()
        for t in tenants:
            root.expect(201, "POST", "/v1/tenants", {"id": t, "name": t})
        stop = threading.Event()
        errors = []

        def write(tenant):
            http = requests.Session()
            http.headers["Authorization"] = "Bearer " + root.token
            i = 0
            while not stop.is_set():
                i += 1
                if i % 5 == 0:
                    r = http.post(server.url("/v1/tenants/%s/users" % tenant),
                                  json={"email": "u%d@%s.example" % (i, tenant),
                                        "first_name": "U", "last_name": str(i)})
                else:
                    r = http.post(server.url("/v1/tenants/%s/audit/events:batch" % tenant),
                                  json={"events": [{"type": "job.ran",
                                                    "actor": {"type": "system", "id": "cron"},
                                                    "data": {"i": i, "k": k}}
                                                   for k in range(20)]})
                if r.status_code != 201:
                    errors.append(r.text)
                    return
        writers = [threading.Thread(target=write, args=(t,)) for t in tenants]
        for w in writers:
            w.start()
        # Under load: wait until the log has grown, back up, and let it grow past the backup.
        deadline = time.monotonic() + 60
        while metric(server, "custos_events_appended_total") < 300:
            check(time.monotonic() < deadline and not errors, "no write load: %s" % errors)
            time.sleep(0.05)  # polling interval of a wait with a deadline (checked above)
        made = root.expect(201, "POST", "/v1/backup", {"to": backup_dir})
        check(made["path"] == backup_dir and made["seq"] > 0, made)
        grown = metric(server, "custos_events_appended_total") + 300
        while metric(server, "custos_events_appended_total") < grown:
            check(time.monotonic() < deadline and not errors, "the load stopped: %s" % errors)
            time.sleep(0.05)  # polling interval of a wait with a deadline (checked above)
        stop.set()
        for w in writers:
            w.join()
        check(not errors, errors)
        # Refused: not root, a relative path, a path that exists, a path in the data dir.
        r = requests.post(server.url("/v1/backup"), json={"to": backup_dir + "-x"})
        check(r.status_code == 401, r.text)
        r = root.call("POST", "/v1/backup", {"to": "relative/dir"})
        check(r.status_code == 422 and r.json()["errors"][0]["field"] == "to", r.text)
        r = root.call("POST", "/v1/backup", {"to": backup_dir})
        check(r.status_code == 409, r.text)
        r = root.call("POST", "/v1/backup", {"to": os.path.join(source_dir, "inside")})
        check(r.status_code == 422, r.text)
        r = root.call("POST", "/v1/backup", {})
        check(r.status_code == 422, r.text)
    finally:
        server.stop()
    check(os.stat(backup_dir).st_mode & 0o777 == 0o700, "the backup is not private")
    restored = os.path.join(tmp, "bk-restored")
    r = run(binary, "restore", "--from", backup_dir, "--data-dir", restored)
    check(r.returncode == 0, r.stderr)
    check(json.loads(r.stdout)["seq"] == made["seq"], r.stdout)
    r = run(binary, "rebuild", "--check", "--data-dir", restored)
    check(r.returncode == 0 and json.loads(r.stdout)["chains_ok"], r.stdout + r.stderr)
    seq = made["seq"]
    total_restored, total_after = 0, 0
    for t in tenants:
        source = run(binary, "dump", "--data-dir", source_dir, "--tenant", t).stdout.splitlines()
        copy = run(binary, "dump", "--data-dir", restored, "--tenant", t).stdout.splitlines()
        expected = [line for line in source if json.loads(line)["seq"] <= seq]
        check(copy == expected, "%s: %d restored lines, %d in the source up to seq %d"
              % (t, len(copy), len(expected), seq))
        total_restored += len(copy)
        total_after += len(source) - len(expected)
        export = os.path.join(tmp, "bk-%s.jsonl" % t)
        with open(export, "w") as f:
            f.write("\n".join(copy) + "\n")
        v = run(binary, "verify", export)
        check(v.returncode == 0, v.stdout + v.stderr)
    check(total_restored > 300 and total_after > 0,
          "the backup was not taken under load: %d before, %d after" % (total_restored,
                                                                        total_after))
    # It serves: the same root credentials, the same signing keys, the same events.
    again = Server(binary, data_dir=restored)
    try:
        root = again.root()
        for t in tenants:
            page = root.expect(200, "GET", "/v1/tenants/%s/audit/events?limit=1" % t)
            check(page["items"], "no events for %s" % t)
    finally:
        again.stop()
    # A data dir of a newer format is refused, untouched.
    with open(os.path.join(restored, "format"), "w") as f:
        f.write("2\n")
    r = run(binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", restored)
    check(r.returncode == 1 and "written by a newer Custos (data-dir format 2" in r.stderr,
          r.stderr)


def es256_tokens(binary):
    """--jwt-alg ES256 for JWT libraries without EdDSA: PyJWT verifies the token against the
    published JWKS with the audience the client asked for; RFC 8414 metadata says so."""
    api, other = "https://api.example.test", "https://reports.example.test"
    server = Server(binary, ["--jwt-alg", "ES256", "--token-audience", api,
                             "--token-audience", other])
    try:
        for path in ("/.well-known/oauth-authorization-server",
                     "/.well-known/openid-configuration"):
            meta = requests.get(server.url(path)).json()
            check(meta["issuer"] == server.base and meta["access_token_signing_alg_values_supported"]
                  == ["ES256"] and meta["grant_types_supported"] == ["client_credentials"], meta)
        jwks = requests.get(server.url("/.well-known/jwks.json")).json()
        check([(k["kty"], k["crv"], k["alg"]) for k in jwks["keys"]] == [("EC", "P-256", "ES256")],
              jwks)
        r = requests.post(server.url("/oauth/token"),
                          data={"grant_type": "client_credentials", "audience": other},
                          auth=(server.root_id, server.root_secret))
        check(r.status_code == 200, r.text)
        token = r.json()["access_token"]
        header = jwt.get_unverified_header(token)
        check(header["typ"] == "at+jwt" and header["alg"] == "ES256", header)
        key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
        claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["ES256"], audience=other,
                            issuer=server.base)
        check(claims["client_id"] == server.root_id and claims["sub"] == server.root_id, claims)
        check({"iss", "sub", "aud", "client_id", "iat", "exp", "jti"} <= set(claims), claims)
        # For another audience, PyJWT refuses it; so does Custos for one it does not serve.
        try:
            jwt.decode(token, jwt.PyJWK(key).key, algorithms=["ES256"], audience=api)
            raise AssertionError("a token for %s passed as one for %s" % (other, api))
        except jwt.InvalidAudienceError:
            pass
        r = requests.post(server.url("/oauth/token"),
                          data={"grant_type": "client_credentials",
                                "audience": "https://evil.example"},
                          auth=(server.root_id, server.root_secret))
        check(r.status_code == 400 and r.json()["error"] == "invalid_target", r.text)
        # A token asked for another resource server is that server's alone: Custos's own API
        # refuses it (a resource server cannot replay it against Custos).
        r = requests.get(server.url("/v1/tenants"), headers={"Authorization": "Bearer " + token})
        check(r.status_code == 401, "a token for %s was taken by Custos: %d" % (other,
                                                                               r.status_code))
        # By default a token is for Custos itself and the first configured audience.
        root = server.root()
        claims = jwt.decode(root.token, jwt.PyJWK(key).key, algorithms=["ES256"], audience=api,
                            issuer=server.base)
        check(claims["aud"] == [server.base, api], claims)
        root.expect(200, "GET", "/v1/tenants")
    finally:
        server.stop()


def traceparent(binary, tmp):
    """A W3C traceparent's trace-id is kept on the events the request writes (identity
    commands and ingested events alike), and in its access line; a malformed one is ignored."""
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    header = {"traceparent": "00-%s-00f067aa0ba902b7-01" % trace}
    data_dir = os.path.join(tmp, "traced")
    server = Server(binary, ["--log-format", "json", "--access-log", "on"], data_dir=data_dir)
    try:
        root = server.root()
        root.expect(201, "POST", "/v1/tenants", {"id": "traced", "name": "Traced"},
                    headers=header)
        root.expect(201, "POST", "/v1/tenants/traced/audit/events",
                    {"type": "deploy.finished", "actor": {"type": "system", "id": "ci"}},
                    headers=header)
        root.expect(201, "POST", "/v1/tenants/traced/audit/events",
                    {"type": "deploy.started", "actor": {"type": "system", "id": "ci"}},
                    headers={"traceparent": "00-%s-00f067aa0ba902b7" % trace})
    finally:
        server.stop()
    events = [json.loads(l) for l in
              run(binary, "dump", "--data-dir", data_dir, "--tenant", "traced").stdout.splitlines()]
    by_type = {e["type"]: e for e in events}
    check(by_type["tenant.created"].get("trace_id") == trace, by_type["tenant.created"])
    check(by_type["deploy.finished"].get("trace_id") == trace, by_type["deploy.finished"])
    check("trace_id" not in by_type["deploy.started"], by_type["deploy.started"])
    keys = list(by_type["deploy.finished"].keys())
    check(keys.index("trace_id") == keys.index("request_id") + 1, keys)
    access = [json.loads(l) for l in server.stderr_seen.decode().splitlines()]
    check(any(l.get("trace_id") == trace and l.get("route") == "/v1/tenants" for l in access),
          "no access line with the trace id")
    check(run(binary, "rebuild", "--check", "--data-dir", data_dir).returncode == 0, "rebuild")


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
                    time.sleep(0.05)  # polling interval of a wait with a deadline (checked above)
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


def key_rotation(binary, tmp):
    """POST /v1/keys/rotate (root only) and `custos keys rotate` on the stopped server: tokens
    and exports signed before and after each rotation all verify — tokens with PyJWT against
    the JWKS, exports with `custos verify --key` against the audit-key set — and the new keys
    sign from the answer on; a revoked token key's tokens are refused at once."""
    data_dir = os.path.join(tmp, "kr")
    issuer = "https://custos.kr.test"  # the same across the restart (port 0 changes)
    server = Server(binary, ["--issuer", issuer], data_dir=data_dir)
    export_dir = os.path.join(tmp, "kr-exports")
    os.makedirs(export_dir)

    def export(name):
        r = requests.get(server.url("/v1/tenants/kr/audit/export?format=jsonl"),
                         headers={"Authorization": "Bearer " + root.token})
        check(r.status_code == 200, r.text)
        path = os.path.join(export_dir, name + ".jsonl")
        with open(path, "wb") as f:
            f.write(r.content)
        return path

    def audit_keys(name):
        path = os.path.join(export_dir, name + ".keys.json")
        body = requests.get(server.url("/.well-known/custos-audit-keys")).text
        with open(path, "w") as f:
            f.write(body)
        return path, json.loads(body)

    def verify(export_path, keys_path):
        return run(binary, "verify", "--key", keys_path, "--require-complete", export_path)

    def pyjwt_claims(token):
        jwks = requests.get(server.url("/.well-known/jwks.json")).json()
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(k for k in jwks["keys"] if k["kid"] == kid)
        return jwt.decode(token, jwt.PyJWK(key).key, algorithms=["EdDSA"], audience=issuer,
                          issuer=issuer)

    try:
        root = server.root()
        root.expect(201, "POST", "/v1/tenants", {"id": "kr", "name": "Key rotation"})
        root.expect(201, "POST", "/v1/tenants/kr/audit/events:batch", {"events": [
            {"type": "deploy.finished", "actor": {"type": "system", "id": "ci"}, "data": {"n": i}}
            for i in range(20)]})
        roles = {r["name"]: r["id"] for r in root.expect(200, "GET", "/v1/tenants/kr/roles")["items"]}
        admin = root.expect(201, "POST", "/v1/tenants/kr/api-clients", {
            "name": "console", "bindings": [{"role_id": roles["Tenant Admin"]}]})
        r = server.token(admin["client_id"], admin["client_secret"])
        check(r.status_code == 200, r.text)
        admin_token = r.json()["access_token"]
        first_export = export("first")
        first_keys, first_set = audit_keys("first")
        check(len(first_set["keys"]) == 1, first_set)
        check(verify(first_export, first_keys).returncode == 0, "the first export")
        old_token = root.token
        old_kid = jwt.get_unverified_header(old_token)["kid"]

        # Only root rotates; only the two kinds.
        r = requests.post(server.url("/v1/keys/rotate"), json={"kind": "jwt"},
                          headers={"Authorization": "Bearer " + admin_token})
        check(r.status_code == 403, "a tenant admin rotated a key: %d %s" % (r.status_code, r.text))
        r = root.call("POST", "/v1/keys/rotate", {"kind": "everything"})
        check(r.status_code == 422 and r.headers["Content-Type"].startswith(
            "application/problem+json"), r.text)
        check(requests.get(server.url("/.well-known/jwks.json")).json()["keys"][0]["kid"] == old_kid,
              "a refused rotation changed the key")

        rotated = root.expect(200, "POST", "/v1/keys/rotate", {"kind": "jwt"})
        check(rotated["retired_kid"] == old_kid and rotated["kid"] != old_kid, rotated)
        jwks = requests.get(server.url("/.well-known/jwks.json")).json()
        check([k["kid"] for k in jwks["keys"]] == [rotated["kid"], old_kid], jwks)
        new_root = server.root()
        check(jwt.get_unverified_header(new_root.token)["kid"] == rotated["kid"], "new kid")
        for token in (old_token, new_root.token, admin_token):
            check(pyjwt_claims(token)["iss"] == issuer, "PyJWT")
            r = requests.get(server.url("/v1/tenants/kr/users"),
                             headers={"Authorization": "Bearer " + token})
            check(r.status_code == 200, "a token from before or after the rotation: %s" % r.text)

        audit = root.expect(200, "POST", "/v1/keys/rotate", {"kind": "audit"})
        check(audit["retired_kid"] == first_set["keys"][0]["kid"], audit)
        second_export = export("second")
        second_keys, second_set = audit_keys("second")
        check([k["kid"] for k in second_set["keys"]] == [audit["kid"], audit["retired_kid"]] and
              "retired_at" in second_set["keys"][1] and "retired_at" not in second_set["keys"][0],
              second_set)
        for path in (first_export, second_export):
            r = verify(path, second_keys)
            check(r.returncode == 0, "%s: %s %s" % (path, r.stdout, r.stderr))
        r = verify(second_export, first_keys)
        check(r.returncode == 1 and "unknown kid '%s'" % audit["kid"] in r.stdout + r.stderr,
              "the second export passed with the old key alone: %s %s" % (r.stdout, r.stderr))
    finally:
        server.stop()

    # The stopped server's audit key, rotated by the command; the restarted server publishes
    # all three and still takes the token of the first JWT key.
    r = run(binary, "keys", "rotate", "--data-dir", data_dir, "--audit")
    check(r.returncode == 0, r.stderr)
    offline = json.loads(r.stdout)
    check(offline["retired_kid"] == audit["kid"], offline)
    server = Server(binary, ["--issuer", issuer], data_dir=data_dir)
    try:
        third_keys, third_set = audit_keys("third")
        check([k["kid"] for k in third_set["keys"]] ==
              [offline["kid"], audit["retired_kid"], audit["kid"]], third_set)
        for path in (first_export, second_export):
            r = verify(path, third_keys)
            check(r.returncode == 0, "%s after a restart: %s %s" % (path, r.stdout, r.stderr))
        jwks = requests.get(server.url("/.well-known/jwks.json")).json()
        check([k["kid"] for k in jwks["keys"]] == [rotated["kid"], old_kid], jwks)
        r = requests.get(server.url("/v1/tenants"), headers={"Authorization": "Bearer " + old_token})
        check(r.status_code == 200, "the retired key's token after a restart: %s" % r.text)

        # A leaked token key, revoked: its tokens are refused from the answer on (one used a
        # moment before, so verified and cached, too), and it is no longer published.
        root = server.root()
        root.expect(200, "GET", "/v1/tenants")
        r = root.call("POST", "/v1/keys/rotate", {"kind": "audit", "revoke": True})
        check(r.status_code == 422 and r.json()["errors"][0]["field"] == "revoke", r.text)
        revoked = root.expect(200, "POST", "/v1/keys/rotate", {"kind": "jwt", "revoke": True})
        check(revoked["revoked_kid"] == rotated["kid"] and "retired_kid" not in revoked, revoked)
        r = root.call("GET", "/v1/tenants")
        check(r.status_code == 401, "a revoked key's token: %d %s" % (r.status_code, r.text))
        # The key retired before it (the leaked one may be either) is dropped with it.
        jwks = requests.get(server.url("/.well-known/jwks.json")).json()
        check([k["kid"] for k in jwks["keys"]] == [revoked["kid"]], jwks)
        r = requests.get(server.url("/v1/tenants"), headers={"Authorization": "Bearer " + old_token})
        check(r.status_code == 401, "the retired key's token after a revocation: %s" % r.text)
        server.root().expect(200, "GET", "/v1/tenants")
    finally:
        server.stop()


def main():
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="custos-production-")
    try:
        config_round_trip(binary, tmp)
        wildcard_listen_needs_an_issuer(binary, tmp)
        kafka_properties(binary, tmp)
        trusted_proxy(binary)
        tls(binary, tmp)
        backup_and_restore(binary, tmp)
        es256_tokens(binary)
        key_rotation(binary, tmp)
        traceparent(binary, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
