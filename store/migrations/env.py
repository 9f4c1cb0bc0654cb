"""Alembic environment of the state store.

Programmatic use (`store.db.migrate`) passes an open connection in `config.attributes["connection"]`
and this file runs the migrations on it, inside the caller's transaction. From the alembic CLI (for
writing new revisions) the URL comes from `-x url=...` or `sqlalchemy.url` in the ini file:

    alembic -c store/migrations/alembic.ini -x url=sqlite:///var/dev.sqlite upgrade head
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from store.models import Base

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("no database URL: pass -x url=... or set sqlalchemy.url")
    return url


def run_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        render_as_batch=True,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    passed = config.attributes.get("connection")
    if passed is not None:
        _configure_and_run(passed)
        return
    from store.db import create_engine

    engine = create_engine(_url())
    try:
        with engine.connect() as connection:
            _configure_and_run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
