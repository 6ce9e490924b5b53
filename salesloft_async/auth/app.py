"""`OAuthApp`: one registered Salesloft OAuth application and the three calls it makes.

Request building and parsing come from Authlib's client-side helpers (RFC 6749 parameters, RFC 7636
PKCE, client authentication encoders); Authlib has no aiohttp client, so the POSTs are done here
with aiohttp.  A token POST is never retried: a refresh that may have reached the server may have
rotated the refresh token, and resending the old one would burn the grant.

A token answer is small, so its body is read to `TOKEN_RESPONSE_LIMIT` (64 KiB) and no further,
and every word of an error answer is redacted of the secrets the request carried (client secret,
refresh token, code, verifier): an authorization server that quotes them back in its
``error_description`` must not put them into an exception.
"""

from __future__ import annotations

import base64
import builtins
import hmac
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import attrs
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.oauth2.auth import ClientAuth  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.parameters import (  # type: ignore[import-untyped]
    prepare_grant_uri,
    prepare_token_request,
)
from authlib.oauth2.rfc7009 import prepare_revoke_token_request  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]

from .._checks import byte_count, seconds
from ..bodies import loads, read_body
from ..errors import (
    BODY_EXCERPT,
    ConfigurationError,
    ConnectionFailedError,
    RequestTimeoutError,
    ResponseDecodeError,
    redact,
)
from ..transport import check_base_url
from .errors import InvalidClientError, OAuthError, StateMismatchError
from .token import Token

__all__ = ["AuthorizationRequest", "ClientAuthMethod", "OAuthApp"]

log = logging.getLogger("salesloft_async.auth")

ClientAuthMethod = Literal["client_secret_post", "client_secret_basic"]

SALESLOFT_AUTHORIZE_URL = "https://accounts.salesloft.com/oauth/authorize"
SALESLOFT_TOKEN_URL = "https://accounts.salesloft.com/oauth/token"
SALESLOFT_REVOKE_URL = "https://accounts.salesloft.com/oauth/revoke"

#: A token answer is a few hundred bytes; anything past 64 KiB is not one.
TOKEN_RESPONSE_LIMIT = 64 * 1024

#: Form fields of a token or revoke request that are secrets.
_SECRET_FIELDS = frozenset({"code", "code_verifier", "refresh_token", "client_secret", "token"})


@attrs.frozen(repr=False)
class AuthorizationRequest:
    """Where to send the user, and what to keep (server side, per user) until the callback."""

    url: str
    state: str
    code_verifier: str

    def __repr__(self) -> str:
        return "AuthorizationRequest(url=<...>, state=<redacted>, code_verifier=<redacted>)"

    __str__ = __repr__


@attrs.frozen(repr=False)
class Callback:
    """What came back on the redirect URI."""

    code: str
    state: str | None
    #: Salesloft's `context` (where the user started the install) and the granted `scope`
    context: str | None = None
    scope: str | None = None

    def __repr__(self) -> str:
        return (
            f"Callback(code=<redacted>, state=<redacted>, context={self.context!r},"
            f" scope={self.scope!r})"
        )

    __str__ = __repr__


