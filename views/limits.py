"""Rate limits (Flask-Limiter), shared by the forms that sign in or send mail. Counters live
where `RATELIMIT_STORAGE_URI` says: in memory by default (per process), in Redis when
several workers or hosts must share them."""

import math
import time

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from models import User

limiter = Limiter(get_remote_address)


def init_app(app):
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter.init_app(app)


def client_and_address(prefix):
    """A key function: this client asking about the address typed in the form's `email`.
    Counting per client *and* address means a stranger's requests never use up the owner's
    own allowance for their address (the owner asks from another client)."""

    def key():
        return f"{prefix}:{get_remote_address()}:{User.normalise_email(request.form.get('email'))}"

    return key


def address(prefix):
    """A key function: the address typed in the form's `email`, whoever asks."""

    def key():
        return f"{prefix}:{User.normalise_email(request.form.get('email'))}"

    return key


def wait_text():
    """How long until the limit that was hit resets: "12 minutes"."""
    current = limiter.current_limit
    reset_at = current.reset_at if current else time.time() + 3600
    minutes = max(1, math.ceil((reset_at - time.time()) / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
