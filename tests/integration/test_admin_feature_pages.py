"""The admin pages that read the LMS: the goals report, against the sandbox."""

import re

import pytest

from config import Settings
from sidecar.app import create_app
from sync.goals import GoalOptions
from sync.goals.moodle import moodle_goal_sync
from sync.job import FrameworkSync
from tests.conftest import REPO

pytestmark = pytest.mark.integration

EXPORT = REPO / "examples/goals/northwind-goals.csv"
PASSWORD = "a long admin password"


def signed_in_client(app):
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/admin/signin").text).group(1)
    assert client.post("/admin/signin", data={"password": PASSWORD,
                                              "csrf_token": token}).status_code == 302
    return client


def test_the_goals_page_shows_each_goal_with_its_competencies_and_offers_the_csv(
        sandbox, client, engine):
    assert FrameworkSync(client, engine, sandbox.url,
                         (REPO / "examples/frameworks",)).apply().result.ok
    assert moodle_goal_sync(client, engine, sandbox.url, (EXPORT,),
                            options=GoalOptions(manager_role=9)).apply().result.ok
    settings = Settings(lms={"url": sandbox.url, "token": sandbox.admin_token},
                        goals={"files": [str(EXPORT)], "manager_role": 9},
                        admin={"password": PASSWORD, "session_key": "k" * 40,
                               "secure_cookies": False})
    browser = signed_in_client(create_app(settings, engine))
    page = browser.get("/admin/goals")
    assert page.status_code == 200
    assert "Run the weekly team meeting" in page.text and "mia.hall@northwind.example" in page.text
    assert "not rated" in page.text
    download = browser.get("/admin/goals.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.text.splitlines()[0].startswith("goal_id,employee,title")
    assert sandbox.admin_token not in page.text + download.text
