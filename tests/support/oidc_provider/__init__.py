"""A small but real OpenID Connect provider (django-oauth-toolkit) that the SSO tests run
in a process of their own: tests/support/oidc.py starts it, serve.py is its entry point."""
