"""Run real OpenID Connect providers for tests: the certified npm package oidc-provider, under Node.

`ensure_oidc_provider()` installs (once) the pinned oidc-provider from the npm registry into a cache folder
outside the repository (~/.cache/channel-crm/oidc-provider-<version>, or $CRM_OIDC_PROVIDER_DIR).
`running_provider()` starts `node tests/oidc/provider.mjs` on a free port, waits for its discovery document and
stops it afterwards. A provider's clients register by OpenID Connect Dynamic Client Registration; its test
accounts are put through the script's test endpoint; `login()` plays the browser up to the redirect back to
the relying party, choosing the account in the script's login-free interaction.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from tests.npm_packages import cache_dir, ensure_npm_packages

OIDC_PROVIDER_VERSION = "8.8.1"  # 8.x runs on Node 18 and 20
SCRIPT = Path(__file__).resolve().parent / "provider.mjs"


def default_install_dir() -> Path:
    return cache_dir("CRM_OIDC_PROVIDER_DIR", f"oidc-provider-{OIDC_PROVIDER_VERSION}")


def ensure_oidc_provider(install_dir: Path | None = None) -> Path:
    """The node_modules folder holding oidc-provider at the pinned version, installed with npm if it is not."""
    return ensure_npm_packages(
        install_dir or default_install_dir(), {"oidc-provider": OIDC_PROVIDER_VERSION}, needed_for="The SSO tests"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass(frozen=True)
class ProviderResponse:
    """Where the provider sent the browser back to the relying party, and that URL's query."""

    url: str
    params: dict[str, str]


@dataclass
class OidcProvider:
    """One running oidc-provider process."""

    issuer: str
    registration_token: str
    admin_token: str
    process: subprocess.Popen[bytes]

    def register_client(self, redirect_uri: str) -> RegisteredClient:
        """A new confidential client (client_secret_basic) by Dynamic Client Registration."""
        response = httpx.post(
            f"{self.issuer}/reg",
            json={
                "redirect_uris": [redirect_uri], "grant_types": ["authorization_code"], "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
            },
            headers={"Authorization": f"Bearer {self.registration_token}"},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        body = response.json()
        return RegisteredClient(body["client_id"], body["client_secret"], redirect_uri)

    def put_account(self, account_id: str, **claims: Any) -> None:
        """Add or replace a test account; its claims are email, email_verified, name, groups."""
        response = httpx.put(
            f"{self.issuer}/test/accounts/{account_id}", json=claims,
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )  # fmt: skip
        assert response.status_code == 204, response.text

    async def login(self, authorization_url: str, account_id: str, *, decline: bool = False) -> ProviderResponse:
        """Play the browser from the authorization URL until the provider redirects elsewhere (to the relying party).

        In the interaction, sign in as `account_id` (or decline). A fresh cookie jar each time: no provider
        session carries over from one test to the next.
        """
        async with httpx.AsyncClient(timeout=10) as browser:
            url = authorization_url
            for _ in range(10):
                if not url.startswith(self.issuer + "/"):
                    query = parse_qs(urlsplit(url).query)
                    return ProviderResponse(url, {k: v[0] for k, v in query.items()})
                if urlsplit(url).path.startswith("/interaction/"):
                    url += "?error=access_denied" if decline else f"?login={account_id}"
                response = await browser.get(url)
                assert response.status_code in (302, 303), f"{url}: {response.status_code} {response.text[:500]}"
                url = urljoin(url, response.headers["location"])
        raise AssertionError("The provider kept redirecting to itself.")

    async def tokens_for(self, client: RegisteredClient, account_id: str, *, nonce: str) -> dict[str, Any]:
        """A whole code flow as the client itself: the provider's token response (its ID token included)."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = httpx.QueryParams(
            client_id=client.client_id, response_type="code", redirect_uri=client.redirect_uri,
            scope="openid email profile groups", state=secrets.token_urlsafe(16), nonce=nonce,
            code_challenge=challenge, code_challenge_method="S256",
        )  # fmt: skip
        back = await self.login(f"{self.issuer}/auth?{query}", account_id)
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                f"{self.issuer}/token",
                data={"grant_type": "authorization_code", "code": back.params["code"],
                      "redirect_uri": client.redirect_uri, "code_verifier": verifier},
                auth=(client.client_id, client.client_secret),
            )  # fmt: skip
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_for_discovery(provider: OidcProvider, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    url = f"{provider.issuer}/.well-known/openid-configuration"
    while time.monotonic() < deadline:
        if provider.process.poll() is not None:
            raise RuntimeError(f"oidc-provider exited with {provider.process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    provider.stop()
    raise RuntimeError(f"oidc-provider did not serve {url} within {timeout:.0f}s:\n{log_path.read_text()}")


@contextlib.contextmanager
def running_provider(*, claims_in_id_token: bool = False) -> Iterator[OidcProvider]:
    """A provider process on a free port of 127.0.0.1 (its issuer http://127.0.0.1:<port>), stopped at the end.

    `claims_in_id_token` puts e-mail, name and groups in the ID token; without it they come from userinfo only.
    """
    node_modules = ensure_oidc_provider()
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="crm-oidc-") as folder:
        config = {
            "node_modules": str(node_modules), "port": port, "issuer": f"http://127.0.0.1:{port}",
            "registration_token": secrets.token_urlsafe(24), "admin_token": secrets.token_urlsafe(24),
            "claims_in_id_token": claims_in_id_token,
        }  # fmt: skip
        config_path = Path(folder) / "config.json"
        config_path.write_text(json.dumps(config))
        log_path = Path(folder) / "provider.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                ["node", str(SCRIPT), str(config_path)], stdout=log, stderr=subprocess.STDOUT, cwd=folder
            )
        provider = OidcProvider(str(config["issuer"]), str(config["registration_token"]), str(config["admin_token"]),
                                process)  # fmt: skip
        try:
            _wait_for_discovery(provider, log_path)
            yield provider
        finally:
            provider.stop()
