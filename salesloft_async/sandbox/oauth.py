"""The sandbox's OAuth 2 authorization server, built on Authlib's server classes.

Authlib ships no aiohttp integration, so this module is one: it reads the aiohttp request (query,
form body, headers) up front, hands Authlib a synchronous `OAuth2Request` whose payload is that
data (as Authlib's Flask integration does with Flask's request), and turns Authlib's
(status, body, headers) back into an aiohttp response.

Like Salesloft, refresh tokens are single-use: issuing one revokes every earlier refresh token of
the same grant, and a replayed one answers 400 invalid_grant.  Access tokens go into
`sandbox.tokens`, so they expire on the sandbox clock and the API answers 401 afterwards.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs
from aiohttp import web
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    AuthorizationCodeMixin,
    AuthorizationServer,
    ClientMixin,
    OAuth2Error,
    OAuth2Payload,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import CodeChallenge  # type: ignore[import-untyped]

__all__ = ["OAuthServer", "install_oauth"]

CODE_TTL = 600.0
_CLIENT_AUTH = ["client_secret_basic", "client_secret_post"]


# --- models ----------------------------------------------------------------------------------


class _User:
    def __init__(self, user_id: int, team_id: int = 1):
        self.id = user_id
        self.team_id = team_id

    def get_user_id(self) -> int:
        return self.id


class _Client(ClientMixin):  # type: ignore[misc]
    def __init__(self, client_id: str, client_secret: str, redirect_uri: str):
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri

    def __repr__(self) -> str:
        return f"_Client({self.client_id!r})"

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str | None) -> str:
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """The registered URI, or any port on loopback (RFC 8252 7.3: native apps such as
        `salesloft-async login` pick a free port)."""
        if redirect_uri == self.redirect_uri:
            return True
        parts = urlsplit(redirect_uri)
        return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret or "", self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in _CLIENT_AUTH

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token", "client_credentials")


@attrs.define(repr=False)
class _Code(AuthorizationCodeMixin):  # type: ignore[misc]
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user_id: int
    team_id: int
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@attrs.define(repr=False)
class _Grant(TokenMixin):  # type: ignore[misc]
    """One access/refresh pair; `grant_id` ties together every pair of one user's authorization."""

    grant_id: str
    client_id: str
    user_id: int
    team_id: int
    scope: str
    access_token: str
    refresh_token: str | None
    issued_at: float
    expires_in: float
    revoked: bool = False

    def check_client(self, client: _Client) -> bool:
        return bool(self.client_id == client.get_client_id())

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(self.expires_in)

    def is_expired(self) -> bool:
        return False  # refresh tokens do not expire by time in the sandbox

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> _User:
        return _User(self.user_id, self.team_id)

    def get_client(self) -> Any:
        return None


# --- aiohttp adapter ---------------------------------------------------------------------------


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, data: Mapping[str, str], datalist: Mapping[str, list[str]]):
        self._data = dict(data)
        self._datalist = defaultdict(list, {k: list(v) for k, v in datalist.items()})

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class _Request(OAuth2Request):  # type: ignore[misc]
    """An aiohttp request already read (query + form), in the shape Authlib's grants expect."""

    def __init__(self, method: str, url: str, headers: Mapping[str, str], args: Any, form: Any):
        super().__init__(method=method, uri=url, headers=headers)
        self._args = {k: args.get(k) for k in args}
        self._form = {k: form.get(k) for k in form}
        values: dict[str, list[str]] = defaultdict(list)
        for source in (args, form):
            for k in set(source.keys()):
                values[k].extend(str(v) for v in source.getall(k))
        self.payload = _Payload({k: v[0] for k, v in values.items()}, values)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


async def _read(request: web.Request) -> _Request:
    """Raises Authlib's InsecureTransportError for plain HTTP off loopback (a sandbox served on
    0.0.0.0 needs AUTHLIB_INSECURE_TRANSPORT=1, Authlib's own switch)."""
    form = await request.post() if request.method == "POST" else {}
    return _Request(request.method, str(request.url), request.headers, request.query, form)


# --- grants ------------------------------------------------------------------------------------


