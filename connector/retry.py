"""The one retry policy for every LMS call: which faults to retry, how long to wait.

Transient faults (connection errors, timeouts, 429, 502/503/504) are retried with capped
exponential backoff plus jitter; everything else is raised at once. A write that is not
idempotent is retried only when the request provably did not reach the site, so that a
retry can never create something twice. ``Retry-After`` is obeyed; when the site asks
for a longer pause than ``max_backoff`` allows, the call gives up and says so.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from connector.errors import LmsConnectionError, LmsRateLimitError

T = TypeVar("T")


def full_jitter(base: float) -> float:
    """Extra random delay of up to ``base`` seconds, so that clients do not retry in step."""
    return float(random.uniform(0, base))


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry transient faults.

    ``attempts`` counts the first try; ``jitter`` is split out so that tests can pass
    ``lambda base: 0`` and assert exact delays.
    """

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: Callable[[float], float] = field(default=full_jitter, compare=False)

    def should_retry(self, exc: BaseException, *, idempotent: bool) -> bool:
        """True when ``exc`` is transient and repeating the request cannot do harm."""
        if not isinstance(exc, LmsConnectionError) or not exc.retryable:
            return False
        if isinstance(exc, LmsRateLimitError) and (exc.retry_after or 0) > self.max_backoff:
            return False
        return idempotent or not exc.reached_site

    def delay(self, attempt: int, exc: BaseException | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if isinstance(exc, LmsRateLimitError) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_backoff)
        base = min(self.backoff * 2.0 ** (attempt - 1), self.max_backoff)
        return min(base + self.jitter(base), self.max_backoff)

    def run(
        self,
        fn: Callable[[], T],
        *,
        idempotent: bool,
        sleep: Callable[[float], None],
        on_retry: Callable[[int, BaseException, float], None] | None = None,
    ) -> T:
        """Call ``fn`` until it succeeds, a permanent fault occurs, or attempts run out.

        Raises:
            The last exception from ``fn``, unchanged.
        """

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return self.delay(state.attempt_number, exc)

        def before_sleep(state: RetryCallState) -> None:
            if on_retry and state.outcome and state.next_action:
                exc = state.outcome.exception()
                if exc is not None:
                    on_retry(state.attempt_number, exc, state.next_action.sleep)

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait,
            retry=retry_if_exception(lambda e: self.should_retry(e, idempotent=idempotent)),
            sleep=sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(fn)
