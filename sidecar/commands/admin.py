"""``sidecar admin``: set up the admin pages."""

from __future__ import annotations

import click

from sidecar.admin.auth import hash_password


@click.group()
def admin() -> None:
    """The admin pages of `sidecar serve`."""


@admin.command("hash-password")
@click.password_option("--password", prompt="Admin password",
                       help="The password (asked for, hidden, when not given).")
def hash_password_command(password: str) -> None:
    """Print a hash of the admin password for admin.password_hash (the password itself is
    never stored)."""
    if len(password) < 12:
        raise click.BadParameter("use at least 12 characters", param_hint="password")
    click.echo(hash_password(password))
