"""The REST endpoints: ``/webservice/rest/server.php`` and ``/login/token.php``.

The raw form body is parsed here (not by Flask) so that PHP's ``max_input_vars`` truncation can be
reproduced: only the first N variables survive, silently. Then Moodle's order of checks follows:
token, function name, function known, function in the token's service, parameters, capability.
"""

from __future__ import annotations

import logging
import secrets
import socket
import struct
import time
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Response, current_app, request

from connector.sandbox.encoding import error_payload, php_json, xml_error, xml_response
from connector.sandbox.errors import (
    ACCESS_DEBUGINFO,
    AccessError,
    CapabilityError,
    InvalidParameterError,
    MissingRecordError,
    MoodleError,
    invalid_token,
)
from connector.sandbox.faults import Decision, FaultInjector
from connector.sandbox.form import form_pairs, parse_php_form
from connector.sandbox.functions import FUNCTIONS
from connector.sandbox.params import validate
from connector.sandbox.passwords import check_password
from connector.sandbox.registry import Call
from connector.sandbox.state import Db, SandboxState

log = logging.getLogger(__name__)
RESERVED = ("wstoken", "wsfunction", "moodlewsrestformat")
TOKEN_EXPIRED = "Invalid token - token expired - check validuntil time for the token"  # noqa: S105

blueprint = Blueprint("moodle_ws", __name__)


def sandbox_state() -> SandboxState:
    state: SandboxState = current_app.extensions["sandbox"]
    return state


def php_input(limit: int) -> dict[str, Any]:
    """PHP's request variables: ``$_GET`` overlaid by ``$_POST`` (as ``optional_param`` reads
    them), each list cut after ``limit`` variables without any error, as ``max_input_vars`` does.
    """
    posted = form_pairs(request.get_data(cache=True))[:limit]
    query = form_pairs(request.query_string)[:limit]
    return parse_php_form(query + posted)


def _inject(decision: Decision) -> Response | None:
    """Apply latency and the drawn fault; return a response that replaces Moodle's, if any."""
    if decision.delay:
        time.sleep(decision.delay)
    if decision.outcome == "reset":
        raw = request.environ.get("werkzeug.socket")
        if raw is None:
            raise ConnectionResetError("sandbox fault: connection reset")
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.shutdown(socket.SHUT_RDWR)
        return Response(b"", status=500)
    if decision.outcome in ("error", "ratelimit"):
        phrase = HTTPStatus(decision.status).phrase
        page = (f"<html><head><title>{decision.status} {phrase}</title></head><body>"
                f"<center><h1>{decision.status} {phrase}</h1></center></body></html>\n")
        response = Response(page, status=decision.status, content_type="text/html")
        if decision.outcome == "ratelimit":
            retry_after = current_app.extensions["sandbox.faults"].config.retry_after
            response.headers["Retry-After"] = str(retry_after)
        return response
    return None


def authenticate(db: Db, state: SandboxState, token: object) -> dict[str, Any]:
    """The token's row joined with its user; expired tokens are deleted as Moodle does.

    Raises:
        MoodleError: ``invalidtoken`` for unknown tokens, ``accessexception`` once on expiry.
    """
    row = db.one(
        "SELECT t.id AS tokenid, t.validuntil, t.callsleft, t.externalserviceid, u.* "
        "FROM external_tokens t JOIN user u ON u.id = t.userid WHERE t.token = ?",
        (str(token),),
    ) if isinstance(token, str) and token else None
    if row is None:
        raise invalid_token()
    now = state.clock.now()
    expired = (row["validuntil"] and row["validuntil"] < now) or row["callsleft"] == 0
    if expired:
        db.execute("DELETE FROM external_tokens WHERE id = ?", (row["tokenid"],))
        db.conn.commit()  # Moodle deletes the expired token before throwing; it stays deleted.
        raise AccessError(TOKEN_EXPIRED)
    if row["callsleft"] is not None:
        db.update("external_tokens", row["tokenid"], callsleft=row["callsleft"] - 1)
    db.update("external_tokens", row["tokenid"], lastaccess=now)
    return row


