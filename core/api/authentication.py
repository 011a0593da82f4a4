"""API authentication: django-rest-knox's tokens, with the caller written into the audit
trail. DRF checks a token inside the view, after the audit middleware has run, so the
middleware saw no one; this tells the audit trail who the token belongs to."""

from __future__ import annotations

from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication

from core.audit import attribute_to


class AuditedTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        authenticated = super().authenticate(request)
        if authenticated is not None:
            user, token = authenticated
            attribute_to(user, via=f"API token {token.token_key}")
        return authenticated


class AuditedTokenScheme(KnoxTokenScheme):
    """The OpenAPI schema describes these tokens as knox's own."""

    target_class = "core.api.authentication.AuditedTokenAuthentication"
