"""Logging for every entry point: levels, optional JSON lines, and a redaction backstop.

Modules log with ``logging.getLogger(__name__)`` and never attach handlers; this is the
one place that does. The filter scrubs anything that looks like a token, password or
bearer credential from every record, in case some library puts one in a message.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

_SECRET_PATTERNS = (
    re.compile(r"((?:wstoken|token|password|privatetoken|secret)=)[^&\s'\"]+", re.I),
    re.compile(r"((?:\"|')(?:wstoken|token|password|privatetoken|secret)(?:\"|')\s*[:,]\s*"
               r"(?:\"|'))[^\"']+", re.I),
    re.compile(r"((?:Authorization|X-Totara-Signature|webhook-signature)\s*[:=]\s*)\S+(\s+\S+)?",
               re.I),
    re.compile(r"(Bearer\s+)[\w.\-~+/]+=*", re.I),
)


def redact(text: str) -> str:
    """``text`` with every secret-looking value replaced by ``***``."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***", text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with secrets masked (a backstop, not the first line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "INFO", *, json_lines: bool = False) -> None:
    """Send logs to stderr at ``level``, as text or JSON lines, always through the filter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if json_lines else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    from sidecar.metrics import ErrorCounter  # counts ERROR records for /metrics

    counter = ErrorCounter(level=logging.ERROR)
    root.addHandler(counter)
    root.setLevel(level)
    for noisy in ("urllib3", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
