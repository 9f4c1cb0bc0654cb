"""Reconciliation: find completions no webhook announced, with the fewest calls Moodle allows.

Moodle does not fire ``course_completed`` in every case, so this runs periodically for the
courses that matter (those with follow-up plans or competency links; the caller passes them).

* With a Report builder report (``webhooks.report.id``): one ``core_reportbuilder_retrieve_report``
  call per page, one ``core_course_get_courses_by_field`` call for the short names and one
  (batched) ``core_user_get_users_by_field`` call for the usernames that completed.
* Without one: per course one ``core_enrol_get_enrolled_users`` call and, per learner not yet
  known to have completed it, one ``core_completion_get_course_completion_status`` call.

A watermark per path remembers when the last run started; each run looks back to it less
``reconcile_overlap_hours`` (Moodle dates a completion by its last criterion, which may be
before the previous run saw it). Found completions go through the same inbox dedupe as webhooks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import store
from config.webhooks import WebhookSettings
from connector.errors import MoodleError
from connector.moodle.client import MoodleClient
from store.models import InboxStatus
from webhooks.errors import ReconcileError
from webhooks.inbox import (
    COURSE_COMPLETED,
    IncomingEvent,
    get_watermark,
    learners_with_completion,
    record_event,
    set_watermark,
)

log = logging.getLogger(__name__)

SOURCE = "poll"
Sessions = sessionmaker[Session]
OLD_DETAIL = "completed before the reconciliation window"
MONTHS = {name: number for number, name in enumerate(
    ("January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December"), start=1)}
# Moodle's default strftimedatetime in English: "Sunday, 22 November 2026, 1:34 AM".
DISPLAY_TIME = re.compile(
    r"^\s*(?:[A-Za-z]+,\s*)?(\d{1,2})\s+([A-Za-z]+)\s+(\d{4}),\s*(\d{1,2}):(\d{2})\s*([AaPp][Mm])?\s*$")
SKIP_LEARNER = frozenset({"nottracked", "usernotenroled", "notenroled"})


@dataclass
class Reconciled:
    """What one run found: completions new to the inbox, already known, too old; API calls."""

    path: str
    new: list[tuple[int, int, datetime]] = field(default_factory=list)
    duplicates: int = 0
    too_old: int = 0
    api_calls: int = 0
    notes: list[str] = field(default_factory=list)


def parse_display_time(text: str, zone: ZoneInfo) -> datetime:
    """A Report builder time cell (Moodle's default English format, in ``zone``) as UTC.

    Raises:
        ReconcileError: the cell is in another format (e.g. another language).
    """
    match = DISPLAY_TIME.match(text)
    month = MONTHS.get(match.group(2).capitalize()) if match else None
    if match is None or month is None:
        raise ReconcileError(
            f"report time {text[:60]!r} is not in Moodle's default English format "
            "(\"Sunday, 22 November 2026, 1:34 AM\"); set the web-service user's language to "
            "English")
    day, year, hour, minute = (int(match.group(1)), int(match.group(3)), int(match.group(4)),
                               int(match.group(5)))
    meridiem = (match.group(6) or "").upper()
    if meridiem:
        hour = hour % 12 + (12 if meridiem == "PM" else 0)
    return datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


def reconcile(client: MoodleClient, engine: Engine, settings: WebhookSettings,
              course_ids: Sequence[int], *, now: datetime | None = None) -> Reconciled:
    """One reconciliation run over ``course_ids``; returns what it found.

    Raises:
        LmsError: the LMS failed (the watermark is not moved, the next run looks again).
        ReconcileError: the report's columns or times cannot be read.
    """
    now = now or datetime.now(UTC)
    sessions = store.session_factory(engine)
    path = "report" if settings.report.id is not None else "status"
    mark = (f"reconcile:report:{settings.report.id}" if path == "report"
            else "reconcile:status")
    with store.session_scope(sessions) as session:
        last = get_watermark(session, mark)
    since = (last - timedelta(hours=settings.reconcile_overlap_hours) if last is not None
             else now - timedelta(days=settings.reconcile_lookback_days))
    calls_before = client.stats.calls
    result = Reconciled(path)
    if course_ids:
        if path == "report":
            _from_report(client, sessions, settings, set(course_ids), since, now, result)
        else:
            _from_status(client, sessions, settings, course_ids, since, now, result)
    with store.session_scope(sessions) as session:
        set_watermark(session, mark, now)
    result.api_calls = client.stats.calls - calls_before
    log.info("reconciliation (%s): %d new, %d known, %d too old, %d API calls", path,
             len(result.new), result.duplicates, result.too_old, result.api_calls)
    return result


def _record(sessions: Sessions, settings: WebhookSettings, courseid: int,
            userid: int, at: datetime, since: datetime, now: datetime,
            result: Reconciled) -> None:
    old = at < since
    event = IncomingEvent(source=SOURCE, event_type=COURSE_COMPLETED, courseid=courseid,
                          userid=userid, completed_at=at,
                          payload={"courseid": courseid, "userid": userid,
                                   "timecompleted": int(at.timestamp()), "via": result.path})
    with store.session_scope(sessions) as session:
        recorded = record_event(
            session, event, now=now, window=timedelta(hours=settings.dedupe_window_hours),
            status=InboxStatus.IGNORED if old else None, detail=OLD_DETAIL if old else None)
    if not recorded.created:
        result.duplicates += 1
    elif old:
        result.too_old += 1
    else:
        result.new.append((courseid, userid, at))


def _from_report(client: MoodleClient, sessions: Sessions,
                 settings: WebhookSettings, course_ids: set[int], since: datetime,
                 now: datetime, result: Reconciled) -> None:
    report = settings.report
    assert report.id is not None
    zone = ZoneInfo(report.timezone)
    rows: list[tuple[str, str, datetime]] = []
    page, seen = 0, 0
    while True:
        answer = client.report_page(report.id, page, report.perpage)
        columns = _columns(answer.data.headers, report.course_column, report.user_column,
                           report.time_column)
        for row in answer.data.rows:
            cells = [str(cell) if cell is not None else "" for cell in row.columns]
            when = cells[columns[2]].strip() if len(cells) > columns[2] else ""
            if when:
                at = parse_display_time(when, zone)
                if at >= since:
                    rows.append((cells[columns[0]], cells[columns[1]], at))
        seen += len(answer.data.rows)
        page += 1
        if not answer.data.rows or seen >= answer.data.totalrowcount:
            break
    if not rows:
        return
    courses = {c.shortname: c.id for c in client.courses_by_field() if c.id in course_ids}
    wanted = sorted({user for course, user, _ in rows if course in courses})
    users = {u.username: u.id for u in client.users_by_field("username", wanted)} if wanted \
        else {}
    for course, username, at in rows:
        if course in courses and username in users:
            _record(sessions, settings, courses[course], users[username], at, since, now, result)


def _columns(headers: Sequence[str], *wanted: str) -> tuple[int, int, int]:
    found = []
    for name in wanted:
        if name not in headers:
            raise ReconcileError(
                f"the completion report has no column {name!r} (its columns: "
                f"{', '.join(headers) or 'none'}); set webhooks.report.*_column")
        found.append(list(headers).index(name))
    return found[0], found[1], found[2]


def _from_status(client: MoodleClient, sessions: Sessions,
                 settings: WebhookSettings, course_ids: Sequence[int], since: datetime,
                 now: datetime, result: Reconciled) -> None:
    for courseid in course_ids:
        with store.session_scope(sessions) as session:
            known = learners_with_completion(session, courseid)
        for learner in client.enrolled_users(courseid):
            if learner.id in known:
                continue
            try:
                answer = client.course_completion(courseid, learner.id)
            except MoodleError as exc:
                if exc.errorcode == "nocriteriaset":
                    result.notes.append(f"course {courseid} has no completion criteria")
                    break
                if exc.errorcode in SKIP_LEARNER:
                    continue
                raise
            status = answer.completionstatus
            times = [c.timecompleted for c in status.completions if c.timecompleted]
            if status.completed and times:
                at = datetime.fromtimestamp(max(times), UTC)
                _record(sessions, settings, courseid, learner.id, at, since, now, result)
