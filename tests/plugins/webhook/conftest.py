"""Fixtures of the webhook tests (helpers in webhook_helpers.py)."""

from webhook_helpers import secrets_env  # noqa: F401  (a fixture)
