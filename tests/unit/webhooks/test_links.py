"""Learner links: what the signer makes is exactly what itsdangerous makes, and checks out."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from webhooks.clock import ManualClock
from webhooks.links import LinkError, LinkSigner

IDS = [(1, 1), (17, 40213), (10**6, 7), (1111111111111111111, 1111111111111111111),
       (2**62, 999999999999)]


def _signer(clock: ManualClock) -> LinkSigner:
    return LinkSigner(SecretStr("a link key"), clock, timedelta(days=30), "https://sidecar.test/")


@pytest.mark.parametrize(("task_id", "learner_id"), IDS)
def test_a_link_token_is_the_serializers_token_and_names_its_task_and_learner(
        task_id: int, learner_id: int) -> None:
    clock = ManualClock(datetime(2026, 11, 4, 12, 0, tzinfo=UTC))
    signer = _signer(clock)
    token = signer.token(task_id, learner_id)
    assert token == signer._serializer.dumps({"t": task_id, "u": learner_id})
    claims = signer.check(token)
    assert (claims.task_id, claims.learner_id) == (task_id, learner_id)
    assert signer.url(task_id, learner_id) == f"https://sidecar.test/practice/{token}"


def test_a_link_expires_after_its_max_age_and_a_changed_one_is_refused() -> None:
    clock = ManualClock(datetime(2026, 11, 4, 12, 0, tzinfo=UTC))
    signer = _signer(clock)
    token = signer.token(5, 6)
    clock.advance(timedelta(days=30, seconds=1))
    with pytest.raises(LinkError) as expired:
        signer.check(token)
    assert expired.value.expired
    with pytest.raises(LinkError) as forged:
        signer.check(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    assert not forged.value.expired
