"""Second factors (TOTP) end to end: python3-pyotp (Debian) makes the codes a phone would.
Enrol, log in with a code, replay it (refused), a recovery code once (twice refused), a tenant
that requires MFA for admins holds an admin to enrolment, failed codes lock the account, and
no secret or code is in the data dir's bytes or the server's log."""
import base64
import os
import time

import pyotp
import requests

from custos_e2e import Session, check, run

PASSWORD = "correct horse battery staple 9"


def new_user(s, root, t, email, extra=None):
    body = {"email": email, "first_name": email[0].upper(), "last_name": "Tester"}
    body.update(extra or {})
    made = root.expect(201, "POST", t + "/users", body)
    temp = made["temporary_password"]
    token = s.login("acme", email, temp).json()["access_token"]
    Session(s, token).expect(200, "POST", t + "/auth/password",
                             {"current_password": temp, "new_password": PASSWORD})
    return made["id"]


def enrol(s, t, token):
    me = Session(s, token)
    started = me.expect(200, "POST", t + "/me/mfa/totp", {})
    uri = pyotp.parse_uri(started["otpauth_uri"])
    check(uri.secret == started["secret"] and uri.digits == 6 and uri.interval == 30, started)
    totp = pyotp.TOTP(started["secret"])
    t0 = time.time()
    done = me.expect(200, "POST", t + "/me/mfa/totp:confirm", {"code": totp.at(t0)})
    check(len(done["recovery_codes"]) == 10 and done["user"]["mfa"]["method"] == "totp", done)
    return totp, t0, started["secret"], done["recovery_codes"]


def second_step(s, t, mfa_token, **code):
    body = {"mfa_token": mfa_token}
    body.update(code)
    return requests.post(s.url(t + "/auth/mfa"), json=body)


def challenge(s, email):
    r = s.login("acme", email, PASSWORD)
    check(r.status_code == 200 and r.json().get("mfa_required") is True, r.text)
    check("access_token" not in r.json(), "no token before the second step: %s" % r.text)
    return r.json()["mfa_token"]


def scenario(s):
    root = s.root()
    root.expect(201, "POST", "/v1/tenants", {"id": "acme", "name": "Acme"})
    t = "/v1/tenants/acme"
    new_user(s, root, t, "ada@example.com")
    token = s.login("acme", "ada@example.com", PASSWORD).json()["access_token"]
    totp, t0, secret, recovery = enrol(s, t, token)

    # The confirming code was used: the same code does not log in; the next step's does.
    check(second_step(s, t, challenge(s, "ada@example.com"), code=totp.at(t0)).status_code == 401,
          "the enrolment's code is used up")
    code = totp.at(t0 + 30)
    ok = second_step(s, t, challenge(s, "ada@example.com"), code=code)
    check(ok.status_code == 200 and ok.json()["access_token"], ok.text)
    Session(s, ok.json()["access_token"]).expect(200, "GET", t + "/me")
    replay = second_step(s, t, challenge(s, "ada@example.com"), code=code)
    check(replay.status_code == 401, "a code is accepted once: %s" % replay.text)

    # A recovery code once; twice refused.
    first = second_step(s, t, challenge(s, "ada@example.com"), recovery_code=recovery[0])
    check(first.status_code == 200, first.text)
    again = second_step(s, t, challenge(s, "ada@example.com"), recovery_code=recovery[0])
    check(again.status_code == 401, "a recovery code is used once: %s" % again.text)
    me = Session(s, first.json()["access_token"]).expect(200, "GET", t + "/me")
    check(me["principal"]["mfa"]["recovery_codes_left"] == 9, me["principal"]["mfa"])

    # MFA required for admins: an admin-kind user is held to enrolment until it has one.
    root.expect(200, "PATCH", t, {"settings": {"mfa_required": "admins"}})
    new_user(s, root, t, "root.admin@example.com", {"kind": "admin"})
    login = s.login("acme", "root.admin@example.com", PASSWORD).json()
    check(login.get("mfa_enrollment_required") is True, login)
    admin = Session(s, login["access_token"])
    blocked = admin.call("GET", t + "/users")
    check(blocked.status_code == 403 and "second factor" in blocked.text, blocked.text)
    enrol(s, t, login["access_token"])
    admin.expect(200, "GET", t + "/users")
    # Its next login asks for the second factor.
    challenge(s, "root.admin@example.com")

    # Failed codes count towards the lockout (5 by default).
    new_user(s, root, t, "bob@example.com")
    bob_totp, _, _, _ = enrol(s, t, s.login("acme", "bob@example.com", PASSWORD).json()["access_token"])
    valid = {bob_totp.at(time.time() + d) for d in (-60, -30, 0, 30, 60)}
    wrong = next(c for c in ("000000", "111111", "222222") if c not in valid)
    for _ in range(5):
        r = second_step(s, t, challenge(s, "bob@example.com"), code=wrong)
        check(r.status_code == 401, r.text)
    check(s.login("acme", "bob@example.com", PASSWORD).status_code == 401, "locked")
    events = root.expect(200, "GET", t + "/audit/events?limit=200")["items"]
    types = [e["type"] for e in events]
    for wanted in ("user.mfa_enrolled", "auth.mfa_succeeded", "auth.mfa_failed", "user.locked"):
        check(wanted in types, "%s recorded: %s" % (wanted, types))
    reasons = {e["data"].get("reason") for e in events if e["type"] == "auth.mfa_failed"}
    check({"replayed_code", "used_recovery_code", "bad_code"} <= reasons, reasons)

    # No secret, code or recovery code in clear: not in the events, the data dir's bytes
    # (the store's write-ahead log included) or the server's log.
    raw_key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    codes = [r.encode() for r in recovery] + [r.replace("-", "").upper().encode() for r in recovery]
    secrets = [secret.encode(), raw_key] + codes
    check(not any(n in repr(events).encode() for n in secrets + [b'"' + code.encode() + b'"']),
          "a secret or a code in an event")
    for dirpath, _, files in os.walk(s.dir):
        for name in files:
            data = open(os.path.join(dirpath, name), "rb").read()
            for n in secrets:
                check(n not in data, "a secret in clear in %s" % os.path.join(dirpath, name))
    check(not any(n in s.stderr_seen for n in secrets), "a secret in the server's log")


run(scenario)
