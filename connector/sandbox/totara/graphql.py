"""Totara's ``/totara/oauth2/token.php`` and ``/api/graphql.php`` as the sandbox plays them.

Not a GraphQL engine: a small dispatcher on the operation's top-level field. lms-sidecar sends
fixed query texts with every value in ``variables``, so the sandbox reads the operation kind,
the field, whether it has arguments and whether only ``__typename`` is asked, and answers with
the contract's shapes (whole records: the selection is not pruned). What a real schema checks
before running anything is reproduced where lms-sidecar depends on it: an unknown field answers
"Cannot query field", a missing required argument "is required but not provided", and a query
costing more than the per-query complexity limit is refused.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, request

from connector.sandbox.faults import FaultInjector
from connector.sandbox.protocol import _inject, sandbox_state
from connector.sandbox.state import Db, SandboxState
from connector.sandbox.totara import resolvers
from connector.sandbox.totara.site import TotaraSite

blueprint = Blueprint("totara_api", __name__)

TOKEN_REJECTED = "Missing, expired or invalid access token"  # noqa: S105
COMPLEXITY_LIMIT = 6000
_HEAD = re.compile(r"^\s*(query|mutation)\b[^{]*\{\s*([A-Za-z_]\w*)\s*(\()?", re.S)
_ITEMS = re.compile(r"\bitems\s*\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")


class GraphQLFailure(Exception):
    """One ``errors[]`` entry; ``debug`` goes where the site's release puts ``debugMessage``."""

    def __init__(self, message: str, category: str = "internal", debug: str | None = None,
                 status: int = 200) -> None:
        super().__init__(message)
        self.message = message
        self.category = category
        self.debug = debug
        self.status = status


def site_of() -> TotaraSite:
    site: TotaraSite = current_app.extensions["sandbox.totara"]
    return site