class _AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = _CLIENT_AUTH

    def save_authorization_code(self, code: str, request: _Request) -> None:
        srv: OAuthServer = self.server
        data = request.payload.data
        srv.codes[code] = _Code(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri or "",
            scope=request.scope or "",
            user_id=request.user.id,
            team_id=request.user.team_id,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            expires_at=srv.clock() + CODE_TTL,
        )

    def query_authorization_code(self, code: str, client: _Client) -> _Code | None:
        srv: OAuthServer = self.server
        item = srv.codes.get(code)
        if item and item.client_id == client.get_client_id() and item.expires_at > srv.clock():
            return item
        return None

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        self.server.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: _Code) -> _User:
        return _User(authorization_code.user_id, authorization_code.team_id)


class _CodeChallenge(CodeChallenge):  # type: ignore[misc]
    def get_authorization_code_challenge(self, authorization_code: _Code) -> str | None:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: _Code) -> str | None:
        return authorization_code.code_challenge_method


class _RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = _CLIENT_AUTH
    INCLUDE_NEW_REFRESH_TOKEN = True  # Salesloft rotates on every refresh

    def authenticate_refresh_token(self, refresh_token: str) -> _Grant | None:
        item = self.server.by_refresh.get(refresh_token)
        if item is None or item.revoked:
            return None
        return item  # type: ignore[no-any-return]

    def authenticate_user(self, refresh_token: _Grant) -> _User:
        return _User(refresh_token.user_id, refresh_token.team_id)

    def revoke_old_credential(self, refresh_token: _Grant) -> None:
        refresh_token.revoked = True


class _ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = _CLIENT_AUTH


class _Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = _CLIENT_AUTH

    def query_token(self, token_string: str, token_type_hint: str | None) -> _Grant | None:
        srv: OAuthServer = self.server
        if token_type_hint != "refresh_token" and token_string in srv.by_access:
            return srv.by_access[token_string]
        return srv.by_refresh.get(token_string) or srv.by_access.get(token_string)

    def revoke_token(self, token: _Grant, request: _Request) -> None:
        """Revoking a refresh token ends the whole grant (RFC 7009 2.1); an access token, itself."""
        srv: OAuthServer = self.server
        if request.form.get("token") == token.refresh_token:
            srv.end_grant(token.grant_id)
        else:
            srv.sandbox.tokens.revoke(token.access_token)


# --- the server --------------------------------------------------------------------------------


class OAuthServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's authorization server, wired to the sandbox's clock, counters and token registry."""

    def __init__(self, sandbox: Any):
        super().__init__()
        self.sandbox = sandbox
        info = sandbox.oauth_client
        self.client = _Client(info.client_id, info.client_secret, info.redirect_uri)
        self.codes: dict[str, _Code] = {}
        self.by_refresh: dict[str, _Grant] = {}
        self.by_access: dict[str, _Grant] = {}
        self.grants: dict[str, list[_Grant]] = defaultdict(list)
        self.user_id = int(getattr(sandbox, "oauth_user_id", 1))
        self.register_token_generator("default", self._generate)
        self.register_grant(_AuthorizationCodeGrant, [_CodeChallenge(required=False)])
        self.register_grant(_RefreshTokenGrant)
        self.register_grant(_ClientCredentialsGrant)
        self.register_endpoint(_Revocation)

    def clock(self) -> float:
        return float(self.sandbox.clock())

    @property
    def ttl(self) -> float:
        return float(self.sandbox.config.token_ttl)

    # Authlib hooks
    def query_client(self, client_id: str) -> _Client | None:
        return self.client if client_id == self.client.client_id else None

    def _generate(
        self,
        grant_type: str,
        client: _Client,
        user: _User | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": generate_token(48),
            "expires_in": int(self.ttl) if self.ttl == int(self.ttl) else self.ttl,
            "scope": scope or "",
            "created_at": int(self.clock()),
        }
        if include_refresh_token:
            token["refresh_token"] = generate_token(48)
        return token

    def save_token(self, token: dict[str, Any], request: _Request) -> None:
        grant_type = request.payload.grant_type
        user = request.user if request.user is not None else _User(self.user_id)
        if grant_type == "refresh_token":
            grant_id = request.refresh_token.grant_id
        else:
            grant_id = generate_token(16)
        item = _Grant(
            grant_id=grant_id,
            client_id=self.client.client_id,
            user_id=user.id,
            team_id=user.team_id,
            scope=token.get("scope", ""),
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            issued_at=self.clock(),
            expires_in=self.ttl,
        )
        if item.refresh_token:
            for earlier in self.grants[grant_id]:  # single-use: a new one kills all older ones
                earlier.revoked = True
            self.by_refresh[item.refresh_token] = item
        self.grants[grant_id].append(item)
        self.by_access[item.access_token] = item
        self.sandbox.tokens.issue(item.access_token, self.ttl, user.id, user.team_id)
        self.sandbox.counters[f"grant:{grant_type}"] += 1

    def end_grant(self, grant_id: str) -> None:
        for item in self.grants.get(grant_id, ()):
            item.revoked = True
            self.sandbox.tokens.revoke(item.access_token)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        raise TypeError("read the aiohttp request with _read() first")

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("the sandbox has no JSON OAuth endpoints")

    def handle_response(self, status: int, body: Any, headers: Any) -> web.Response:
        hdrs = dict(headers or [])
        if isinstance(body, dict):
            hdrs["Content-Type"] = "application/json"
            return web.Response(status=status, text=json.dumps(body), headers=hdrs)
        return web.Response(status=status, text=body or "", headers=hdrs)

    def handle_error_response(self, request: Any, error: OAuth2Error) -> web.Response:
        if error.error == "invalid_grant":
            self.sandbox.counters["invalid_grant"] += 1
        return super().handle_error_response(request, error)  # type: ignore[no-any-return]

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    # aiohttp handlers
    async def authorize(self, request: web.Request) -> web.Response:
        """Auto-approves the sandbox's test user: there is no login page to click through.

        Salesloft's login page decides who authorizes; here the sandbox-only query parameters
        ``team`` and ``user`` (default: team 1, user 1) stand in for it.
        """
        try:
            req = await _read(request)
        except OAuth2Error as error:
            return self.handle_error_response(None, error)
        user = self._login(request)
        if user is None:
            return web.json_response(
                {"error": "invalid_request", "error_description": "no such sandbox team or user"},
                status=400,
            )
        try:
            grant = self.get_consent_grant(req, end_user=user)
        except OAuth2Error as error:
            return self.handle_error_response(req, error)
        response = self.create_authorization_response(req, grant_user=user, grant=grant)
        return response  # type: ignore[no-any-return]

    def _login(self, request: web.Request) -> _User | None:
        """The team and user the sandbox's stand-in login page signs in as."""
        team, user = request.query.get("team", "1"), request.query.get("user")
        if not team.isdigit() or int(team) not in self.sandbox.teams:
            return None
        if user is None:
            return _User(self.user_id, int(team))
        if not user.isdigit() or int(user) not in self.sandbox.teams[int(team)].store["users"]:
            return None
        return _User(int(user), int(team))

    async def token(self, request: web.Request) -> web.Response:
        try:
            req = await _read(request)
        except OAuth2Error as error:
            return self.handle_error_response(None, error)
        return self.create_token_response(req)  # type: ignore[no-any-return]

    async def revoke(self, request: web.Request) -> web.Response:
        try:
            req = await _read(request)
        except OAuth2Error as error:
            return self.handle_error_response(None, error)
        return self.create_endpoint_response("revocation", req)  # type: ignore[no-any-return]


class _DropTokenDebug(logging.Filter):
    """Authlib's grants log each issued token at DEBUG; the sandbox never logs a token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Issue token", "Grant token"))


def _quiet_authlib() -> None:
    for name in ("authorization_code", "refresh_token", "client_credentials", "implicit"):
        logger = logging.getLogger(f"authlib.oauth2.rfc6749.grants.{name}")
        if not any(isinstance(f, _DropTokenDebug) for f in logger.filters):
            logger.addFilter(_DropTokenDebug())


def install_oauth(app: web.Application, sandbox: Any) -> OAuthServer:
    """Add /oauth/authorize, /oauth/token and /oauth/revoke to the sandbox app."""
    _quiet_authlib()
    server = OAuthServer(sandbox)
    app.router.add_get("/oauth/authorize", server.authorize)
    app.router.add_post("/oauth/token", server.token)
    app.router.add_post("/oauth/revoke", server.revoke)
    return server
