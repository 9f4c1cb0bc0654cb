"""The admin pages in a real browser, at phone size: sign-in, dashboard, plan."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.browser


def test_sign_in_refuses_a_wrong_password_then_lets_the_admin_in(page, server):
    base = server()
    page.goto(f"{base}/admin/runs")
    expect(page).to_have_url(f"{base}/admin/signin?next=/admin/runs")
    page.get_by_label("Admin password").fill("not it")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not right")
    page.get_by_label("Admin password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/admin/runs")
    expect(page.get_by_role("heading", name="Sync runs")).to_be_visible()


def test_triggering_a_plan_shows_the_tree_of_changes(page, server):
    base = server()
    sign_in(page, base)
    page.get_by_role("button", name="Make a plan").click()
    expect(page.get_by_role("heading", name="Plan", exact=True)).to_be_visible()
    expect(page.locator("p.summary")).to_contain_text("16 to create")
    expect(page.locator("pre.plan")).to_contain_text("LF-FEEDBACK-GIVE")
    page.get_by_role("link", name="Sync runs").click()
    expect(page.get_by_role("cell", name="frameworks (plan)")).to_be_visible()


def test_signing_out_returns_to_the_sign_in_page(page, server):
    base = server()
    sign_in(page, base)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{base}/admin/")
    expect(page).to_have_url(f"{base}/admin/signin?next=/admin/")
