"""Fault and latency injection for the benchmarks and the reliability tests.

A :class:`FaultConfig` says how often each fault happens; :class:`FaultInjector` draws one
outcome per web-service call from a seeded random generator (deterministic when ``seed`` is set),
or takes the next one from ``script`` when a test wants an exact sequence.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Outcome = Literal["ok", "error", "timeout", "reset", "ratelimit"]
SCRIPT_WORDS = {"ok", "timeout", "reset", "429", "500", "502", "503", "504"}


@dataclass
class FaultConfig:
    """How the sandbox misbehaves. Rates are shares of calls between 0 and 1."""

    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_statuses: list[int] = field(default_factory=lambda: [500, 502, 503, 504])
    timeout_rate: float = 0.0
    timeout_seconds: float = 30.0
    reset_rate: float = 0.0
    ratelimit_rate: float = 0.0
    retry_after: int = 1
    functions: list[str] = field(default_factory=list)
    script: list[str] = field(default_factory=list)
    seed: int | None = None

    def validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        rates = (self.error_rate, self.timeout_rate, self.reset_rate, self.ratelimit_rate)
        if any(not 0.0 <= rate <= 1.0 for rate in rates) or sum(rates) > 1.0:
            raise ValueError("fault rates must lie between 0 and 1 and add up to at most 1")
        if self.latency_ms < 0 or self.latency_jitter_ms < 0 or self.timeout_seconds < 0:
            raise ValueError("latency and timeout must not be negative")
        if any(status < 500 or status > 599 for status in self.error_statuses):
            raise ValueError("error_statuses must be 5xx codes")
        bad = [word for word in self.script if word not in SCRIPT_WORDS]
        if bad:
            raise ValueError(f"unknown script entries {bad}; use {sorted(SCRIPT_WORDS)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultConfig:
        """Build from JSON, refusing unknown keys."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        config = cls(**data)
        config.validate()
        return config


@dataclass(frozen=True)
class Decision:
    """What to do with one call: the delay first, then the outcome."""

    delay: float
    outcome: Outcome
    status: int = 200


class FaultInjector:
    """Draws a :class:`Decision` per call; thread-safe and reproducible with a seed."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        config.validate()
        with self._lock:
            self.config = config
            self._random = random.Random(config.seed)
            self._script = list(config.script)

    def decide(self, wsfunction: str | None) -> Decision:
        """The fate of the next call to ``wsfunction`` (None for /login/token.php)."""
        with self._lock:
            cfg = self.config
            delay = cfg.latency_ms / 1000.0
            if cfg.latency_jitter_ms:
                delay += self._random.uniform(0.0, cfg.latency_jitter_ms) / 1000.0
            if cfg.functions and wsfunction not in cfg.functions:
                return Decision(delay, "ok")
            if self._script:
                return self._scripted(delay, self._script.pop(0))
            draw = self._random.random()
            for outcome, rate in (("reset", cfg.reset_rate), ("timeout", cfg.timeout_rate),
                                  ("error", cfg.error_rate), ("ratelimit", cfg.ratelimit_rate)):
                if draw < rate:
                    return self._decision(delay, outcome)
                draw -= rate
            return Decision(delay, "ok")

    def _decision(self, delay: float, outcome: str) -> Decision:
        if outcome == "error":
            return Decision(delay, "error", self._random.choice(self.config.error_statuses))
        if outcome == "ratelimit":
            return Decision(delay, "ratelimit", 429)
        if outcome == "timeout":
            return Decision(delay + self.config.timeout_seconds, "timeout")
        return Decision(delay, "reset")

    def _scripted(self, delay: float, word: str) -> Decision:
        if word.isdigit():
            status = int(word)
            return Decision(delay, "ratelimit" if status == 429 else "error", status)
        if word == "timeout":
            return Decision(delay + self.config.timeout_seconds, "timeout")
        return Decision(delay, "reset" if word == "reset" else "ok")
