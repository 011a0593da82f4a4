"""django-csp's middleware, with the site's own policy built once per process."""

from __future__ import annotations

from functools import cache

from csp import middleware
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest
from django.http.response import HttpResponseBase

# What django-csp's decorators (@csp, @csp_update, @csp_replace, @csp_exempt) set on a
# response whose policy is its own.
_OWN_POLICY = tuple(
    f"_csp_{kind}{suffix}" for kind in ("config", "update", "replace", "exempt") for suffix in ("", "_ro")
)


class CSPMiddleware(middleware.CSPMiddleware):
    """django-csp's middleware. A response with no nonce and no policy of its own gets
    the site's policy (settings.CONTENT_SECURITY_POLICY and its report-only twin) as
    built once per process: django-csp builds it anew for every response, which cost the
    survey page about 0.1 ms a request (issue 15). Any other response goes through
    django-csp's own process_response."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(hasattr(response, name) for name in _OWN_POLICY):
            return super().process_response(request, response)
        if response.status_code in (404, 500) and settings.DEBUG:
            return response  # Django's debug pages, as django-csp leaves them
        for header, setting, report_only in (
            (HEADER, "CONTENT_SECURITY_POLICY", False),
            (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", True),
        ):
            policy = _site_policy(report_only)
            excluded = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if policy and header not in response and not request.path_info.startswith(tuple(excluded)):
                response[header] = policy
        # As django-csp: a nonce asked for once the header is written is an error.
        request.csp_nonce = middleware.CheckableLazyObject(self._csp_nonce_post_response)
        return response


@cache
def _site_policy(report_only: bool) -> str:
    return build_policy(report_only=report_only)


def _forget_policy(*, setting: str, **kwargs: object) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _site_policy.cache_clear()


setting_changed.connect(_forget_policy, dispatch_uid="core-csp-site-policy")
