"""Every error message lms-sidecar can print is explained in docs/troubleshooting.md."""

from __future__ import annotations

from connector.moodle.transport import login_error, moodle_error
from tests.unit.docs.messages import REPO, SOURCES, messages, normalise, phrase_of

PAGE = normalise((REPO / "docs" / "troubleshooting.md").read_text(encoding="utf-8"))


def test_every_message_in_the_code_is_on_the_page():
    found = messages()
    assert len(found) > 80
    assert {m.source for m in found} == set(SOURCES)
    missing = [f"{m.source}:{m.line}: {m.phrase!r}" for m in found
               if normalise(m.phrase) not in PAGE]
    assert missing == [], "explain these in docs/troubleshooting.md:\n" + "\n".join(missing)


def test_each_moodle_error_code_is_explained():
    bodies = [
        {"errorcode": "invalidtoken", "message": "Invalid token - token not found"},
        {"errorcode": "accessexception", "message": "Access control exception"},
        {"errorcode": "accessexception", "message": "x",
         "debuginfo": "Invalid token - token expired"},
        {"errorcode": "invalidrecord",
         "message": "Can't find data record in database table external_functions."},
        {"errorcode": "invalidrecord",
         "message": "Can't find data record in database table course."},
        {"errorcode": "invalidpersistenterror",
         "message": "Error: This ID number is already in use"},  # contract,
    ]
    for body in bodies:
        error = moodle_error({"exception": "x", **body}, wsfunction="core_x", params=[])
        text = error.message.replace("core_x", "\0").replace("course", "\0")
        assert normalise(phrase_of(text)) in PAGE, error.message
    for code in ("nopermissions", "requireloginerror", "nocapability", "accessdenied",
                 "usernotfullysetup", "sitemaintenance", "invalidparameter"):
        assert f"[{code}]" in PAGE


def test_each_login_error_is_explained():
    for code in ("invalidlogin", "servicenotavailable", "cannotcreatetoken",
                 "enablewsdescription", None):
        error = login_error({"errorcode": code} if code else {}, "lms_sidecar")
        text = error.message.replace("'lms_sidecar'", "\0")
        assert normalise(phrase_of(text)) in PAGE, error.message
