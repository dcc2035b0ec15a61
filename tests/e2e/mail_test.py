"""Mail without Kafka (every seed sends mail): `custos serve --kafka off --smtp smtp://…`
sends the notification messages itself to a real SMTP server, Debian's python3-aiosmtpd.

    "Mail without Kafka (every seed sends mail): `--smtp smtp://HOST:PORT` (and `smtps://`,
    `--mail-from`, `--login-url`) sends the notification messages itself — temporary
    password with the login URL, invitation link, and (002) a message when a user's group
    membership changes — with retries and a metric; with Kafka on, both."

With `--kafka embedded` as well, each message goes both ways: to the SMTP server and to the
notifications topic (read back with python3-confluent-kafka).

Seed 000: "an automated email will be sent to the user's provided email address … the URL
to access …, the user's email address … a temporary password, which the user will be
required to change upon their first login". Seed 003: "an email is sent to that person with
a link to accept the invitation". Seed 002: "Users receive a new email … whenever their group
membership is altered."

The SMTP server is not listening when the first mail is due: the server retries (the retry
counter moves) and the mail arrives once it listens. An address the SMTP server refuses for
good (550) is counted as failed and not retried.
"""
import email
import email.policy
import json
import os
import re
import sys
import threading
import time

import requests
from aiosmtpd.controller import Controller

from custos_e2e import Server, check, free_port, metric, read_topic, run, wait_metric

PORT = None  # the SMTP server's, chosen before custos starts


