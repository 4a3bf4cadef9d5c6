"""POST /oauth/token: the OAuth2 client-credentials grant, served by authlib's authorization server.

authlib's server is synchronous and has no Starlette binding, so the endpoint reads the form and
the client row asynchronously first, then hands authlib a request and a client it can use as is.

Failed attempts are throttled per address and per presented client id (in PostgreSQL, as sign-in is).
An unknown client id is answered exactly as a wrong secret is: the same invalid_client body, after
verifying one Argon2 hash, so neither the answer nor its time tells whether the id exists.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections import defaultdict
from collections.abc import Collection
from typing import Any
from urllib.parse import unquote

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Payload, grants
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse

from api.auth.keys import KeyRing, key_ring
from api.auth.responses import client_address
from api.auth.tokens import _claims, _sign
from domain.identity.machine_clients import OAuthClient, secret_matches
from domain.shared.errors import RateLimited
from domain.shared.text import first_unstorable
from services.identity import client_to_authenticate, record_client_authentication

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
MAX_BODY = 16 * 1024  # bytes; a token request is a few short form fields


class MachineClient(ClientMixin):
    """A presented client id as authlib sees it: confidential, client-credentials only; `row` None when unknown."""

    def __init__(self, client_id: str, row: OAuthClient | None) -> None:
        self.client_id = client_id
        self.row = row

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:  # type: ignore[override]  # the stubs' str: this client has none
        return None

    def get_allowed_scope(self, scope: Collection[str] | str) -> str:
        return ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return secret_matches(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS


class FormPayload(OAuth2Payload):
    def __init__(self, form: dict[str, str]) -> None:
        self._form = form

    @property
    def data(self) -> dict[str, str]:
        return self._form

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        values: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in self._form.items():
            values[key].append(value)
        return values


class FormRequest(OAuth2Request):
    def __init__(self, uri: str, headers: Headers, form: dict[str, str]) -> None:
        super().__init__("POST", uri, headers=headers)
        self.payload = FormPayload(form)
        self._form = form

    @property
    def args(self) -> dict[str, str | None]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return self._form


class TokenServer(AuthorizationServer):
    """Issues our signed JWTs for one already-looked-up client; tokens are self-contained, nothing is stored."""

    def __init__(self, client: MachineClient | None, ring: KeyRing, ttl: int) -> None:
        super().__init__()
        self.client = client
        self.register_grant(ClientCredentials)
        # authlib takes any callable; its stubs want a BearerTokenGenerator.
        self.register_token_generator("default", self._generate)  # type: ignore[arg-type]
        self.ring = ring
        self.ttl = ttl

    def _generate(self, grant_type: str, client: MachineClient, **_: Any) -> dict[str, Any]:
        assert client.row is not None  # only a client whose secret matched gets here
        claims = _claims(client.row.client_id, client.row.tenant_id, "machine", list(client.row.roles), self.ttl)
        return {"access_token": _sign(self.ring, claims), "token_type": "Bearer", "expires_in": self.ttl}

    def query_client(self, client_id: str) -> MachineClient | None:  # type: ignore[override]  # authlib takes None
        return self.client if self.client and self.client.get_client_id() == client_id else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        return None

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, Any]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


def _presented_client_id(headers: Headers, form: dict[str, str]) -> str | None:
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return unquote(decoded.partition(":")[0])
    return form.get("client_id")


async def token_endpoint(request: Request) -> JSONResponse:
    """Exchange client credentials for a bearer token of the client's tenant and roles; 429 while throttled."""
    sessions = request.app.state.sessions
    settings = request.app.state.settings
    form = {k: str(v) for k, v in (await request.form()).items()}
    headers = request.headers  # case-insensitive, as authlib expects to read "Authorization"
    client_id = _presented_client_id(headers, form)
    if (unstorable := first_unstorable(form | {"client_id": client_id})) is not None:  # before any query uses them
        field, reason = unstorable
        return JSONResponse({"error": "invalid_request", "error_description": f"{field} {reason}."}, status_code=400)
    address = client_address(request)
    try:
        row = await client_to_authenticate(sessions, client_id, address)
    except RateLimited as exc:
        return JSONResponse(
            {"error": "rate_limited", "error_description": "Too many failed attempts; try again later."},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    client = MachineClient(client_id, row) if client_id else None
    server = TokenServer(client, await key_ring(sessions), settings.token_ttl_seconds)
    # Behind a TLS-terminating proxy the scheme arrives as a forwarded header; outside production plain HTTP is fine.
    scheme = "https" if not settings.production else request.url.scheme
    uri = str(request.url.replace(scheme=scheme))
    # Argon2 verification is deliberately slow: keep it off the event loop.
    status, body, response_headers = await asyncio.to_thread(
        server.create_token_response, FormRequest(uri, headers, form)
    )
    if isinstance(body, dict) and body.get("error") == "invalid_client":
        await record_client_authentication(sessions, client_id, address, succeeded=False)
    elif status == 200 and client_id:
        await record_client_authentication(sessions, client_id, address, succeeded=True)
    return JSONResponse(body, status_code=status, headers=dict(response_headers))
