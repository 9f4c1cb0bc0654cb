"""Learner links: what the signer makes is exactly what itsdangerous makes, and checks out."""

import random
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous.encoding import base64_encode
from pydantic import SecretStr

from webhooks.clock import ManualClock
from webhooks.links import LinkError, LinkSigner, _base64, _compression_may_help

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


def _random_ids(rng: random.Random) -> tuple[int, int]:
    """Ids of any size, half of them of few distinct digits (runs zlib can shorten)."""
    def one() -> int:
        digits = rng.sample("123456789", rng.choice((1, 2, 3, 9)))
        return int("".join(rng.choice(digits) for _ in range(rng.randint(1, 20))))
    return (one(), one()) if rng.random() < .5 else (rng.randint(1, 10**7), rng.randint(1, 10**6))


def test_tokens_of_random_ids_are_the_serializers_and_check_out() -> None:
    clock = ManualClock(datetime(2026, 11, 4, 12, 0, tzinfo=UTC))
    signer = _signer(clock)
    rng = random.Random(7)
    compressed = plain = 0
    for _ in range(3000):
        task_id, learner_id = _random_ids(rng)
        token = signer.token(task_id, learner_id)
        assert token == signer._serializer.dumps({"t": task_id, "u": learner_id})
        claims = signer.check(token)
        assert (claims.task_id, claims.learner_id) == (task_id, learner_id)
        compressed += token.startswith(".")
        plain += not token.startswith(".")
        clock.advance(timedelta(seconds=rng.choice((0, 0, 1, 3600))))
    assert compressed > 100 and plain > 100  # both kinds of token were made


@pytest.mark.parametrize("payload", [
    b'{"t":1,"u":2}', b'{"t":1234567,"u":765432}', b'{"t":1234567890,"u":987654321}',
    b'{"t":1234,"u":1235}', b'{"t":1,"u":111}'])
def test_short_payloads_with_few_repeated_runs_skip_zlib_which_could_not_shorten_them(
        payload: bytes) -> None:
    assert not _compression_may_help(payload)
    assert len(zlib.compress(payload)) >= len(payload) - 1


@pytest.mark.parametrize("payload", [
    b'{"t":1,"u":11111111111}', b'{"t":1234567,"u":1234567}', b'{"t":1,"u":121212121}',
    b'{"t":12345678901,"u":98765432101}'])
def test_many_repeated_runs_and_longer_payloads_are_tried_with_zlib(payload: bytes) -> None:
    assert _compression_may_help(payload)


def test_a_token_made_without_zlib_is_refused_once_its_payload_is_changed() -> None:
    clock = ManualClock(datetime(2026, 11, 4, 12, 0, tzinfo=UTC))
    signer = _signer(clock)
    token = signer.token(1234567, 765432)
    payload, rest = token.split(".", 1)
    other = signer.token(1234568, 765432).split(".", 1)[0]
    assert signer.check(token).task_id == 1234567
    with pytest.raises(LinkError) as forged:
        signer.check(f"{other}.{rest}")
    assert not forged.value.expired
    with pytest.raises(LinkError):
        signer.check(f".{payload}.{rest}")


def test_the_links_base64_is_itsdangerous_base64_for_every_length_and_byte() -> None:
    rng = random.Random(3)
    for size in range(70):
        data = bytes(rng.randrange(256) for _ in range(size))
        assert _base64(data) == base64_encode(data)
    assert _base64(bytes(range(256))) == base64_encode(bytes(range(256)))
