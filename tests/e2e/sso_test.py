"""Single sign-on with OpenID Connect end to end, against a small identity provider written for
the tests (oidc_idp.py: python3-jwt and python3-cryptography). The browser is a
python3-requests session that follows no redirect by itself, so that each hop is seen.

A mapping nobody could give is refused at configuration; the first login provisions the user
with the mapped group and the second links it; an existing local user is linked by email and
its password login is then refused for the SSO-only domain; the group claim keeps the mapped
memberships in step. Refused, and audited: a wrong nonce, a wrong audience, an expired ID
token, an unverified email, a bad signature, a domain not allowed, a redirect_uri not on the
list, a replayed state, a callback from another browser. ES256 and a key rotation at the
provider work. The client secret is in no event, log or clear byte of the data dir."""
import os
import time
import urllib.parse

import pyotp
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from custos_e2e import Server, Session, check, run
from oidc_idp import IdentityProvider

APP = "https://app.example.com/after-login"
CLIENT_SECRET = "idp-client-secret-Zq8vW2"
T = "/v1/tenants/acme"


def begin(s, redirect_uri=APP, browser=None):
    """Start a login in a browser: Custos's 302 to the provider, then the provider's 302 back."""
    browser = browser or requests.Session()
    r = browser.get(s.url(T + "/sso/oidc/start"), params={"redirect_uri": redirect_uri},
                    allow_redirects=False)
    check(r.status_code == 302, "start: %d %s" % (r.status_code, r.text))
    check(r.headers.get("Cache-Control", "").startswith("no-store"), r.headers)
    at_idp = r.headers["Location"]
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(at_idp).query))
    check(q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43, q)
    check(len(q["state"]) >= 43 and len(q["nonce"]) >= 43, q)
    check(q["redirect_uri"] == s.url(T + "/sso/oidc/callback"), q)
    back = browser.get(at_idp, allow_redirects=False)
    check(back.status_code == 302, back.text)
    return browser, back.headers["Location"]


def finish(browser, callback):
    r = browser.get(callback, allow_redirects=False)
    return r


def fragment_of(r):
    check(r.status_code == 302, "expected a redirect: %d %s" % (r.status_code, r.text))
    loc = r.headers["Location"]
    check(loc.startswith(APP + "#"), loc)
    check("?" not in loc.split("#")[0].replace(APP, ""), "nothing in the query: %s" % loc)
    return dict(urllib.parse.parse_qsl(loc.split("#", 1)[1]))


def login(s, idp, user, **tamper):
    idp.user = user
    idp.tamper = tamper
    browser, callback = begin(s)
    return fragment_of(finish(browser, callback))


def last_event(root, type_):
    items = root.expect(200, "GET", T + "/audit/events?limit=1&action=" + type_)["items"]
    check(items, "no %s event" % type_)
    return items[0]


def refused(s, root, idp, reason, user, **tamper):
    got = login(s, idp, user, **tamper)
    check(got.get("error") == "access_denied" and "access_token" not in got, got)
    event = last_event(root, "auth.sso_login_failed")
    check(event["data"]["reason"] == reason, "reason %s: %s" % (reason, event["data"]))


def scenario(s):
    idp = IdentityProvider("custos-acme", CLIENT_SECRET)
    try:
        run_with(s, idp)
        without_private_networks(s, idp)
    finally:
        idp.stop()


def without_private_networks(s, idp):
    """Without --sso-private-networks a tenant's issuer reaches public addresses only: this
    loopback provider is refused after name resolution (no SSRF into the node's network)."""
    other = Server(s.proc.args[0])
    try:
        root = other.root()
        root.expect(201, "POST", "/v1/tenants", {"id": "acme", "name": "Acme"})
        root.expect(200, "PUT", T + "/sso/oidc", {
            "issuer": idp.issuer, "client_id": "custos-acme", "client_secret": CLIENT_SECRET,
            "allowed_domains": ["acme.test"], "redirect_uris": [APP]})
        discovery_before = idp.seen["discovery"]
        r = requests.get(other.url(T + "/sso/oidc/start"), params={"redirect_uri": APP},
                         allow_redirects=False)
        check(r.status_code == 503, "a loopback provider is refused: %d %s" % (r.status_code, r.text))
        check(idp.seen["discovery"] == discovery_before, "nothing reached the provider")
    finally:
        other.stop()


