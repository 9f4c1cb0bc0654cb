"""The learner's answer page: one signed link per task, no login, one click per answer.

``GET /practice/<token>`` only shows the task and the buttons (link prefetchers and mail
scanners open links, so a GET never changes anything); each button POSTs the answer. The
signed link is the credential, so the form needs no CSRF token. A bad link gets a plain
400 page, an expired one 410, never a trace.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, render_template_string, request
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

import store
from store.models import FollowupAnswer, FollowupTask
from webhooks.clock import Clock
from webhooks.fsrs_adapter import Answer
from webhooks.links import LinkError, LinkSigner
from webhooks.policy import Policy
from webhooks.schedule import Rules, UnknownTaskError, opt_out, record_answer

log = logging.getLogger(__name__)
EXTENSION = "sidecar.followups"

CHOICES = [
    (Answer.DONE, "Done", "I did it"),
    (Answer.HARD, "Hard", "I did it, but it was hard"),
    (Answer.NOT_YET, "Not yet", "Remind me again"),
    (Answer.SKIP, "Skip", "Skip this one"),
]
THANKS = {
    Answer.DONE: "Well done. The next practice task will come a little later.",
    Answer.HARD: "Thanks for saying so. The next one will come a bit sooner.",
    Answer.NOT_YET: "No problem. We will remind you again soon.",
    Answer.SKIP: "Skipped. The next practice task comes as planned.",
    Answer.STOP: "This practice sequence has ended. Thank you.",
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ title }}</title>
<style>
body{font:1.05rem/1.5 system-ui,sans-serif;margin:0;padding:1rem;background:#f6f7f9;color:#1b1f24}
main{max-width:34rem;margin:0 auto;background:#fff;border-radius:.5rem;padding:1.25rem;
box-shadow:0 1px 3px #0002}
h1{font-size:1.3rem;margin-top:0}
.task{background:#eef3fb;border-left:.3rem solid #2f6fde;padding:.75rem;margin:1rem 0}
form{margin:0}
button{display:block;width:100%;min-height:3rem;margin:.5rem 0;font-size:1.05rem;
border:1px solid #2f6fde;border-radius:.4rem;background:#2f6fde;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#2f6fde}
button.quiet{background:#fff;color:#555;border-color:#bbb;min-height:2.5rem;font-size:.95rem}
button:focus{outline:3px solid #f5a623;outline-offset:2px}
small{color:#555}
button small{color:inherit}
</style></head>
<body><main>
<h1>{{ title }}</h1>
{% if task_text %}<div class="task">{{ task_text }}</div>{% endif %}
<p>{{ message }}</p>
{% if choices %}
<form method="post" aria-label="How did it go?">
{% for value, label, hint in choices %}
<button type="submit" name="answer" value="{{ value }}"
 class="{{ 'secondary' if loop.index > 1 else '' }}" aria-label="{{ label }}: {{ hint }}">
{{ label }} <small>&middot; {{ hint }}</small></button>
{% endfor %}
<button type="submit" name="answer" value="optout" class="quiet">
Stop all practice reminders for me</button>
</form>
{% endif %}
</main></body></html>
"""


@dataclass
class LearnerPages:
    """What the answer page needs; kept on the app under ``app.extensions``."""

    engine: Engine
    signer: LinkSigner
    policy: Policy
    rules: Rules
    clock: Clock


blueprint = Blueprint("practice", __name__)


def init_app(app: Flask, pages: LearnerPages) -> None:
    """Mount the answer page on ``app``."""
    app.extensions[EXTENSION] = pages
    app.register_blueprint(blueprint)


def _pages() -> LearnerPages:
    found: LearnerPages = current_app.extensions[EXTENSION]
    return found


def _page(title: str, message: str, status: int = 200, task_text: str | None = None,
          choices: list[tuple[str, str, str]] | None = None) -> Response:
    body = render_template_string(PAGE, title=title, message=message, task_text=task_text,
                                  choices=choices or [])
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


def _bad_link(error: LinkError) -> Response:
    if error.expired:
        return _page("This link has expired",
                     "Practice links work for a limited time. The next practice message will "
                     "bring a new one.", 410)
    return _page("This link does not work",
                 "The link may have been cut short when it was copied. Open it again from "
                 "the message in the learning platform.", 400)


@blueprint.get("/practice/<token>")
def show(token: str) -> Response:
    """The task and the answer buttons; changes nothing."""
    pages = _pages()
    try:
        claims = pages.signer.check(token)
    except LinkError as error:
        return _bad_link(error)
    try:
        with store.session_scope(store.session_factory(pages.engine)) as session:
            task = session.get(FollowupTask, claims.task_id)
            if task is None or task.learner_id != claims.learner_id:
                return _page("This practice task is gone",
                             "It was removed by an administrator. Nothing to do here.", 410)
            answered = session.scalar(select(FollowupAnswer.answer).where(
                FollowupAnswer.task_id == task.id))
            text = task.text
    except SQLAlchemyError:
        log.exception("answer page: the store is unavailable")
        return _page("Please try again later", "The service is busy right now.", 503)
    if answered is not None:
        label = answered.replace("_", " ")
        return _page("Thanks, we have your answer", f"You answered: {label}.", task_text=text)
    return _page("How did your practice go?", "Choose one. One click is enough.",
                 task_text=text, choices=[(a.value, label, hint) for a, label, hint in CHOICES])


@blueprint.post("/practice/<token>")
def answer(token: str) -> Response:
    """Record the answer (or the opt-out), reschedule, thank the learner."""
    pages = _pages()
    try:
        claims = pages.signer.check(token)
    except LinkError as error:
        return _bad_link(error)
    given = request.form.get("answer", "")
    try:
        with store.session_scope(store.session_factory(pages.engine)) as session:
            task = session.get(FollowupTask, claims.task_id)
            if task is None or task.learner_id != claims.learner_id:
                return _page("This practice task is gone",
                             "It was removed by an administrator. Nothing to do here.", 410)
            if given == "optout":
                opt_out(session, pages.rules.site, claims.learner_id, pages.clock.now())
                return _page("You will get no more practice reminders",
                             "You can still find your courses in the learning platform.")
            try:
                choice = Answer(given)
            except ValueError:
                return _page("Please choose an answer",
                             "Go back and press one of the buttons.", 400)
            outcome = record_answer(session, task.id, choice, pages.policy, pages.rules,
                                    pages.clock.now())
    except UnknownTaskError:
        return _page("This practice task is gone", "Nothing to do here.", 410)
    except SQLAlchemyError:
        log.exception("answer page: the store is unavailable")
        return _page("Please try again later", "The service is busy right now.", 503)
    if outcome.already:
        return _page("Thanks, we have your answer",
                     f"You had already answered: {outcome.answer.value.replace('_', ' ')}.")
    message = THANKS[outcome.answer]
    if outcome.next_due is not None:
        message += f" Next one around {outcome.next_due:%A %d %B}."
    return _page("Thank you", message)