def run_function(state: SandboxState, db: Db, form: dict[str, Any]) -> object:
    """Authenticate, find, authorise, validate and run one web-service call."""
    user = authenticate(db, state, form.get("wstoken"))
    name = form.get("wsfunction")
    if not name or not isinstance(name, str):
        raise InvalidParameterError("Missing function name")
    function = (FUNCTIONS if state.functions is None else state.functions).get(name)
    if function is None:
        raise MissingRecordError("external_functions", "name", name)
    allowed = db.scalar(
        "SELECT 1 FROM external_services_functions "
        "WHERE externalserviceid = ? AND functionname = ?",
        (user["externalserviceid"], name),
    )
    if not allowed:
        raise AccessError(ACCESS_DEBUGINFO.format(name=name))
    params = validate(function.params, {k: v for k, v in form.items() if k not in RESERVED})
    if function.capability and not user["siteadmin"]:
        raise CapabilityError(function.capability)
    return function.handler(Call(state, db, user, name), params)


@blueprint.route("/webservice/rest/server.php", methods=["GET", "POST"])
def rest_server() -> Response:
    """Moodle's REST server: every answer is HTTP 200, errors included."""
    state = sandbox_state()
    form = php_input(state.settings.max_input_vars)
    fmt = "xml" if form.get("moodlewsrestformat") == "xml" else "json"
    wsfunction = form.get("wsfunction") if isinstance(form.get("wsfunction"), str) else None
    faults: FaultInjector = current_app.extensions["sandbox.faults"]
    replaced = _inject(faults.decide(wsfunction))
    if replaced is not None:
        return replaced
    started = time.monotonic()
    try:
        with state.transaction() as db:
            result = run_function(state, db, form)
    except MoodleError as error:
        log.info("wsfunction=%s error=%s", wsfunction, error.errorcode)
        debug = state.settings.debugdeveloper
        if fmt == "xml":
            return Response(xml_error(error, debug=debug),
                            content_type="application/xml; charset=utf-8")
        return Response(php_json(error_payload(error, debug=debug)),
                        content_type="application/json")
    log.info("wsfunction=%s ok in %.1f ms", wsfunction, (time.monotonic() - started) * 1000)
    if fmt == "xml":
        return Response(xml_response(result), content_type="application/xml; charset=utf-8")
    return Response(php_json(result), content_type="application/json")


def _token_error(message: str, errorcode: str) -> Response:
    body = {"error": message, "errorcode": errorcode, "stacktrace": None, "debuginfo": None,
            "reproductionlink": None}
    return Response(php_json(body), content_type="application/json; charset=utf-8")


@blueprint.route("/login/token.php", methods=["GET", "POST"])
def login_token() -> Response:
    """Moodle's ``login/token.php``: an existing token is returned, else one is made if allowed."""
    state = sandbox_state()
    form = php_input(state.settings.max_input_vars)
    faults: FaultInjector = current_app.extensions["sandbox.faults"]
    replaced = _inject(faults.decide(None))
    if replaced is not None:
        return replaced
    for name in ("username", "password", "service"):
        if not isinstance(form.get(name), str):
            return _token_error(f"A required parameter ({name}) was missing", "missingparam")
    with state.transaction() as db:
        user = db.one("SELECT * FROM user WHERE username = ?", (form["username"],))
        if user is None or not check_password(form["password"], user["password"]):
            return _token_error("Invalid login, please try again", "invalidlogin")
        service = db.one("SELECT * FROM external_services WHERE shortname = ? AND enabled = 1",
                         (form["service"],))
        if service is None:
            return _token_error(
                "Web service is not available. (It doesn't exist or might be disabled.)",
                "servicenotavailable",
            )
        existing = db.scalar(
            "SELECT token FROM external_tokens WHERE userid = ? AND externalserviceid = ? "
            "AND (validuntil = 0 OR validuntil >= ?) ORDER BY id LIMIT 1",
            (user["id"], service["id"], state.clock.now()),
        )
        if existing is None and not user["siteadmin"]:
            return _token_error(
                "No permission to create web service token for the service "
                f"{service['shortname']}.",
                "cannotcreatetoken",
            )
        if existing is None:
            existing = secrets.token_hex(16)
            db.insert("external_tokens", token=existing, userid=user["id"],
                      externalserviceid=service["id"], timecreated=state.clock.now())
    return Response(php_json({"token": existing, "privatetoken": None}),
                    content_type="application/json; charset=utf-8")
