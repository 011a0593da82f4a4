from __future__ import annotations

from django.conf import settings
from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    """Says each person's email, whether it is verified, and their name."""

    def get_additional_claims(self, request):
        person = settings.PROVIDER_USERS[request.user.username]
        return {
            "email": person["email"],
            "email_verified": person["email_verified"],
            "given_name": person.get("given_name", ""),
            "family_name": person.get("family_name", ""),
        }
