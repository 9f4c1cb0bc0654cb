"""Answer models: an optional field Moodle sent as null comes out as its default."""

import pytest
from pydantic import ValidationError

from connector.moodle import models as m

FULL = {"msgid": 5, "clientmsgid": "fu-1-0", "text": "<p>x</p>", "timecreated": 7,
        "conversationid": 3, "useridfrom": 2, "errormessage": "", "candelete": True}


def test_an_answer_without_nulls_validates_every_field_it_names() -> None:
    sent = m.SentMessage.model_validate(FULL)
    assert sent.model_dump() == {k: v for k, v in FULL.items() if k != "candelete"}


def test_a_null_optional_field_is_its_default_and_a_null_required_one_is_refused() -> None:
    sent = m.SentMessage.model_validate({**FULL, "text": None, "timecreated": None,
                                         "clientmsgid": None, "candelete": None})
    assert (sent.text, sent.timecreated, sent.clientmsgid) == ("", 0, None)
    with pytest.raises(ValidationError):
        m.SentMessage.model_validate({**FULL, "msgid": None})