def _json(body: object, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


@blueprint.route("/totara/oauth2/token.php", methods=["GET", "POST"])
def token_endpoint() -> Response:
    """Client credentials: ``{token_type, expires_in, access_token}`` or ``{error, ...}``."""
    state = sandbox_state()
    faults: FaultInjector = current_app.extensions["sandbox.faults"]
    replaced = _inject(faults.decide(None))
    if replaced is not None:
        return replaced
    form = dict(parse_qsl(request.get_data(as_text=True), keep_blank_values=True))
    if request.method != "POST" or form.get("grant_type") != "client_credentials":
        return _json({"error": "unsupported_grant_type",
                      "error_description": "The authorization grant type is not supported by "
                                           "the authorization server."}, 400)
    if not form.get("client_id") or not form.get("client_secret"):
        return _json({"error": "invalid_request",
                      "error_description": "The request is missing a required parameter."}, 400)
    with state.transaction() as db:
        client = db.one("SELECT * FROM totara_oauth_client WHERE client_id = ? AND enabled = 1",
                        (form["client_id"],))
        if client is None or not secrets.compare_digest(client["secret"], form["client_secret"]):
            return _json({"error": "invalid_client",
                          "error_description": "Client authentication failed"}, 401)
        token = secrets.token_hex(20)
        db.insert("totara_oauth_token", token=token, clientid=client["id"],
                  expires=state.clock.now() + int(client["lifetime"]))
    return _json({"token_type": "Bearer", "expires_in": int(client["lifetime"]),
                  "access_token": token})


@blueprint.route("/api/graphql.php", methods=["GET", "POST", "PUT"])
def graphql_endpoint() -> Response:
    """The external API: HTTP 400 unless POST with the API on; errors otherwise in ``errors``."""
    state = sandbox_state()
    site = site_of()
    if request.method != "POST" or not site.api_enabled:
        return Response("", status=400)
    try:
        payload = json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        return Response("", status=400)
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return Response("", status=400)
    head = _HEAD.match(payload["query"])
    faults: FaultInjector = current_app.extensions["sandbox.faults"]
    decision = faults.decide(head.group(2) if head else None)
    if decision.outcome == "ratelimit":
        time.sleep(decision.delay)
        response = _json({"errors": [{"message": "Too many requests"}]}, 429)
        response.headers["Retry-After"] = str(faults.config.retry_after)
        return response
    replaced = _inject(decision)
    if replaced is not None:
        return replaced
    try:
        with state.transaction() as db:
            user = _authenticate(db, state)
            data = _run(db, state, site, user, payload, head)
    except GraphQLFailure as failure:
        return _json({"errors": [_error_entry(failure, site, state)]}, failure.status)
    return _json({"data": data})


def _error_entry(failure: GraphQLFailure, site: TotaraSite,
                 state: SandboxState) -> dict[str, Any]:
    entry: dict[str, Any] = {"message": failure.message,
                             "extensions": {"category": failure.category}}
    if failure.debug and state.settings.debugdeveloper:
        if site.release >= "19":  # Totara 19 moved debugMessage into extensions
            entry["extensions"]["debugMessage"] = failure.debug
        else:
            entry["debugMessage"] = failure.debug
    return entry


def _authenticate(db: Db, state: SandboxState) -> dict[str, Any]:
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    row = db.one(
        "SELECT t.expires, c.userid FROM totara_oauth_token t "
        "JOIN totara_oauth_client c ON c.id = t.clientid WHERE t.token = ? AND c.enabled = 1",
        (token,)) if token else None
    if row is None or row["expires"] <= state.clock.now():
        raise GraphQLFailure(TOKEN_REJECTED, "authentication")
    user = db.one("SELECT * FROM user WHERE id = ?", (row["userid"],))
    if user is None or user["suspended"]:
        raise GraphQLFailure(TOKEN_REJECTED, "authentication")
    return user


def _run(db: Db, state: SandboxState, site: TotaraSite, user: dict[str, Any],
         payload: dict[str, Any], head: re.Match[str] | None) -> dict[str, Any]:
    if head is None:
        raise GraphQLFailure("Syntax Error: the sandbox reads one operation with one field",
                             "graphql")
    kind, field, has_args = head.group(1), head.group(2), bool(head.group(3))
    on_type = "Query" if kind == "query" else "Mutation"
    spec = resolvers.RESOLVERS.get(field)
    if field not in site.operations or spec is None or spec.kind != kind:
        raise GraphQLFailure(f'Cannot query field "{field}" on type "{on_type}".', "graphql")
    if spec.required and not has_args:
        raise GraphQLFailure(f'Field "{field}" argument "{spec.argument}" of type '
                             f'"{field}_{spec.argument}!" is required but not provided.',
                             "graphql")
    query = payload["query"]
    if re.search(r"\{\s*__typename\s*\}\s*\}\s*$", query) and not has_args:
        return {field: {"__typename": f"{field}_result"}}
    variables = payload.get("variables") or {}
    if not isinstance(variables, dict):
        raise GraphQLFailure("Variables must be an object", "graphql")
    context = resolvers.Context(db, state, user, _arguments(query, field, variables))
    _check_complexity(query, kind, context.page_limit)
    try:
        return {field: spec.handler(context)}
    except resolvers.NotFoundError as exc:
        raise GraphQLFailure("Invalid parameter value detected", "internal",
                             debug=str(exc)) from exc


def _arguments(query: str, field: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The field's arguments by name, each taken from the variable the text binds it to
    (``field(input: $x)``); the sandbox reads no literal arguments."""
    body = query[query.find("{"):]  # past the operation's own variable definitions
    match = re.search(rf"\b{field}\s*\(([^)]*)\)", body)
    if match is None:
        return {}
    bound = re.findall(r"(\w+)\s*:\s*\$(\w+)", match.group(1))
    return {argument: variables.get(variable) for argument, variable in bound}


def _check_complexity(query: str, kind: str, records: int) -> None:
    """Refuse, before running it, a query costing more than the per-query limit: a base of
    5 (10 for a mutation) plus 1 per field per record, records counted by the page limit."""
    base = 5 if kind == "query" else 10
    match = _ITEMS.search(query)
    if match is None:
        return
    fields = len(re.findall(r"\b[a-z_][a-z0-9_]*\b", match.group(1)))
    cost = base + fields * records
    if cost > COMPLEXITY_LIMIT:
        raise GraphQLFailure(f"Query complexity of {cost} exceeds the maximum allowed "
                             f"complexity of {COMPLEXITY_LIMIT}", "graphql")
