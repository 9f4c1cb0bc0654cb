"""Reviewing a suggestion and reading the coverage picture, in a real browser."""

import pytest
from playwright.sync_api import expect

import store
from config import Settings
from sidecar.wiring import build_client
from skills_map.review import SuggestOptions, suggest
from sync.job import FrameworkSync
from tests.browser.conftest import sign_in
from tests.conftest import REPO

pytestmark = pytest.mark.browser


@pytest.fixture
def with_suggestions(sandbox, tmp_path):
    """The example frameworks in Moodle and pending suggestions in the store."""
    engine = store.create_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.migrate(engine)
    client = build_client(Settings(lms={"url": sandbox.url, "token": sandbox.admin_token}).lms)
    FrameworkSync(client, engine, sandbox.url, (REPO / "examples/frameworks",)).apply()
    result = suggest(client, engine, sandbox.url, tmp_path / "mapping.yaml", SuggestOptions())
    assert result.proposed, "the example catalogue gives suggestions"
    engine.dispose()
    return tmp_path / "mapping.yaml"


def test_accepting_a_suggestion_writes_it_to_the_mapping_file(page, server, with_suggestions):
    base = server(skills_map={"mapping_file": str(with_suggestions)})
    sign_in(page, base)
    page.get_by_role("link", name="Suggestions").click()
    first = page.locator("article.suggestion").first
    title = first.get_by_role("heading").inner_text()
    expect(first).to_contain_text("Evidence:")
    first.get_by_label("Rule outcome").select_option("complete")
    first.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("status")).to_contain_text("Accepted")
    expect(page.get_by_role("heading", name=title, exact=True)).to_have_count(0)
    written = with_suggestions.read_text()
    course = title.split(" → ")[0]
    assert course in written and "complete" in written
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("cell", name="suggestion.accepted")).to_be_visible()


def test_the_coverage_picture_shows_courses_against_competencies(page, server,
                                                                  with_suggestions):
    base = server(skills_map={"mapping_file": str(with_suggestions)})
    sign_in(page, base)
    page.get_by_role("link", name="Coverage").click()
    expect(page.locator("figure.coverage svg")).to_be_visible()
    expect(page.get_by_role("heading", name="Competencies no course builds")).to_be_visible()
    box = page.locator("figure.coverage svg").bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100
