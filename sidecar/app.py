"""The WSGI application of ``sidecar serve``: an application factory, blueprints per concern."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from config import Settings
from connector.errors import LmsError
from sidecar.completion_wiring import mount_webhooks
from sidecar.metrics import metrics_blueprint
from sidecar.wiring import build_client, open_store

health = Blueprint("health", __name__)

LMS_CHECK_SECONDS = 60.0  # /readyz asks the LMS at most once a minute


@dataclass
class Services:
    """What the blueprints share, built once per process by :func:`create_app`."""

    settings: Settings
    engine: Engine
    lms_checked_at: float = 0.0
    lms_ok: bool = False
    lms_detail: str = field(default="not checked yet")


def create_app(settings: Settings, engine: Engine | None = None) -> Flask:
    """Build the app for ``settings``; the store is opened (and migrated) unless given."""
    app = Flask("sidecar")
    shared = Services(settings, engine or open_store(settings))
    app.extensions["sidecar"] = shared
    app.register_blueprint(health)
    app.register_blueprint(metrics_blueprint(shared.engine))
    from sidecar.followup_wiring import mount_learner_pages

    mount_learner_pages(app, settings, app.extensions["sidecar"].engine)
    mount_webhooks(app, settings, shared.engine)
    from sidecar.admin import init_admin  # the admin pages use this module's services()

    init_admin(app, settings)
    return app


def services() -> Services:
    found: Services = current_app.extensions["sidecar"]
    return found


@health.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Alive: the process answers."""
    return jsonify(status="ok")


@health.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Ready: the store answers and the LMS answered within the last minute."""
    svc = services()
    try:
        with svc.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        store_ok, store_detail = True, "ok"
    except SQLAlchemyError as exc:
        store_ok, store_detail = False, type(exc).__name__
    if time.monotonic() - svc.lms_checked_at > LMS_CHECK_SECONDS or not svc.lms_ok:
        try:
            build_client(svc.settings.lms).site_info()
            svc.lms_ok, svc.lms_detail = True, "ok"
        except LmsError as exc:
            svc.lms_ok, svc.lms_detail = False, exc.message
        svc.lms_checked_at = time.monotonic()
    ready = store_ok and svc.lms_ok
    body = {"status": "ready" if ready else "not ready",
            "store": store_detail, "lms": svc.lms_detail}
    return jsonify(body), 200 if ready else 503
