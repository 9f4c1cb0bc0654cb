"""Turn a fresh sandbox app into a Totara site (called by ``create_app(totara=...)``)."""

from __future__ import annotations

from flask import Flask

from connector.sandbox.seed import SERVICE_SHORTNAME
from connector.sandbox.state import SandboxState
from connector.sandbox.totara import graphql, hrimport, learner
from connector.sandbox.totara.legacy import totara_functions
from connector.sandbox.totara.site import (
    TotaraSite,
    create_api_client,
    install,
    seed_job_assignments,
)


def play_totara(app: Flask, state: SandboxState, site: TotaraSite, *, seed: bool) -> None:
    """Totara's tables, the API client, the legacy function set, the GraphQL blueprint."""
    functions = totara_functions(competency_functions=site.legacy_competency_functions)
    state.functions = functions
    with state.transaction() as db:
        install(db)
        if db.scalar("SELECT 1 FROM totara_oauth_client WHERE client_id = ?",
                     (site.client_id,)):  # a reused database: this run's secret counts
            db.conn.execute("UPDATE totara_oauth_client SET secret = ?, lifetime = ? "
                            "WHERE client_id = ?",
                            (site.client_secret, site.token_lifetime, site.client_id))
        else:
            create_api_client(db, client_id=site.client_id, secret=site.client_secret,
                              lifetime=site.token_lifetime)
        if seed:
            seed_job_assignments(db)
        serviceid = db.scalar("SELECT id FROM external_services WHERE shortname = ?",
                              (SERVICE_SHORTNAME,))
        db.execute("DELETE FROM external_services_functions WHERE externalserviceid = ?",
                   (serviceid,))
        for name in functions:
            db.insert("external_services_functions", externalserviceid=serviceid,
                      functionname=name)
    app.extensions["sandbox.totara"] = site
    app.register_blueprint(graphql.blueprint)
    app.register_blueprint(learner.blueprint)
    app.register_blueprint(hrimport.blueprint)
