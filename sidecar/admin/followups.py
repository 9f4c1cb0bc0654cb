"""Admin pages of the follow-up queue: sequences, their tasks, pause, resume and cancel."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

import store
from sidecar.admin.panels import register_link
from sidecar.admin.views import blueprint
from sidecar.app import services
from store.models import FollowupSequence, SequenceState
from webhooks.queue import list_sequences, sequence_detail
from webhooks.schedule import set_paused, stop_sequence

ACTIONS: dict[str, tuple[str, Callable[[Session, FollowupSequence], bool]]] = {
    "pause": ("paused", lambda s, q: set_paused(s, q, True)),
    "resume": ("resumed", lambda s, q: set_paused(s, q, False)),
    "cancel": ("cancelled", lambda s, q: stop_sequence(s, q, "cancelled by an admin",
                                                      SequenceState.CANCELLED)),
}


@blueprint.get("/followups")
def followups() -> ResponseReturnValue:
    state = request.args.get("state", "")
    states = [state] if state in {s.value for s in SequenceState} else []
    with store.session_scope(store.session_factory(services().engine)) as session:
        rows = list_sequences(session, states=states, limit=200)
    return render_template("admin/followups.html", rows=rows, state=state,
                           states=[s.value for s in SequenceState])


@blueprint.get("/followups/<int:sequence_id>")
def followup(sequence_id: int) -> ResponseReturnValue:
    with store.session_scope(store.session_factory(services().engine)) as session:
        detail = sequence_detail(session, sequence_id)
    if detail is None:
        abort(404)
    return render_template("admin/followup.html", s=detail)


@blueprint.post("/followups/<int:sequence_id>/<action>")
def change_followup(sequence_id: int, action: str) -> ResponseReturnValue:
    if action not in ACTIONS:
        abort(404)
    verb, change = ACTIONS[action]
    with store.session_scope(store.session_factory(services().engine)) as session:
        sequence = session.get(FollowupSequence, sequence_id)
        if sequence is None:
            abort(404)
        if change(session, sequence):
            flash(f"Sequence {sequence_id} {verb}.", "info")
        else:
            flash(f"Sequence {sequence_id} is {sequence.state}; it cannot be {verb}.", "error")
    return redirect(url_for("admin.followup", sequence_id=sequence_id))


register_link("Follow-ups", "admin.followups")
