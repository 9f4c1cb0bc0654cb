"""The admin pages: server-rendered Flask + Jinja, signed-in admins only, CSRF on every form.

``init_admin(app, settings)`` mounts them when an admin password is configured. Feature
packages add their own pages to :data:`blueprint` (see :mod:`sidecar.admin.views`) and their
numbers to the dashboard through :func:`sidecar.admin.panels.register_panel`.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from config import Settings
from sidecar.admin import followups as _followup_pages  # noqa: F401 - adds its pages
from sidecar.admin import goals as _goals_pages  # noqa: F401 - adds its pages to blueprint
from sidecar.admin import skills as _skills_pages  # noqa: F401 - adds its pages to blueprint
from sidecar.admin.auth import PasswordCheck
from sidecar.admin.views import blueprint, limiter

__all__ = ["blueprint", "init_admin"]


class AdminConfigError(ValueError):
    """The admin pages are switched on but cannot run safely (e.g. no session key)."""


def init_admin(app: Flask, settings: Settings) -> bool:
    """Mount the admin pages on ``app``; False (and nothing mounted) when no password is set.

    Raises:
        AdminConfigError: a password is set but no session key to sign cookies with.
    """
    admin = settings.admin
    if not admin.enabled:
        return False
    key = admin.resolved_session_key
    if key is None:
        raise AdminConfigError(
            "the admin pages need a session key shared by every worker: set "
            "SIDECAR_ADMIN__SESSION_KEY or admin.session_key_file")
    app.secret_key = key.get_secret_value()
    app.config.update(
        SESSION_COOKIE_NAME="sidecar_session", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=admin.secure_cookies, SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=admin.session_minutes),
        WTF_CSRF_TIME_LIMIT=admin.session_minutes * 60,
        RATELIMIT_STORAGE_URI=admin.rate_limit_storage, RATELIMIT_STRATEGY="fixed-window",
    )
    app.extensions["sidecar.password"] = PasswordCheck.from_settings(admin)
    app.extensions["sidecar.signin_limit"] = admin.signin_limit
    limiter.init_app(app)
    app.register_blueprint(blueprint)
    return True
