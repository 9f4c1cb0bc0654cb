"""Practice tasks as messages from the practice coach (Moodle, and Totara's legacy services).

One ``core_message_send_instant_messages`` call per batch, from the coach's own token. Each
message carries the task's reference line, because ``core_message_get_messages`` does not
return ``clientmsgid``: a doubtful send is found among the coach's sent messages to that
learner (one call per learner). Totara's legacy web services speak the same protocol, so
the same channel serves Totara sites without goal tasks (the client is the legacy one).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from connector.errors import LmsConnectionError, LmsError
from connector.moodle import endpoints as ep
from connector.moodle import models as m
from connector.moodle.client import MoodleClient
from webhooks.channel import Deliveries, Lookup, Progress, SentPractice, grouped, reference
from webhooks.claim import Claimed
from webhooks.clock import Clock

log = logging.getLogger(__name__)


@dataclass
class MessageChannel:
    """Sends each task as a message from the coach (``client`` holds the coach's token,
    ``sender_id`` is the coach's user id); ``link_for(task id, learner id)`` is the answer
    link. With ``calendar_events`` each delivered task also gets a calendar event."""

    client: MoodleClient
    sender_id: int
    link_for: Callable[[int, int], str]
    clock: Clock
    calendar_events: bool = False
    name: str = "messages"
    reports_progress: bool = False

    def message_html(self, task: Claimed) -> str:
        """The message body: the task, the answer link, and the reference a look-up
        searches for."""
        link = html.escape(self.link_for(task.id, task.learner_id), quote=True)
        text = html.escape(task.text).replace("\n", "<br />")
        return (f"<p>{text}</p><p><a href=\"{link}\">Tell us how it went</a> "
                f"(done, hard, not yet, skip) &ndash; one click, no login.</p>"
                f"<p><small>{reference(task)}</small></p>")

    def deliver(self, tasks: Sequence[Claimed]) -> Deliveries:
        """Send the batch in one call; a lost answer makes every task doubtful, an error
        answer holds them all (nothing was sent), a per-message refusal is final."""
        messages = [ep.OutgoingMessage(touserid=t.learner_id, text=self.message_html(t),
                                       textformat=1, clientmsgid=t.clientmsgid) for t in tasks]
        outcome = Deliveries()
        try:
            results = self.client.send_messages(messages)
        except LmsConnectionError as exc:
            log.warning("sending %d follow-ups: %s; looking them up", len(tasks), exc)
            outcome.doubtful = {t.id: str(exc) for t in tasks}
            outcome.errors.append(str(exc))
            return outcome
        except LmsError as exc:
            log.error("the LMS refused %d follow-up messages: %s", len(tasks), exc)
            outcome.held = {t.id: str(exc) for t in tasks}
            outcome.errors.append(str(exc))
            return outcome
        for task, result in zip(tasks, results, strict=True):
            if result.msgid > 0:
                outcome.sent[task.id] = result.msgid
            else:
                outcome.refused[task.id] = result.errormessage
                log.error("the LMS refused follow-up %s to learner %s: %s",
                          task.clientmsgid, task.learner_id, result.errormessage)
        return outcome

    def find_delivered(self, tasks: Sequence[Claimed]) -> Lookup:
        """Search the coach's sent messages, one call per learner, for each task's reference."""
        lookup = Lookup()
        for learner, group in grouped(tasks, lambda task: task.learner_id).items():
            try:
                messages = self.client.messages_sent(self.sender_id, learner)
            except LmsError as exc:
                log.warning("could not look up %d follow-ups to learner %s: %s", len(group),
                            learner, exc)
                lookup.unknown.extend(t.id for t in group)
                continue
            lookup.match(group, messages, _carries)
        return lookup

    def after_delivery(self, tasks: Sequence[Claimed]) -> None:
        """A calendar event per task when configured (in the coach's calendar: Moodle puts
        ``user`` events in the token user's own); a failure is logged, never raised."""
        if not self.calendar_events or not tasks:
            return
        events = [ep.CalendarEventIn(name=f"Practice: {t.course_name}"[:250],
                                     description=html.escape(t.text), eventtype="user",
                                     timestart=int(self.clock.now().timestamp()))
                  for t in tasks]
        try:
            self.client.create_calendar_events(events)
        except LmsError as exc:
            log.warning("calendar events for %d follow-ups not created: %s", len(events), exc)

    def progress(self, tasks: Sequence[SentPractice]) -> Progress:
        """Messages have no progress: the learner answers through the link only."""
        return Progress()

    def mark_done(self, tasks: Sequence[SentPractice]) -> Progress:
        """A message has nothing to tick."""
        return Progress(done=[t.id for t in tasks])


def _carries(message: m.Message, task: Claimed) -> bool:
    """Whether a sent message carries ``task``'s reference (followed by its closing tag)."""
    return f"{reference(task)}<" in message.fullmessagehtml + message.text + message.smallmessage
