"""Running Custos as a platform team would (issue 18): a config file, with the command line
and the environment winning over it; a wildcard listen address that needs an issuer.

    Issue 18, "Show it": "Tests for each: a config file round trip; …"
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import jwt
import requests

from custos_e2e import Server, check


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


def main():
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="custos-production-")
    try:
        config_round_trip(binary, tmp)
        wildcard_listen_needs_an_issuer(binary, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
