"""Audit export at scale: a million application events ingested over HTTP in batches of
1000, exported as JSONL and read by curl as a stream while the server's resident memory is
sampled; the file verifies offline with `custos verify --key --require-complete` against the keys the
server publishes, and one flipped byte makes it fail with the line named.

CUSTOS_EXPORT_EVENTS overrides the count (default 1,000,000).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from custos_e2e import check, run
import requests

EVENTS = int(os.environ.get("CUSTOS_EXPORT_EVENTS", "1000000"))
BATCH = 1000


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def scenario(s):
    root = s.root()
    root.expect(201, "POST", "/v1/tenants", {"id": "big", "name": "Big"})
    base = s.url("/v1/tenants/big/audit")
    http = requests.Session()
    http.headers["Authorization"] = "Bearer " + root.token
    body = json.dumps({"events": [
        {"type": "workflow.executed", "actor": {"type": "system", "id": "engine-%d" % (i % 7)},
         "target": {"type": "workflow", "id": "wf_%d" % i, "name": "Nightly %d" % i},
         "data": {"rows": i, "ok": True}} for i in range(BATCH)]})
    started = time.monotonic()
    for _ in range(EVENTS // BATCH):
        r = http.post(base + "/events:batch", data=body,
                      headers={"Content-Type": "application/json"})
        check(r.status_code == 201, r.text[:300])

    print("ingested %d events in %.1f s" % (EVENTS, time.monotonic() - started))
    pid = s.proc.pid
    started = time.monotonic()
    before = rss_kib(pid)
    peak = before
    size = 0
    out = tempfile.NamedTemporaryFile(prefix="custos-export-", suffix=".jsonl", delete=False)
    out.close()
    try:
        # curl (Debian's) reads the stream as fast as the server sends it; python3-requests'
        # chunked decoding is far slower than the server. The RSS is sampled until it ends.
        curl = subprocess.Popen(
            ["curl", "-sS", "--fail", "-D", out.name + ".headers", "-o", out.name,
             "-H", "Authorization: Bearer " + root.token, base + "/export?format=jsonl"])
        while True:
            peak = max(peak, rss_kib(pid))
            try:
                check(curl.wait(timeout=0.05) == 0, "curl failed")
                break
            except subprocess.TimeoutExpired:
                continue
        size = os.path.getsize(out.name)
        with open(out.name + ".headers") as f:
            headers = f.read().lower()
        check("transfer-encoding: chunked" in headers, headers)
        print("exported in %.1f s" % (time.monotonic() - started))
        growth_mib = (peak - before) / 1024.0
        print("exported %d bytes; server RSS %.0f MiB before, peak %.0f MiB (+%.0f MiB)" %
              (size, before / 1024.0, peak / 1024.0, growth_mib))
        # Constant memory: a page of the index and one chunk in flight, plus what RocksDB's
        # block cache (8 MiB here) and the index files opened for the first time take while
        # reading — far below the export itself, and not growing with it.
        check(size > EVENTS * 300, "export too small: %d bytes" % size)
        check(growth_mib < 96, "server RSS grew by %.0f MiB during the export" % growth_mib)

        keys = http.get(s.url("/.well-known/custos-audit-keys")).text
        keys_file = out.name + ".keys.json"
        with open(keys_file, "w") as f:
            f.write(keys)
        started = time.monotonic()
        ok = subprocess.run([sys.argv[1], "verify", "--key", keys_file, "--require-complete",
                             out.name], capture_output=True, text=True)
        check(ok.returncode == 0, "verify: %s %s" % (ok.stdout, ok.stderr))
        # Every event from tenant_seq 1: the tenant's own set-up, then the ingested ones.
        m = re.search(r"ok: (\d+) events of tenant big, tenant_seq 1\.\.(\d+)", ok.stdout)
        check(m is not None and int(m.group(1)) == int(m.group(2)) and
              int(m.group(1)) > EVENTS, ok.stdout)
        check("receipt signed by kid" in ok.stdout and "complete: every retained event" in ok.stdout,
              ok.stdout)
        print("verified in %.1f s: %s" % (time.monotonic() - started, ok.stdout.strip()))

        with open(out.name, "r+b") as f:
            f.seek(size // 2)
            b = f.read(1)
            f.seek(size // 2)
            f.write(bytes([b[0] ^ 0x01]))
        bad = subprocess.run([sys.argv[1], "verify", "--key", keys_file, out.name],
                             capture_output=True, text=True)
        check(bad.returncode == 1 and "line " in (bad.stdout + bad.stderr),
              "flipped byte: %d %s %s" % (bad.returncode, bad.stdout, bad.stderr))
    finally:
        for path in (out.name, out.name + ".keys.json", out.name + ".headers"):
            if os.path.exists(path):
                os.unlink(path)


if __name__ == "__main__":
    # A small block cache, so that what the export itself holds is what the RSS shows.
    run(scenario, ["--block-cache-mb", "8"])
