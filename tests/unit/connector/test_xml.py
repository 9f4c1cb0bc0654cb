"""The XML format gives the same Python values as JSON, and is parsed safely."""

import pytest

from connector import errors as e
from connector.moodle import models as m
from connector.moodle.transport import moodle_error
from connector.moodle.xml import MAX_DEPTH, parse_xml
from tests.conftest import exchange


def test_site_info_xml_equals_json():
    from_json = m.SiteInfo.model_validate(exchange("01").json)
    from_xml = m.SiteInfo.model_validate(parse_xml(exchange("02").body.encode()))
    assert from_xml == from_json
    assert "core_competency_create_competency" in from_xml.function_names
    assert from_xml.feature_enabled("enablecompetencies") is True


def test_competency_list_xml_has_nulls_and_ints_like_json():
    values = parse_xml(exchange("163_core_competency_list_competencies_xml").body.encode())
    competencies = [m.Competency.model_validate(v) for v in values]
    first = competencies[0]
    assert first.ruletype is None and first.scaleid is None
    assert first.parentid == 334 and first.competencyframeworkid == 6
    assert isinstance(first.sortorder, int)


def test_created_competency_xml_unescapes_once_like_json():
    value = parse_xml(exchange("164_core_competency_create_competency_xml").body.encode())
    created = m.Competency.model_validate(value)
    assert created.shortname == "Präsentieren &amp; Moderieren"  # Moodle stores it escaped
    assert created.description == "<p>Workshops leiten</p>"


@pytest.mark.parametrize(("xml_file", "json_file"), [("68", "67"), ("71", "70"), ("165", None)])
def test_xml_errors_map_like_json_errors(xml_file, json_file):
    body = parse_xml(exchange(xml_file).body.encode())
    error = moodle_error(body, wsfunction="f", params=[])
    if json_file:
        expected = moodle_error(exchange(json_file).json, wsfunction="f", params=[])
        assert type(error) is type(expected)
        assert error.errorcode == expected.errorcode
        assert error.message == expected.message
    else:
        assert isinstance(error, e.RecordNotFoundError) and error.table == "competency"


def test_debug_xml_error_keeps_debuginfo():
    body = parse_xml(exchange("88").body.encode())
    error = moodle_error(body, wsfunction="f", params=[])
    assert isinstance(error, e.InvalidParameterError)
    assert "Missing required key" in (error.debuginfo or "")


def test_entity_expansion_is_refused():
    bomb = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">
    <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><RESPONSE><VALUE>&b;</VALUE></RESPONSE>"""
    with pytest.raises(e.LmsResponseError, match="DOCTYPE"):
        parse_xml(bomb)


def test_external_entities_never_reach_the_file_system():
    xxe = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
    <RESPONSE><VALUE>&x;</VALUE></RESPONSE>"""
    with pytest.raises(e.LmsResponseError):
        parse_xml(xxe)


def test_depth_is_bounded():
    deep = b"<RESPONSE>" + b"<MULTIPLE>" * (MAX_DEPTH + 2) + b"</MULTIPLE>" * (MAX_DEPTH + 2)
    with pytest.raises(e.LmsResponseError, match="deeper"):
        parse_xml(deep + b"</RESPONSE>")


def test_malformed_and_foreign_xml_are_reported():
    with pytest.raises(e.LmsResponseError, match="not well-formed"):
        parse_xml(b"<RESPONSE><SINGLE>")
    with pytest.raises(e.LmsResponseError, match="expected <RESPONSE>"):
        parse_xml(b"<html><body>Login</body></html>")


def test_empty_response_is_none():
    assert parse_xml(b'<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n</RESPONSE>') is None
