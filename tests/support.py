"""Helpers that several test modules share: a migrated store, and a faked Totara GraphQL
endpoint (``responses``) with the real client in front of it. Plain functions; the fixtures
built on them stay in each ``conftest.py`` or test module."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import responses
from pydantic import SecretStr
from sqlalchemy import Engine

import store
from connector.retry import RetryPolicy
from connector.totara.auth import ClientCredentials
from connector.totara.client import TotaraClient
from connector.totara.transport import TotaraTransport

Reply = tuple[int, dict[str, str], str]


@contextmanager
def migrated_store(folder: Path) -> Iterator[Engine]:
    """A store on a new SQLite file in ``folder``, migrated to the newest schema; disposed
    after."""
    engine = store.create_engine(f"sqlite:///{folder / 'store.sqlite'}")
    store.migrate(engine)
    yield engine
    engine.dispose()


def graphql_call(request: requests.PreparedRequest) -> tuple[str, dict[str, Any]]:
    """The operation name and the variables of a GraphQL request to a faked Totara."""
    body = request.body
    payload = json.loads(body.decode() if isinstance(body, bytes) else str(body))
    match = re.search(r"\{\s*(\w+)", payload["query"])
    assert match is not None
    return match.group(1), payload["variables"]


def graphql_reply(name: str, answer: object) -> Reply:
    """Totara's answer to operation ``name``: ``answer`` under ``data``."""
    return 200, {"Content-Type": "application/json"}, json.dumps({"data": {name: answer}})


def fake_totara(rsps: responses.RequestsMock, site: str,
                graphql: Callable[[requests.PreparedRequest], Reply]) -> None:
    """Serve ``site``'s OAuth2 token endpoint, and its GraphQL endpoint by ``graphql``."""
    rsps.add(responses.POST, f"{site}/totara/oauth2/token.php",
             json={"token_type": "Bearer", "expires_in": 3600, "access_token": "t0k3n"})
    rsps.add_callback(responses.POST, f"{site}/api/graphql.php", callback=graphql)


def totara_client(site: str, retry: RetryPolicy) -> TotaraClient:
    """The real Totara client for ``site`` with test client credentials."""
    auth = ClientCredentials("sidecar", SecretStr("client-secret-value"))
    return TotaraClient(TotaraTransport(site, auth, retry=retry))
