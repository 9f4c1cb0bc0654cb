"""Client-side pacing and accounting: a rate limit, and counts of calls per function."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass


class RateLimiter:
    """At most ``rate`` calls per second across all threads (evenly spaced, no bursts)."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> float:
        """Block until the next call may go; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return delay


@dataclass(frozen=True)
class CallCount:
    """How one web-service function fared: calls made, HTTP requests sent, outcomes."""

    function: str
    calls: int
    requests: int
    outcomes: dict[str, int]


class CallStats:
    """Thread-safe counts of calls per function and outcome, for reports and benchmarks.

    A *call* is one logical call of a function (batches count separately, since each is
    its own request); a *request* is one HTTP request, so retries show as requests > calls.
    """

    def __init__(self, observer: Callable[[str, str], None] | None = None) -> None:
        """``observer(function, outcome)`` is told of every finished call (e.g. metrics)."""
        self._observer = observer
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._requests: Counter[str] = Counter()
        self._outcomes: Counter[tuple[str, str]] = Counter()

    def request_sent(self, function: str) -> None:
        with self._lock:
            self._requests[function] += 1

    def call_finished(self, function: str, outcome: str) -> None:
        """Record a finished call; ``outcome`` is "ok" or the error code / kind."""
        with self._lock:
            self._calls[function] += 1
            self._outcomes[(function, outcome)] += 1
        if self._observer is not None:
            self._observer(function, outcome)

    @property
    def calls(self) -> int:
        with self._lock:
            return sum(self._calls.values())

    @property
    def requests(self) -> int:
        with self._lock:
            return sum(self._requests.values())

    def by_function(self) -> list[CallCount]:
        """One row per function, most called first."""
        with self._lock:
            names = sorted(set(self._calls) | set(self._requests), key=lambda n: -self._calls[n])
            return [
                CallCount(
                    function=name,
                    calls=self._calls[name],
                    requests=self._requests[name],
                    outcomes={o: c for (f, o), c in self._outcomes.items() if f == name},
                )
                for name in names
            ]

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._requests.clear()
            self._outcomes.clear()
