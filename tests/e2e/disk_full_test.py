"""Disk full: the data dir on a small tmpfs (mounted here, as root), filled by a ballast file
and by writes until the store refuses one. Then:

- writes answer 503 (problem+json) and change nothing — the store refuses appends while
  less than its reserve is free, so that the audit index can still write what it owes;
- reads (lists, audit queries, a user, /readyz's body) keep working;
- once the ballast is removed, writes are accepted again without a restart;
- after a clean stop every acknowledged event is in the log, every chain verifies and the
  stored state equals the state rebuilt from the log (`custos rebuild --check`).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from custos_e2e import Server, check
import requests

SIZE_MB = 64


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def main(binary):
    mount = tempfile.mkdtemp(prefix="custos-diskfull-")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % SIZE_MB, "tmpfs", mount],
                             capture_output=True, text=True)
    check(mounted.returncode == 0, "this test mounts a small tmpfs and needs root (as ./ops/test "
          "has): %s" % mounted.stderr)
    try:
        data_dir = os.path.join(mount, "data")
        os.makedirs(data_dir)
        server = Server(binary, ["--block-cache-mb", "8"], data_dir=data_dir)
        try:
            run_on_full_disk(binary, mount, data_dir, server)
        except BaseException:
            # What the server said, and whether it still runs, for whoever reads the failure.
            print("server exit status: %s; its log's tail:\n%s"
                  % (server.proc.poll(), server.stderr_seen[-4000:].decode(errors="replace")))
            raise
    finally:
        subprocess.run(["umount", "-l", mount])
        shutil.rmtree(mount, ignore_errors=True)
    print("ok")


def run_on_full_disk(binary, mount, data_dir, server):
    """Fills the disk under a running server, checks what it answers, frees it, checks again."""
    root = server.root()
    root.expect(201, "POST", "/v1/tenants", {"id": "acme", "name": "Acme"})
    user = root.expect(201, "POST", "/v1/tenants/acme/users", {
        "email": "ada@example.com", "first_name": "Ada", "last_name": "L"})
    base = "/v1/tenants/acme/audit/events"
    acked = set()

    # Ballast: all but a few MiB of the file system.
    ballast = os.path.join(mount, "ballast")
    with open(ballast, "wb") as f:
        f.write(b"\0" * max(0, free_bytes(mount) - 6 * 1024 * 1024))
    batch = {"events": [{"type": "workflow.executed", "data": {"pad": "x" * 900, "k": k}}
                        for k in range(200)]}
    refused = None
    for _ in range(2000):
        r = root.call("POST", base + ":batch", batch)
        if r.status_code == 201:
            acked.update(e["id"] for e in r.json()["events"])
            continue
        refused = r
        break
    check(refused is not None, "the disk never filled")
    check(refused.status_code == 503, "a write on a full disk: %d %s"
          % (refused.status_code, refused.text))
    check(refused.headers["Content-Type"].startswith("application/problem+json"),
          refused.headers)
    print("disk full after %d events: %s" % (len(acked), refused.json().get("detail")))
    # The server said why, under the request id the client was given.
    request_id = refused.headers["X-Request-Id"]
    deadline = time.monotonic() + 30
    while ("answered 503" not in server.stderr_seen.decode(errors="replace") or
           request_id.encode() not in server.stderr_seen):
        check(time.monotonic() < deadline, "the 503 was not logged with its request id")
        time.sleep(0.05)  # polling interval of a wait with a deadline (checked above)

    # Writes keep being refused (and change nothing); reads keep working.
    for body_call in (lambda: root.call("POST", base, {"type": "workflow.executed"}),
                      lambda: root.call("POST", "/v1/tenants/acme/groups", {"name": "G"})):
        r = body_call()
        check(r.status_code == 503, "another write: %d %s" % (r.status_code, r.text))
    groups = root.expect(200, "GET", "/v1/tenants/acme/groups")["items"]
    check(all(g["name"] != "G" for g in groups), "a refused write changed the state")
    page = root.expect(200, "GET", base + "?limit=5&action=workflow.*")
    check(len(page["items"]) == 5, page)
    root.expect(200, "GET", "/v1/tenants/acme/users/" + user["id"])
    check(requests.get(server.url("/healthz")).status_code == 200, "healthz")

    # Space again: writes resume without a restart.
    os.remove(ballast)
    deadline = time.monotonic() + 30
    while True:
        r = root.call("POST", base, {"type": "workflow.executed", "data": {"after": True}})
        if r.status_code == 201:
            acked.add(r.json()["id"])
            break
        check(r.status_code == 503 and time.monotonic() < deadline,
              "writes did not resume: %d %s" % (r.status_code, r.text))
        time.sleep(0.1)  # polling interval while RocksDB resumes; the deadline above bounds it
    root.expect(201, "POST", "/v1/tenants/acme/groups", {"name": "After"})
    server.stop()

    out = subprocess.run([binary, "dump", "--data-dir", data_dir, "--tenant", "acme"],
                         capture_output=True, text=True, check=True).stdout
    log_ids = {json.loads(l)["id"] for l in out.splitlines() if l}
    check(acked <= log_ids, "%d acknowledged events lost" % len(acked - log_ids))
    with open(os.path.join(mount, "acme.jsonl"), "w") as f:
        f.write(out)
    v = subprocess.run([binary, "verify", os.path.join(mount, "acme.jsonl")],
                       capture_output=True, text=True)
    check(v.returncode == 0, "verify: %s %s" % (v.stdout, v.stderr))
    rb = subprocess.run([binary, "rebuild", "--data-dir", data_dir, "--check"],
                        capture_output=True, text=True)
    check(rb.returncode == 0, "rebuild --check: %s %s" % (rb.stdout, rb.stderr))


if __name__ == "__main__":
    main(sys.argv[1])