class Inbox:
    """An aiosmtpd handler that keeps every message and refuses bounce@… for good."""

    def __init__(self):
        self.messages = []
        self.cond = threading.Condition()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.cond:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
            self.cond.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, predicate, timeout=60):
        """The first message (mail_from, rcpt_tos, msg) matching, within the deadline."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for m in self.messages:
                    if predicate(m[2]):
                        return m
                left = deadline - time.monotonic()
                check(left > 0, "no matching mail within %ss; got %s" % (
                    timeout, [x[2]["Subject"] for x in self.messages]))
                self.cond.wait(left)


def to(addr):
    return lambda msg: msg["To"].addresses[0].addr_spec == addr


def scenario(s):
    inbox = Inbox()
    root = s.root()
    root.expect(201, "POST", "/v1/tenants", {"id": "vince", "name": "Vince Live"})
    t = "/v1/tenants/vince"

    # Seed 000: a user is created; the SMTP server is not up yet, so the mail waits.
    ada = root.expect(201, "POST", t + "/users", {
        "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"})
    wait_metric(s, "custos_mail_retries_total", 1)
    check(metric(s, "custos_mail_sent_total") == 0, "nothing sent while the server is down")
    controller = Controller(inbox, hostname="127.0.0.1", port=PORT)
    controller.start()
    try:
        mail_from, rcpts, msg = inbox.wait_for(to("ada@example.com"))
        check(mail_from == "access@vince.example" and rcpts == ["ada@example.com"], (mail_from, rcpts))
        check(str(msg["From"]) == "Vince Access <access@vince.example>", msg["From"])
        check(msg["Subject"] == "Your Custos account in vince", msg["Subject"])
        check(msg["X-Custos-Notification"] == "user.temporary_password", msg.items())
        body = msg.get_content()
        check("https://vince.example/vince/login" in body, body)
        check("ada@example.com" in body, body)
        password = re.search(r"Temporary password:\s+(\S+)", body).group(1)
        check(password == ada["temporary_password"], "the mailed password is the one made")
        # The user signs in with what the mail says and must change it first.
        login = s.login("vince", "ada@example.com", password)
        check(login.status_code == 200 and login.json()["must_change_password"], login.text)
        ada_token = login.json()["access_token"]
        r = requests.post(s.url(t + "/auth/password"), headers={"Authorization": "Bearer " + ada_token},
                          json={"current_password": password, "new_password": "ada's own passphrase"})
        check(r.status_code in (200, 204), r.text)
        check(s.login("vince", "ada@example.com", "ada's own passphrase").status_code == 200, "own")

        # Seed 003: an invitation mail with the accept link; the link's token is accepted.
        inv = root.expect(201, "POST", t + "/invitations", {"email": "bob@example.com"})
        _, _, msg = inbox.wait_for(to("bob@example.com"))
        check(msg["Subject"] == "You are invited to vince", msg["Subject"])
        link = re.search(r"https://vince\.example/accept\?token=(\S+)", msg.get_content())
        check(link is not None, msg.get_content())
        r = requests.post(s.url("/v1/invitations/accept"), json={
            "token": link.group(1), "first_name": "Bob", "last_name": "Builder",
            "password": "bob's long passphrase"})
        check(r.status_code == 200 and r.json()["tenant"] == "vince", r.text)
        check(root.expect(200, "GET", t + "/invitations/" + inv["id"])["status"] == "accepted", "accepted")

        # Seed 002: a mail when the groups a user belongs to change, added and removed.
        designers = root.expect(201, "POST", t + "/groups", {"name": "Designers"})
        root.expect(200, "POST", t + "/groups/%s/members" % designers["id"],
                    {"members": [{"type": "user", "id": ada["id"]}]})
        _, _, added = inbox.wait_for(lambda m: to("ada@example.com")(m)
                                     and m["X-Custos-Notification"] == "group.membership_changed")
        check("You were added to the group Designers in workspace vince" in added.get_content(),
              added.get_content())
        root.expect(204, "DELETE", t + "/groups/%s/members/%s" % (designers["id"], ada["id"]))
        _, _, removed = inbox.wait_for(lambda m: "You were removed from the group Designers"
                                       in m.get_content())
        check(removed["To"].addresses[0].addr_spec == "ada@example.com", removed["To"])

        # Refused for good (550): failed once, not retried; the others still go.
        failed = metric(s, "custos_mail_failed_total")
        retries = metric(s, "custos_mail_retries_total")
        root.expect(201, "POST", t + "/users", {
            "email": "bounce@example.com", "first_name": "No", "last_name": "Body"})
        wait_metric(s, "custos_mail_failed_total", failed + 1)
        root.expect(201, "POST", t + "/users", {
            "email": "cy@example.com", "first_name": "Cy", "last_name": "Press"})
        inbox.wait_for(to("cy@example.com"))
        check(metric(s, "custos_mail_retries_total") == retries, "a 550 is not retried")
        check(metric(s, "custos_mail_queued") == 0, "nothing left queued")
        sent = metric(s, "custos_mail_sent_total")
        check(sent == len(inbox.messages) == 5, (sent, [m[2]["Subject"] for m in inbox.messages]))
        # No secret in the trail: the events say a mail went, never what it said.
        trail = root.expect(200, "GET", t + "/audit/events?limit=500")
        check(password not in str(trail) and link.group(1) not in str(trail), "no secret in events")
    finally:
        controller.stop()


def with_kafka_too():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    server = Server(sys.argv[1], ["--kafka", "embedded", "--smtp", "smtp://127.0.0.1:%d" % port,
                                  "--mail-from", "access@vince.example"])
    try:
        root = server.root()
        root.expect(201, "POST", "/v1/tenants", {"id": "both", "name": "Both"})
        t = "/v1/tenants/both"
        ops = root.expect(201, "POST", t + "/groups", {"name": "Ops"})
        ada = root.expect(201, "POST", t + "/users", {
            "email": "ada@example.com", "first_name": "Ada", "last_name": "L", "group_ids": []})
        root.expect(200, "POST", t + "/groups/%s/members" % ops["id"],
                    {"members": [{"type": "user", "id": ada["id"]}]})
        inbox.wait_for(lambda m: m["X-Custos-Notification"] == "group.membership_changed")
        inbox.wait_for(lambda m: m["X-Custos-Notification"] == "user.temporary_password")
        brokers = open(os.path.join(server.dir, "kafka.addr")).read().strip()
        records = [json.loads(r[3]) for r in read_topic(brokers, "custos.notifications.v1", 2)]
        by_type = {r["type"]: r for r in records}
        check(sorted(by_type) == ["group.membership_changed", "user.temporary_password"], records)
        changed = by_type["group.membership_changed"]
        check(changed["user_id"] == ada["id"] and changed["group_id"] == ops["id"]
              and changed["group_name"] == "Ops" and changed["change"] == "added"
              and changed["login_url"] == server.base + "/login", changed)
        check(by_type["user.temporary_password"]["login_url"] == server.base + "/login", records)
    finally:
        server.stop()
        controller.stop()


PORT = free_port()
with_kafka_too()
run(scenario, ["--smtp", "smtp://127.0.0.1:%d" % PORT,
               "--mail-from", "Vince Access <access@vince.example>",
               "--login-url", "https://vince.example/{tenant}/login",
               "--invitation-url", "https://vince.example/accept"])
