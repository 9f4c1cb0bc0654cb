"""Who may use the admin pages: one admin password, kept hashed, and a signed session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import current_app, redirect, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from config.settings import AdminSettings


@dataclass(frozen=True)
class PasswordCheck:
    """The admin password as a hash (never the password itself)."""

    hash: str

    @classmethod
    def from_settings(cls, admin: AdminSettings) -> PasswordCheck:
        if admin.password_hash:
            return cls(admin.password_hash)
        assert admin.password is not None
        return cls(hash_password(admin.password.get_secret_value()))

    def matches(self, password: str) -> bool:
        return check_password_hash(self.hash, password)


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` (werkzeug's format), for ``admin.password_hash``."""
    return generate_password_hash(password, method="scrypt")


def sign_in(password: str) -> bool:
    """Start an admin session when ``password`` is right; False otherwise."""
    check: PasswordCheck = current_app.extensions["sidecar.password"]
    if not check.matches(password):
        return False
    session.clear()
    session.permanent = True
    session["admin"] = True
    return True


def signed_in() -> bool:
    return bool(session.get("admin"))


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send anybody not signed in to the sign-in page (401 for non-GET requests)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not signed_in():
            if request.method != "GET":
                return "Sign in first.", 401
            return redirect(url_for("admin.signin", next=request.path))
        return view(*args, **kwargs)

    return wrapper


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.dashboard")
