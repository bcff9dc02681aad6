"""A small OpenID Connect identity provider for the tests, on 127.0.0.1.

`python -m tests.oidc_provider --port N --users users.json --client-id ID --client-secret S`
serves discovery, a sign-in page (pick a user and press "Sign in"; no password), the token
endpoint (authorization code, client secret basic or post, PKCE S256 when sent) and the
signing keys. Identity tokens are RS256-signed with joserfc (the library Authlib uses), with
the nonce, audience, issuer and lifetime a real provider sets, and the user's `groups`.
Test data only; never a production identity provider.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey


class Provider:
    def __init__(self, issuer: str, users: dict, client_id: str, client_secret: str):
        self.issuer, self.users = issuer, users
        self.client_id, self.client_secret = client_id, client_secret
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-1", "use": "sig",
                                                         "alg": "RS256"})
        self.codes: dict[str, dict] = {}
        self.lock = threading.Lock()

    def metadata(self) -> dict:
        i = self.issuer
        return {"issuer": i, "authorization_endpoint": f"{i}/authorize",
                "token_endpoint": f"{i}/token", "jwks_uri": f"{i}/jwks",
                "userinfo_endpoint": f"{i}/userinfo", "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                          "client_secret_post"],
                "code_challenge_methods_supported": ["S256"]}

    def issue_code(self, query: dict, user: str) -> str:
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {**query, "user": user, "at": time.time()}
        return code

    def token(self, form: dict, auth_header: str) -> tuple[int, dict]:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if auth_header.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth_header[6:]).decode().partition(":")
        if (client_id, secret) != (self.client_id, self.client_secret):
            return 401, {"error": "invalid_client"}
        with self.lock:
            grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant"}
        if grant.get("code_challenge"):
            verifier = form.get("code_verifier", "").encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
            if digest.decode() != grant["code_challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "PKCE"}
        person = self.users[grant["user"]]
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": grant["user"], "aud": self.client_id,
                  "iat": now, "exp": now + 600, "auth_time": now,
                  "email": grant["user"], "email_verified": True,
                  "name": person.get("name", grant["user"]),
                  "groups": person.get("groups", [])}
        if grant.get("nonce"):
            claims["nonce"] = grant["nonce"]
        id_token = jwt.encode({"alg": "RS256", "kid": "test-1"}, claims, self.key)
        return 200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                     "expires_in": 600, "id_token": id_token, "scope": grant.get("scope", "")}


def handler(provider: Provider):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _send(self, status: int, body, kind: str = "application/json",
                  headers: dict | None = None) -> None:
            data = body if isinstance(body, bytes) else (
                json.dumps(body) if kind == "application/json" else body).encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                return self._send(200, provider.metadata())
            if url.path == "/jwks":
                return self._send(200, {"keys": [provider.key.as_dict(private=False)]})
            if url.path == "/authorize":
                if query.get("client_id") != provider.client_id:
                    return self._send(400, "unknown client", "text/plain")
                options = "".join(f'<option value="{html.escape(u)}">{html.escape(u)}</option>'
                                  for u in provider.users)
                hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" '
                                 f'value="{html.escape(v)}">' for k, v in query.items())
                page = (f"<html><body><h1>Test identity provider</h1><form method='post' "
                        f"action='/authorize'>{hidden}<label>User <select name='user'>"
                        f"{options}</select></label> <button type='submit'>Sign in</button>"
                        "</form></body></html>")
                return self._send(200, page, "text/html")
            return self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            path = urlsplit(self.path).path
            if path == "/authorize":
                user = form.pop("user", "")
                if user not in provider.users:
                    return self._send(400, "unknown user", "text/plain")
                code = provider.issue_code(form, user)
                target = form["redirect_uri"] + "?" + urlencode(
                    {"code": code, "state": form.get("state", "")})
                return self._send(302, b"", "text/plain", {"Location": target})
            if path == "/token":
                status, body = provider.token(form, self.headers.get("Authorization", ""))
                return self._send(status, body, headers={"Cache-Control": "no-store"})
            return self._send(404, {"error": "not found"})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    args = parser.parse_args()
    issuer = f"http://127.0.0.1:{args.port}"
    with open(args.users, encoding="utf-8") as fh:
        users = json.load(fh)
    provider = Provider(issuer, users, args.client_id, args.client_secret)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(provider))
    print(f"listening on {issuer}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
