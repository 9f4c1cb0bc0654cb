"""The admin pages refuse strangers, forged forms and password guessing, and leak no secret."""

import logging

import pytest

from sidecar.admin.auth import hash_password
from tests.unit.admin.conftest import LMS_TOKEN, PASSWORD, SESSION_KEY, csrf_of


def admin_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin.") and rule.endpoint not in (
                "admin.signin", "admin.static"):
            args = {name: 1 for name in rule.arguments}
            yield rule, app.url_for(rule.endpoint, **args) if args else rule.rule


def test_every_admin_route_refuses_an_unauthenticated_visitor(app):
    client = app.test_client()
    checked = 0
    with app.test_request_context():
        routes = list(admin_routes(app))
    for rule, url in routes:
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method)
            if method == "GET":
                assert response.status_code == 302, url
                assert "/admin/signin" in response.headers["Location"]
            else:
                assert response.status_code in (400, 401), (method, url)
            checked += 1
    assert checked >= 7


def test_a_post_without_the_csrf_token_is_refused_even_when_signed_in(signed_in):
    response = signed_in.post("/admin/plan")
    assert response.status_code == 400 and "Form expired" in response.text
    response = signed_in.post("/admin/plan", data={"csrf_token": "forged"})
    assert response.status_code == 400


def test_sign_in_with_a_wrong_password_is_refused_and_logged_without_the_password(app, caplog):
    caplog.set_level(logging.INFO)
    client = app.test_client()
    token = csrf_of(client.get("/admin/signin").text)
    response = client.post("/admin/signin", data={"password": "guess-1", "csrf_token": token})
    assert response.status_code == 401 and "not right" in response.text
    assert client.get("/admin/").status_code == 302
    assert "guess-1" not in caplog.text and "failed admin sign-in" in caplog.text


def test_sign_in_is_throttled(app):
    client = app.test_client()
    token = csrf_of(client.get("/admin/signin").text)
    codes = [client.post("/admin/signin", data={"password": f"guess-{n}", "csrf_token": token})
             .status_code for n in range(4)]
    assert codes == [401, 401, 401, 429]
    # even the right password waits until the window passes
    assert client.post("/admin/signin", data={"password": PASSWORD,
                                              "csrf_token": token}).status_code == 429


def test_signing_out_ends_the_session(signed_in, form_token):
    signed_in.post("/admin/signout", data={"csrf_token": form_token()})
    assert signed_in.get("/admin/").status_code == 302


def test_secrets_appear_in_no_page(signed_in):
    pages = "".join(signed_in.get(url).text for url in ("/admin/", "/admin/runs",
                                                         "/admin/audit"))
    for secret in (LMS_TOKEN, PASSWORD, SESSION_KEY):
        assert secret not in pages


def test_the_session_cookie_is_http_only_and_same_site(app):
    client = app.test_client()
    token = csrf_of(client.get("/admin/signin").text)
    response = client.post("/admin/signin", data={"password": PASSWORD, "csrf_token": token})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_after_sign_in_only_admin_paths_are_followed(app):
    client = app.test_client()
    token = csrf_of(client.get("/admin/signin").text)
    response = client.post("/admin/signin?next=https://evil.example/x",
                           data={"password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/admin/"


def test_a_stored_hash_signs_in_and_the_password_itself_is_not_needed(tmp_path):
    import store
    from config import Settings
    from sidecar.app import create_app

    engine = store.create_engine(f"sqlite:///{tmp_path / 's.sqlite'}")
    settings = Settings(lms={"url": "https://m.example.org", "token": "t"},
                        admin={"password_hash": hash_password("another long password"),
                               "session_key": SESSION_KEY, "secure_cookies": False})
    client = create_app(settings, engine).test_client()
    token = csrf_of(client.get("/admin/signin").text)
    assert client.post("/admin/signin", data={"password": "another long password",
                                              "csrf_token": token}).status_code == 302


def test_admin_pages_are_off_without_a_password_and_refuse_to_start_without_a_key(tmp_path):
    import store
    from config import Settings
    from sidecar.admin import AdminConfigError
    from sidecar.app import create_app

    engine = store.create_engine(f"sqlite:///{tmp_path / 's.sqlite'}")
    plain = create_app(Settings(lms={"url": "https://m.example.org", "token": "t"}), engine)
    assert plain.test_client().get("/admin/").status_code == 404
    with pytest.raises(AdminConfigError, match="SIDECAR_ADMIN__SESSION_KEY"):
        create_app(Settings(lms={"url": "https://m.example.org", "token": "t"},
                            admin={"password": "p" * 12}), engine)


def test_hash_password_command_refuses_short_passwords():
    from click.testing import CliRunner

    from sidecar.cli import cli

    short = CliRunner().invoke(cli, ["admin", "hash-password", "--password", "short"])
    assert short.exit_code == 2 and "12 characters" in short.output
    good = CliRunner().invoke(cli, ["admin", "hash-password", "--password", "long enough pw"])
    assert good.exit_code == 0 and good.output.startswith("scrypt:")
    assert "long enough pw" not in good.output
