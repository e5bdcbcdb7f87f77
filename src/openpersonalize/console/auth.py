"""Console sign-in when access keys are configured: a signed session cookie, no new dependency.

The cookie is ``<access key id>.<expiry epoch>.<hex HMAC-SHA256>``, the HMAC keyed by that access
key's secret over ``<access key id>.<expiry>``. Removing or rotating a key in the configuration
ends its sessions at once; nothing is stored on the server.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from openpersonalize.controlplane.context import Context

COOKIE = "openpersonalize_console"
SESSION_SECONDS = 12 * 3600


def required(ctx: Context) -> bool:
    return bool(ctx.config.credentials())


def _signature(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def check_keys(ctx: Context, access_key_id: str, secret: str) -> bool:
    expected = ctx.config.credentials().get(access_key_id)
    if expected is None:
        # Compare anyway so an unknown key id takes as long as a wrong secret.
        hmac.compare_digest(secret.encode(), b"-" * max(len(secret), 1))
        return False
    return hmac.compare_digest(secret.encode(), expected.encode())


def make_cookie(ctx: Context, access_key_id: str, now: float | None = None) -> str:
    secret = ctx.config.credentials()[access_key_id]
    expires = int((now if now is not None else time.time()) + SESSION_SECONDS)
    payload = f"{access_key_id}.{expires}"
    return f"{payload}.{_signature(secret, payload)}"


def session_key(ctx: Context, cookie: str | None, now: float | None = None) -> str | None:
    """The access key id of a valid, unexpired session cookie, else None."""
    if not cookie:
        return None
    parts = cookie.rsplit(".", 2)
    if len(parts) != 3:
        return None
    key_id, expires, signature = parts
    secret = ctx.config.credentials().get(key_id)
    if secret is None or not expires.isdigit():
        return None
    if int(expires) < (now if now is not None else time.time()):
        return None
    if not hmac.compare_digest(signature, _signature(secret, f"{key_id}.{expires}")):
        return None
    return key_id
