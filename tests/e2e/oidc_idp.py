"""A small OpenID Connect identity provider for the tests (python3-jwt, python3-cryptography):
discovery, a JWKS, an authorization endpoint that approves the test's current user at once,
and a token endpoint that checks the client's secret, the code (once), the redirect URI and
PKCE (S256) before it signs an ID token. `tamper` changes the next ID tokens' claims, `alg`
and `kid` choose their key, so that a test can send what a broken or hostile provider would."""
import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def b64url_uint(n, length=None):
    raw = n.to_bytes(length or (n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(kid, key):
    pub = key.public_key().public_numbers()
    if isinstance(key, rsa.RSAPrivateKey):
        return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                "n": b64url_uint(pub.n), "e": b64url_uint(pub.e)}
    return {"kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256",
            "x": b64url_uint(pub.x, 32), "y": b64url_uint(pub.y, 32)}


class IdentityProvider:
    def __init__(self, client_id, client_secret):
        self.client_id = client_id
        self.client_secret = client_secret
        self.keys = {"rsa1": rsa.generate_private_key(public_exponent=65537, key_size=2048),
                     "ec1": ec.generate_private_key(ec.SECP256R1())}
        self.published = ["rsa1", "ec1"]
        self.kid = "rsa1"
        self.user = None          # the claims of whoever "signs in" next
        self.tamper = {}          # claims changed in the next ID tokens
        self.codes = {}
        self.lock = threading.Lock()
        self.seen = {"discovery": 0, "authorize": [], "token": [], "jwks": 0, "pkce_refused": 0}
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send(self, status, body=None, headers=None):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/.well-known/openid-configuration":
                    with idp.lock:
                        idp.seen["discovery"] += 1
                    return self.send(200, {
                        "issuer": idp.issuer,
                        "authorization_endpoint": idp.issuer + "/authorize",
                        "token_endpoint": idp.issuer + "/token",
                        "jwks_uri": idp.issuer + "/jwks",
                        "response_types_supported": ["code"],
                        "code_challenge_methods_supported": ["S256"],
                        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                        "id_token_signing_alg_values_supported": ["RS256", "ES256"]})
                if url.path == "/jwks":
                    with idp.lock:
                        idp.seen["jwks"] += 1
                        keys = [public_jwk(k, idp.keys[k]) for k in idp.published]
                    return self.send(200, {"keys": keys})
                if url.path == "/authorize":
                    idp.seen["authorize"].append(q)
                    if (q.get("client_id") != idp.client_id or q.get("response_type") != "code"
                            or q.get("code_challenge_method") != "S256"
                            or "openid" not in q.get("scope", "").split()):
                        return self.send(400, {"error": "invalid_request"})
                    sep = "&" if "?" in q["redirect_uri"] else "?"
                    if idp.user is None:
                        return self.send(302, headers={"Location": q["redirect_uri"] + sep +
                                         urllib.parse.urlencode({"error": "access_denied",
                                                                 "state": q["state"]})})
                    code = secrets.token_urlsafe(24)
                    with idp.lock:
                        idp.codes[code] = {"q": q, "user": dict(idp.user)}
                    return self.send(302, headers={"Location": q["redirect_uri"] + sep +
                                     urllib.parse.urlencode({"code": code, "state": q["state"],
                                                             "iss": idp.issuer})})
                return self.send(404, {"error": "not_found"})

            def do_POST(self):
                if urllib.parse.urlsplit(self.path).path != "/token":
                    return self.send(404, {"error": "not_found"})
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                idp.seen["token"].append(form)
                auth = self.headers.get("Authorization", "")
                expected = "Basic " + base64.b64encode(
                    ("%s:%s" % (urllib.parse.quote(idp.client_id, safe=""),
                                urllib.parse.quote(idp.client_secret, safe=""))).encode()).decode()
                if auth != expected:
                    return self.send(401, {"error": "invalid_client"})
                with idp.lock:
                    grant = idp.codes.pop(form.get("code", ""), None)
                if (grant is None or form.get("grant_type") != "authorization_code"
                        or form.get("redirect_uri") != grant["q"]["redirect_uri"]):
                    return self.send(400, {"error": "invalid_grant"})
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(
                    hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if not verifier or challenge != grant["q"]["code_challenge"]:
                    idp.seen["pkce_refused"] += 1
                    return self.send(400, {"error": "invalid_grant",
                                           "error_description": "PKCE verification failed"})
                now = int(time.time())
                claims = {"iss": idp.issuer, "aud": idp.client_id, "iat": now, "exp": now + 300,
                          "nonce": grant["q"].get("nonce")}
                claims.update(grant["user"])
                claims.update(idp.tamper)
                claims = {k: v for k, v in claims.items() if v is not None}
                key = idp.keys[idp.kid]
                alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
                token = jwt.encode(claims, key, algorithm=alg, headers={"kid": idp.kid})
                return self.send(200, {"access_token": secrets.token_urlsafe(16),
                                       "token_type": "Bearer", "expires_in": 300,
                                       "id_token": token}, {"Cache-Control": "no-store"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add_key(self, kid, key, publish=True):
        with self.lock:
            self.keys[kid] = key
            if publish:
                self.published.append(kid)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    # A provider for another test's process (the console's browser test): oidc_idp.py
    # CLIENT_ID CLIENT_SECRET USER_JSON. Prints its issuer, then serves until stdin closes.
    import sys
    provider = IdentityProvider(sys.argv[1], sys.argv[2])
    provider.user = json.loads(sys.argv[3])
    print(provider.issuer, flush=True)
    sys.stdin.read()
    provider.stop()
