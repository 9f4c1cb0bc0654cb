"""Password hashing shared by the login endpoint, user creation and the seed."""

from __future__ import annotations

import hashlib
import secrets


def hash_password(password: str, salt: str) -> str:
    """A salted hash (the sandbox never stores or logs a password in clear)."""
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000).hex()
    return f"pbkdf2${salt}${digest}"


def check_password(password: str, stored: str) -> bool:
    _, salt, _ = stored.split("$", 2)
    return secrets.compare_digest(hash_password(password, salt), stored)