def run_with(s, idp):
    root = s.root()
    root.expect(201, "POST", "/v1/tenants", {"id": "acme", "name": "Acme"})
    editors = root.expect(201, "POST", T + "/roles", {"name": "User editors", "permissions": [
        {"resource_type": "iam.user", "level": "edit"}]})["id"]
    eng = root.expect(201, "POST", T + "/groups", {"name": "Engineering"})["id"]
    root.expect(201, "POST", T + "/bindings", {"subject": {"type": "group", "id": eng},
                                               "role_id": editors})
    config = {"issuer": idp.issuer, "client_id": "custos-acme", "client_secret": CLIENT_SECRET,
              "allowed_domains": ["acme.test"], "required_domains": ["acme.test"],
              "group_claim": "groups", "group_mapping": {"eng": eng}, "redirect_uris": [APP]}

    # A settings admin who cannot give Engineering's grants cannot map a claim to it: the
    # mapping would hand them to whoever signs in (ACCESS.md rules 1 and 2).
    settings_admin = root.expect(201, "POST", T + "/roles", {"name": "Settings admins",
                                 "permissions": [{"resource_type": "iam.settings",
                                                  "level": "admin"},
                                                 {"resource_type": "iam.group",
                                                  "level": "edit"}]})["id"]
    tess = root.expect(201, "POST", T + "/api-clients", {
        "name": "tess", "bindings": [{"role_id": settings_admin}]})
    tess_s = Session(s, s.token(tess["client_id"],
                                tess["client_secret"]).json()["access_token"])
    r = tess_s.call("PUT", T + "/sso/oidc", config)
    check(r.status_code == 403 and "group_mapping" in r.text, r.text)
    check(root.call("GET", T + "/sso/oidc").status_code == 404, "nothing configured")
    bad = dict(config, issuer="http://idp.example.com")
    r = root.call("PUT", T + "/sso/oidc", bad)
    check(r.status_code == 422 and "issuer" in r.text, "http off loopback refused: " + r.text)

    view = root.expect(200, "PUT", T + "/sso/oidc", config)
    check(view["client_secret_set"] is True and "client_secret" not in view, view)
    check(view["callback_url"] == s.url(T + "/sso/oidc/callback"), view)
    providers = requests.get(s.url(T + "/sso/providers")).json()["providers"]
    check(providers == [{"protocol": "oidc", "issuer": idp.issuer,
                         "start_url": T + "/sso/oidc/start"}], providers)
    check(last_event(root, "tenant.sso_configured")["data"]["config"]["group_mapping"] ==
          {"eng": eng}, "the mapping is in the trail")

    ada = {"sub": "idp-ada", "email": "ada@acme.test", "email_verified": True,
           "given_name": "Ada", "family_name": "Lovelace", "groups": ["eng", "other"]}
    # First login: provisioned, with the mapped group.
    got = login(s, idp, ada)
    check(got.get("token_type") == "Bearer" and int(got["expires_in"]) > 0, got)
    me = Session(s, got["access_token"]).expect(200, "GET", T + "/me")
    check(me["principal"]["email"] == "ada@acme.test" and me["principal"]["first_name"] == "Ada",
          me["principal"])
    check(me["principal"]["sso"]["subject"] == "idp-ada", me["principal"])
    check([g["id"] for g in me["principal"]["groups"]] == [eng], me["principal"]["groups"])
    ok = last_event(root, "auth.sso_login_succeeded")["data"]
    check(ok["provisioned"] is True and ok["groups_added"] == [eng], ok)
    provisioned = last_event(root, "user.provisioned")
    check(provisioned["data"]["subject"] == "idp-ada", provisioned)
    check(idp.seen["pkce_refused"] == 0 and idp.seen["token"][-1]["code_verifier"], idp.seen)

    # Second login: the same user, linked; no second user.
    got = login(s, idp, ada)
    check(got.get("access_token"), got)
    users = root.expect(200, "GET", T + "/users?limit=100")["items"]
    check(sum(1 for u in users if u["email"] == "ada@acme.test") == 1, users)
    ok = last_event(root, "auth.sso_login_succeeded")["data"]
    check(ok["provisioned"] is False and ok["groups_added"] == [], ok)

    # The claim no longer names the group: its mapped membership goes.
    login(s, idp, dict(ada, groups=[]))
    ok = last_event(root, "auth.sso_login_succeeded")["data"]
    check(ok["groups_removed"] == [eng], ok)

    # An existing local user is linked by its verified email; its domain signs in by SSO only.
    bob = root.expect(201, "POST", T + "/users", {"email": "bob@acme.test", "first_name": "Bob",
                                                  "last_name": "Local"})
    r = s.login("acme", "bob@acme.test", bob["temporary_password"])
    check(r.status_code == 403 and "single sign-on" in r.text, r.text)
    # Said only for the right password: a wrong one is the usual 401 (nothing to enumerate).
    check(s.login("acme", "bob@acme.test", "wrong").status_code == 401, "a wrong password")
    # No header of an unauthenticated caller stops the record of its failure.
    r = requests.post(s.url(T + "/auth/login"), json={"email": "bob@acme.test", "password": "x"},
                      headers={"If-Match": "not a version"})
    check(r.status_code == 401, "If-Match is not read on a login: %s" % r.text)
    got = login(s, idp, {"sub": "idp-bob", "email": "BOB@acme.test", "email_verified": True})
    me = Session(s, got["access_token"]).expect(200, "GET", T + "/me")
    check(me["principal"]["id"] == bob["id"], me["principal"])
    check(last_event(root, "auth.sso_login_succeeded")["data"]["linked"] is True, "linked")
    # Another account at the provider with Bob's address (a recycled mailbox) is not Bob.
    refused(s, root, idp, "subject_mismatch", {"sub": "idp-mallory", "email": "bob@acme.test",
                                               "email_verified": True})

    # ES256, and a key the provider rotated in (fetched again on the unknown kid).
    idp.kid = "ec1"
    check(login(s, idp, ada).get("access_token"), "ES256")
    idp.add_key("rsa2", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    idp.kid = "rsa2"
    jwks_before = idp.seen["jwks"]
    check(login(s, idp, ada).get("access_token"), "a rotated key")
    check(idp.seen["jwks"] == jwks_before + 1, "the keys were fetched again once")

    # Refused and audited.
    idp.kid = "rsa1"
    refused(s, root, idp, "bad_nonce", ada, nonce="not-the-login-nonce")
    refused(s, root, idp, "bad_audience", ada, aud="someone-else")
    refused(s, root, idp, "expired", ada, exp=int(time.time()) - 3600)
    refused(s, root, idp, "email_not_verified", ada, email_verified=False)
    refused(s, root, idp, "domain_not_allowed", dict(ada, sub="x", email="eve@elsewhere.test"))
    # A key that is not the provider's, under a kid that is.
    idp.add_key("forged", rsa.generate_private_key(public_exponent=65537, key_size=2048),
                publish=False)
    idp.keys["rsa1"], real = idp.keys["forged"], idp.keys["rsa1"]
    refused(s, root, idp, "bad_signature", ada)
    idp.keys["rsa1"] = real

    # A redirect_uri not on the list: an error here, never a redirect there.
    r = requests.get(s.url(T + "/sso/oidc/start"),
                     params={"redirect_uri": "https://evil.example.com/steal"},
                     allow_redirects=False)
    check(r.status_code == 422 and "Location" not in r.headers, r.text)
    check(last_event(root, "auth.sso_login_failed")["data"]["reason"] ==
          "redirect_uri_not_allowed", "audited")

    # A replayed state: the callback works once.
    idp.user, idp.tamper = ada, {}
    browser, callback = begin(s)
    check(fragment_of(finish(browser, callback)).get("access_token"), "first use")
    again = finish(browser, callback)
    check(again.status_code == 400 and "Location" not in again.headers, again.text)
    check(last_event(root, "auth.sso_login_failed")["data"]["reason"] == "unknown_state",
          "replay audited")

    # Made-up states cost no write each: the first of a minute from an address is recorded at
    # once, the rest in one tallied event when the minute is over.
    def unknown_states():
        items = root.expect(200, "GET", T + "/audit/events?limit=500&action=auth.sso_login_failed")
        return sum(1 for e in items["items"] if e["data"]["reason"] == "unknown_state")
    before = unknown_states()
    for i in range(6):
        r = requests.get(s.url(T + "/sso/oidc/callback"), params={"state": "made-up-%d" % i,
                                                                  "code": "x"})
        check(r.status_code == 400, r.text)
    check(unknown_states() == before, "no event per made-up state")

    # A callback carried to another browser (login CSRF) lacks the starting browser's cookie.
    browser, callback = begin(s)
    got = fragment_of(finish(requests.Session(), callback))
    check(got.get("error") == "access_denied", got)
    check(last_event(root, "auth.sso_login_failed")["data"]["reason"] == "state_not_bound", got)

    # The provider said no.
    idp.user = None
    browser, callback = begin(s)
    check(fragment_of(finish(browser, callback)).get("error") == "access_denied", "idp refused")
    check(last_event(root, "auth.sso_login_failed")["data"]["reason"] ==
          "provider_error_access_denied", "audited")

    # A user with a second factor finishes an SSO login with it, as after a password.
    idp.user, idp.tamper = ada, {}
    ada_token = login(s, idp, ada)["access_token"]
    me = Session(s, ada_token)
    started = me.expect(200, "POST", T + "/me/mfa/totp", {})
    totp = pyotp.TOTP(started["secret"])
    t0 = time.time()
    me.expect(200, "POST", T + "/me/mfa/totp:confirm", {"code": totp.at(t0)})
    got = login(s, idp, ada)
    check(got.get("mfa_required") == "true" and got.get("mfa_token") and "access_token" not in got,
          got)
    done = requests.post(s.url(T + "/auth/mfa"),
                         json={"mfa_token": got["mfa_token"], "code": totp.at(t0 + 30)})
    check(done.status_code == 200 and done.json()["access_token"], done.text)

    # A settings admin below admin kind may configure a provider, but its logins cannot take
    # over an admin-kind user (ACCESS.md rule 4: the provider holds every login it signs).
    boss = root.expect(201, "POST", T + "/users", {"email": "boss@acme.test", "first_name": "Boss",
                                                   "last_name": "Admin", "kind": "admin"})
    # Root's provider is changed by root or an admin-kind user only (it holds every login).
    r = tess_s.call("PUT", T + "/sso/oidc", dict(config, group_mapping={}))
    check(r.status_code == 403, r.text)
    root.expect(204, "DELETE", T + "/sso/oidc")
    tess_s.expect(200, "PUT", T + "/sso/oidc", dict(config, group_mapping={}))
    refused(s, root, idp, "configurer_does_not_outrank",
            {"sub": "idp-boss", "email": "boss@acme.test", "email_verified": True})
    # Nor can its required_domains lock the admin out: the password still works for Boss,
    # and not for Bob, whom Tess outranks.
    check(s.login("acme", "boss@acme.test", boss["temporary_password"]).status_code == 200,
          "the admin's password is not refused by a lower configurer's required domain")
    check(s.login("acme", "bob@acme.test", bob["temporary_password"]).status_code == 403, "bob")
    root.expect(200, "PUT", T + "/sso/oidc", config)

    # The client secret is in no event, no log line and no clear byte of the data dir.
    events = root.expect(200, "GET", T + "/audit/events?limit=500")["items"]
    secret = CLIENT_SECRET.encode()
    check(secret not in repr(events).encode(), "the client secret in an event")
    for dirpath, _, files in os.walk(s.dir):
        for name in files:
            data = open(os.path.join(dirpath, name), "rb").read()
            check(secret not in data, "the client secret in clear in %s" % name)
    check(secret not in s.stderr_seen, "the client secret in the server's log")

    # Removed: no more SSO logins; the domain's password logins are back.
    root.expect(204, "DELETE", T + "/sso/oidc")
    r = requests.get(s.url(T + "/sso/oidc/start"), params={"redirect_uri": APP},
                     allow_redirects=False)
    check(r.status_code == 404, r.text)
    check(s.login("acme", "bob@acme.test", bob["temporary_password"]).status_code == 200,
          "password login again")

    # The public list of providers is limited per source address like the logins (a flood of
    # it costs the flooder, not everyone).
    statuses = [requests.get(s.url(T + "/sso/providers")).status_code for _ in range(80)]
    check(429 in statuses and statuses[0] == 200, statuses)


run(scenario, ["--sso-private-networks"])