class OAuthApp:
    """A Salesloft OAuth application.  Holds the client secret; never shows it.

    :param client_id: the application's id.
    :param client_secret: the application's secret.
    :param redirect_uri: where Salesloft sends the user back (registered with the app).
    :param authorize_url: the authorization endpoint (the sandbox's in tests).
    :param token_url: the token endpoint.
    :param revoke_url: the revocation endpoint, or None.
    :param scopes: scopes to ask for, as a list or one space-separated string.
    :param client_auth: how the secret is sent: in the form or as HTTP Basic.
    :param timeout: seconds for one call to the authorization server.
    :param clock: epoch seconds, to stamp when a token was received (injected by tests).
    :param max_response_size: the longest answer read, in bytes (`TOKEN_RESPONSE_LIMIT`).
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str | None = None,
        *,
        authorize_url: str = SALESLOFT_AUTHORIZE_URL,
        token_url: str = SALESLOFT_TOKEN_URL,
        revoke_url: str | None = SALESLOFT_REVOKE_URL,
        scopes: Sequence[str] | str | None = None,
        client_auth: ClientAuthMethod = "client_secret_post",
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        max_response_size: int = TOKEN_RESPONSE_LIMIT,
    ):
        if not client_id or not client_secret:
            raise ConfigurationError(
                "OAuthApp needs the client_id and client_secret of your Salesloft OAuth application"
            )
        if client_auth not in ("client_secret_post", "client_secret_basic"):
            raise ConfigurationError(
                "client_auth must be 'client_secret_post' or 'client_secret_basic'"
            )
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.authorize_url = check_base_url(authorize_url)
        self.token_url = check_base_url(token_url)
        self.revoke_url = check_base_url(revoke_url) if revoke_url else None
        self.scopes = scopes.split() if isinstance(scopes, str) else list(scopes or [])
        self.client_auth = client_auth
        self.timeout = seconds("timeout", timeout)
        self.clock = clock
        self.max_response_size = byte_count("max_response_size", max_response_size)
        self._auth = ClientAuth(client_id, client_secret, client_auth)

    @classmethod
    def for_sandbox(
        cls,
        base_url: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str | None = None,
        **kw: Any,
    ) -> OAuthApp:
        """The sandbox serves its authorization server beside the API, under /oauth/."""
        base = base_url.rstrip("/")
        return cls(
            client_id,
            client_secret,
            redirect_uri,
            authorize_url=f"{base}/oauth/authorize",
            token_url=f"{base}/oauth/token",
            revoke_url=f"{base}/oauth/revoke",
            **kw,
        )

    def __repr__(self) -> str:
        return (
            f"OAuthApp(client_id={self.client_id!r}, client_secret=<redacted>,"
            f" token_url={self.token_url!r})"
        )

    __str__ = __repr__

    # --- authorization-code flow -------------------------------------------------------------

    def authorization_url(
        self,
        *,
        state: str | None = None,
        redirect_uri: str | None = None,
        scopes: Sequence[str] | None = None,
        **extra: str,
    ) -> AuthorizationRequest:
        """The URL to send the user to, with a fresh `state` and an S256 PKCE `code_verifier`.

        Keep both in the user's server-side session: `exchange_code` needs them on the callback.
        """
        state = state or generate_token(32)
        verifier = generate_token(64)  # RFC 7636: 43-128 unreserved characters
        uri = prepare_grant_uri(
            self.authorize_url,
            client_id=self.client_id,
            response_type="code",
            redirect_uri=redirect_uri or self.redirect_uri,
            scope=list(scopes) if scopes is not None else (self.scopes or None),
            state=state,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
            **extra,
        )
        return AuthorizationRequest(url=uri, state=state, code_verifier=verifier)

    @staticmethod
    def parse_callback(query: str | Mapping[str, str]) -> Callback:
        """Read `code`, `state`, `context` and `scope` from the redirect (URL, query or mapping).

        An `error=` redirect (the user said no) raises `OAuthError` with the server's code.
        """
        if isinstance(query, str):
            raw = urlsplit(query).query if "://" in query or query.startswith("/") else query
            params: Mapping[str, str] = dict(parse_qsl(raw.lstrip("?")))
        else:
            params = query
        if params.get("error"):
            raise OAuthError(400, str(params["error"]), str(params.get("error_description", "")))
        code = params.get("code")
        if not code:
            raise OAuthError(400, "invalid_request", "the callback carries no authorization code")
        return Callback(
            code=str(code),
            state=params.get("state"),
            context=params.get("context"),
            scope=params.get("scope"),
        )

    async def exchange_code(
        self,
        code: str,
        *,
        state: str | None,
        expected_state: str,
        code_verifier: str | None,
        redirect_uri: str | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> Token:
        """Trade the callback's code for a token, after checking `state` against the one kept.

        A mismatch raises `StateMismatchError` before anything is sent: the callback may be a
        forged request that tries to attach someone else's grant to this user.
        """
        if not expected_state or not state or not hmac.compare_digest(state, expected_state):
            raise StateMismatchError(
                "OAuth callback state does not match the state this user was sent with"
                " (possible CSRF, or a stale/duplicated callback): start the authorization again"
            )
        return await self._token_request(
            "authorization_code",
            session,
            code=code,
            redirect_uri=redirect_uri or self.redirect_uri,
            code_verifier=code_verifier,
        )

    # --- token endpoint ----------------------------------------------------------------------

    async def refresh(
        self,
        refresh_token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] | None = None,
    ) -> Token:
        """Spend `refresh_token` (single-use at Salesloft) for a new token.

        :param clock: epoch seconds that stamp the new token; defaults to the app's clock (a
            `TokenManager` passes its own, so its expiry checks and the stamp agree).
        """
        return await self._token_request(
            "refresh_token", session, clock=clock, refresh_token=refresh_token
        )

    async def client_credentials(
        self,
        *,
        scopes: Sequence[str] | None = None,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] | None = None,
    ) -> Token:
        """A token for the app itself (no user, no refresh token).

        :param scopes: scopes to ask for; defaults to the app's.
        :param clock: epoch seconds that stamp the new token; defaults to the app's clock.
        """
        scope = list(scopes) if scopes is not None else self.scopes
        kw: dict[str, Any] = {"scope": scope} if scope else {}
        return await self._token_request("client_credentials", session, clock=clock, **kw)

    async def revoke(
        self,
        token: str,
        *,
        token_type_hint: str | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        """Revoke an access or refresh token (RFC 7009); the server answers 200 even if unknown."""
        if not self.revoke_url:
            raise ConfigurationError("this OAuthApp has no revoke_url")
        body, headers = prepare_revoke_token_request(token, token_type_hint)
        await self._post(self.revoke_url, body, headers, session)

    async def _token_request(
        self,
        grant_type: str,
        session: aiohttp.ClientSession | None,
        *,
        clock: Callable[[], float] | None = None,
        **params: Any,
    ) -> Token:
        redirect_uri = params.pop("redirect_uri", None)
        body = prepare_token_request(grant_type, redirect_uri=redirect_uri, **params)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        _, data = await self._post(self.token_url, body, headers, session)
        now = (clock or self.clock)()
        token = Token.from_response(data, received_at=now)
        log.info(
            "OAuth %s grant succeeded (expires in %s s, token %s...)",
            grant_type,
            None if token.expires_at is None else round(token.expires_at - now),
            token.fingerprint[:8],
        )
        return token

    async def _post(
        self,
        url: str,
        body: str,
        headers: dict[str, str],
        session: aiohttp.ClientSession | None,
    ) -> tuple[int, Any]:
        secrets = self._secrets(body)
        url, headers, body = self._auth.prepare("POST", url, headers, body)
        path = urlsplit(url).path
        try:
            async with (
                self._session(session) as s,
                s.post(
                    url,
                    data=body.encode(),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.timeout),
                    allow_redirects=False,
                ) as resp,
            ):
                status = resp.status
                resp_headers = {k: redact(v, secrets) for k, v in resp.headers.items()}
                raw = await read_body(resp, self.max_response_size, method="POST", path=path)
        except builtins.TimeoutError:
            raise RequestTimeoutError(
                f"no answer from the token endpoint within {self.timeout} s; the grant may have"
                " been spent, so it is not retried",
                method="POST",
                path=path,
            ) from None
        except aiohttp.ClientError as exc:
            raise ConnectionFailedError(
                f"token endpoint unreachable ({type(exc).__name__}); not retried, since a"
                " refresh token is single-use",
                method="POST",
                path=path,
                sent=not isinstance(exc, aiohttp.ClientConnectorError),
            ) from None
        data = _decode(raw)
        if 200 <= status < 300:
            if url == self.token_url and not isinstance(data, dict):
                raise ResponseDecodeError(
                    "token endpoint answered without a JSON object",
                    status=status,
                    body_excerpt="<redacted>",  # a success body may hold a token
                    method="POST",
                    path=path,
                )
            return status, data
        error, desc = _error_fields(data, raw)
        error, desc = redact(error, secrets)[:BODY_EXCERPT], redact(desc, secrets)[:BODY_EXCERPT]
        cls = InvalidClientError if error == "invalid_client" or status == 401 else OAuthError
        raise cls(status, error, desc, path=path, headers=resp_headers)

    def _secrets(self, body: str) -> list[str]:
        """Every secret a request carries: the client secret (also as HTTP Basic) and the secret
        fields of its form."""
        basic = f"{self.client_id}:{self._client_secret}".encode()
        found = [self._client_secret, base64.b64encode(basic).decode()]
        found += [v for k, v in parse_qsl(body, keep_blank_values=True) if k in _SECRET_FIELDS]
        return found

    @asynccontextmanager
    async def _session(
        self, session: aiohttp.ClientSession | None
    ) -> AsyncIterator[aiohttp.ClientSession]:
        if session is not None:
            yield session
            return
        async with aiohttp.ClientSession() as own:
            yield own


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return loads(raw)
    except ValueError:
        return None


def _error_fields(data: Any, raw: bytes) -> tuple[str, str]:
    """The RFC 6749 error code and description; a non-JSON error body is summarised, never echoed
    (it could be a proxy page that reflects the request, secret included)."""
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        desc = data.get("error_description")
        return data["error"], desc if isinstance(desc, str) else ""
    return "server_error", f"non-OAuth error body ({len(raw)} bytes)"
