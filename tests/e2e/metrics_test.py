"""/metrics as ../shared/spec/API.md lists it, scraped from a real `custos serve` after real work:
requests by route and status, the request duration histogram, events appended, the append
batch-size and fsync-duration histograms, retention purges; and `promtool check metrics`
accepts the page (exit 0).

    "GET /metrics → Prometheus text format that `promtool check metrics` accepts with exit 0
    (HELP and TYPE for every family, base units: seconds, bytes): requests by route and
    status, request duration histogram, events appended, append batch size and fsync
    duration histograms, Kafka relay lag (events and seconds), notifications failed,
    projection lag, retention purges."
"""
import datetime
import re
import subprocess

import requests

from custos_e2e import check, run


def samples(text):
    """{name{labels}: value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def scenario(server):
    root = server.root()
    root.expect(201, "POST", "/v1/tenants", {"id": "acme", "name": "Acme", "plan": "free"})
    for i in range(20):
        root.expect(201, "POST", "/v1/tenants/acme/users",
                    {"email": "u%d@example.com" % i, "first_name": "U", "last_name": str(i)})
    before = samples(requests.get(server.url("/metrics")).text)
    check(before["custos_retention_purges_total"] == 0, "no purge yet")
    # Everything is past a 30-day window as of 31 days from now.
    as_of = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=31))
    purged = root.expect(200, "POST", "/v1/tenants/acme/audit/retention/run",
                         {"as_of": as_of.strftime("%Y-%m-%dT%H:%M:%S.000Z")})
    check(purged["purged"] > 20, purged)

    text = requests.get(server.url("/metrics")).text
    m = samples(text)
    families = set(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    for family in [("custos_http_requests_total", "counter"),
                   ("custos_http_request_duration_seconds", "histogram"),
                   ("custos_events_appended_total", "counter"),
                   ("custos_append_batch_events", "histogram"),
                   ("custos_append_fsync_duration_seconds", "histogram"),
                   ("custos_kafka_relay_lag_events", "gauge"),
                   ("custos_kafka_relay_lag_seconds", "gauge"),
                   ("custos_notifications_failed_total", "counter"),
                   ("custos_projection_lag_events", "gauge"),
                   ("custos_retention_purges_total", "counter"),
                   ("custos_retention_purged_events_total", "counter")]:
        check(family in families, "missing family %s %s" % family)
    # Every append is one observation of both histograms; every event is in a batch.
    appended = m["custos_events_appended_total"]
    batches = m["custos_append_batch_events_count"]
    check(appended >= 21, m)
    check(m["custos_append_batch_events_sum"] == appended,
          "batch sizes sum to the events appended: %s" % m)
    check(m['custos_append_batch_events_bucket{le="+Inf"}'] == batches, m)
    check(m["custos_append_fsync_duration_seconds_count"] >= batches, m)
    check(m["custos_append_fsync_duration_seconds_sum"] > 0, m)
    # Buckets are cumulative.
    bounds = [(float(le), v) for k, v in m.items()
              for le in re.findall(r'^custos_append_batch_events_bucket\{le="([0-9.e+]+)"\}$', k)]
    values = [v for _, v in sorted(bounds)]
    check(values == sorted(values), "cumulative buckets: %s" % values)
    check(m["custos_retention_purges_total"] == 1, m)
    check(m["custos_retention_purged_events_total"] == purged["purged"], m)
    check(m['custos_http_requests_total{route="/v1/tenants/{tenant}/users",method="POST",'
            'status="201"}'] == 20, "20 user creations counted by route and status")

    checked = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                             capture_output=True)
    check(checked.returncode == 0, "promtool: %s" % checked.stderr.decode())


if __name__ == "__main__":
    run(scenario)
