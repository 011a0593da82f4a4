"""A real OpenID Connect provider in a process of its own (tests/support/oidc_provider),
and the steps of signing in through it as a browser would, with requests."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import requests

from tests.support.processes import PROJECT_DIR, free_ports, stop, wait_until

CLIENT_ID = "valuepulse-test"
CLIENT_SECRET = "valuepulse-test-secret-0123456789"
PASSWORD = "provider password 42"

# The people the provider knows (each signs in there with PASSWORD).
PEOPLE = {
    "alice": {"email": "alice@example.com", "email_verified": True, "given_name": "Alice", "family_name": "Ash"},
    "unverified": {"email": "mallory@example.com", "email_verified": False},
    "newcomer": {"email": "newcomer@example.com", "email_verified": True, "given_name": "Nia", "family_name": "New"},
}


@dataclass(frozen=True)
class Provider:
    url: str  # the issuer, http://127.0.0.1:PORT/o

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def environment(self, **extra: str) -> dict[str, str]:
        """ValuePulse's environment for single sign-on through this provider (discovery)."""
        return {
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_OP_DISCOVERY_URL": self.discovery_url,
            "OIDC_PROVIDER_NAME": "Test IdP",
            **extra,
        }


def free_port() -> int:
    (port,) = free_ports(1, first=18300, last=18399)  # this suite's own range for the provider
    return port


@contextmanager
def oidc_provider(*, redirect_uri: str) -> Iterator[Provider]:
    """Starts the provider (its own SQLite database in a temporary folder) with one
    confidential, auto-approved client redirecting to `redirect_uri`; stops it by its PID."""
    port = free_port()
    users = {name: {"password": PASSWORD, **person} for name, person in PEOPLE.items()}
    client = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uri": redirect_uri}
    with tempfile.TemporaryDirectory(prefix="oidc-provider-") as folder:
        env = {
            **{key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}},
            "OIDC_PROVIDER_DIR": folder,
            "OIDC_PROVIDER_USERS": json.dumps(users),
            "OIDC_PROVIDER_CLIENT": json.dumps(client),
            "PYTHONUNBUFFERED": "1",
        }
        log = Path(folder) / "provider.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.oidc_provider.serve", str(port)],
                cwd=PROJECT_DIR, env=env, stdout=output, stderr=subprocess.STDOUT,
            )
        provider = Provider(url=f"http://127.0.0.1:{port}/o")
        try:
            if not wait_until(lambda: process.poll() is not None or _answers(provider.discovery_url), timeout=60) \
                    or process.poll() is not None:
                raise RuntimeError(f"The OIDC provider did not start:\n{log.read_text()}")
            yield provider
        finally:
            stop(process)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.ConnectionError:
        return False


def sign_in_with_sso(session: requests.Session, app_url: str, username: str, password: str = PASSWORD) -> requests.Response:
    """Follows "Sign in with …" from ValuePulse's login page to the provider's login form,
    fills it in, and follows the redirects back; returns ValuePulse's last answer."""
    login_page = session.get(f"{app_url}/login/", timeout=10)
    button = re.search(r'<a class="btn" href="([^"]+)">Sign in with', login_page.text)
    assert button, "the login page shows no single sign-on button"
    provider_form = session.get(app_url + unescape(button.group(1)), timeout=10)

    def form_field(name: str) -> str:
        return unescape(re.search(rf'name="{name}" value="([^"]*)"', provider_form.text).group(1))

    return session.post(
        provider_form.url,
        data={"csrfmiddlewaretoken": form_field("csrfmiddlewaretoken"), "next": form_field("next"),
              "username": username, "password": password},
        headers={"Referer": provider_form.url},
        timeout=30,
    )
