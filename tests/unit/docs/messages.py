"""The error messages lms-sidecar can print, read from its source, for the troubleshooting test.

Messages are found where they are made: the first argument of every ``...Error(...)`` call, the
message template of every ``PydanticCustomError``, ``Problem(message=...)``, the reason handed to
``sidecar check``'s failure output, steps and notes appended to a verdict, strings returned by the
functions that explain a failure, and the tables of hints. Each message's *phrase* is its longest
literal stretch (the parts between the values filled in at run time).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

#: Files whose messages reach an admin, and why they are on the list.
SOURCES: tuple[str, ...] = (
    "connector/moodle/transport.py",   # every HTTP status and Moodle error body
    "connector/http.py",               # every connection fault and timeout
    "connector/moodle/xml.py",         # a broken XML answer
    "sidecar/readiness.py",            # the steps and notes of `sidecar check`
    "sidecar/commands/check.py",       # the reasons `sidecar check` fails with
    "config/loader.py",                # config file missing, secrets in the file
    "config/errors.py",                # what each wrong value was expected to be
    "config/yamlfile.py",              # YAML syntax and duplicate keys
    "config/settings.py",              # credentials, URLs, schedules, time zones
    "config/webhooks.py",              # webhook secrets
    "config/goals.py",                 # the manager role id
    "sync/goals/apply.py",             # Moodle refusing the manager role
)

_MIN_PHRASE = 12
_FIELD = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True)
class Message:
    source: str
    line: int
    text: str
    phrase: str


def _literal(node: ast.AST) -> str | None:
    """The text of a string constant or f-string, with run-time values as NUL."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _FIELD.sub("\0", node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "\0"
                       for part in node.values)
    return None


def _name(func: ast.AST) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _candidates(tree: ast.AST) -> list[ast.AST]:
    found: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _name(node.func)
            if name == "PydanticCustomError" and len(node.args) > 1:
                found.append(node.args[1])
            elif name.endswith("Error") and node.args:
                found.append(node.args[0])
            elif name == "_fail" and len(node.args) > 4:
                found.append(node.args[4])
            elif name == "append" and node.args:
                found.append(node.args[0])
            found += [k.value for k in node.keywords if k.arg in ("message", "detail")]
        elif isinstance(node, ast.Return) and node.value is not None:
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            found += values
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if any(n in ("_LOGIN_HINTS", "_SITE_SETTING_PATH", "_SIMPLE") for n in names):
                found += [v for v in node.value.values if v is not None]
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.IfExp):
            found += [node.value.body, node.value.orelse]
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name) and node.targets[0].id.isupper()
              and _literal(node.value) and len(_literal(node.value) or "") > 60):
            found.append(node.value)
    return found


def phrase_of(text: str) -> str:
    """The longest literal stretch of a message, whitespace collapsed, trimmed of punctuation."""
    parts = [" ".join(p.split()).strip(" .,:;()'\"") for p in text.split("\0")]
    return max(parts, key=len)


def messages() -> list[Message]:
    """Every message of :data:`SOURCES` with a phrase long enough to look up."""
    found = []
    for source in SOURCES:
        tree = ast.parse((REPO / source).read_text(encoding="utf-8"))
        for node in _candidates(tree):
            text = _literal(node)
            if text is None:
                continue
            phrase = phrase_of(text)
            if len(phrase) >= _MIN_PHRASE and " " in phrase:
                found.append(Message(source, getattr(node, "lineno", 0), text, phrase))
    return found


def normalise(text: str) -> str:
    """Text as the phrase test compares it: markup removed, whitespace collapsed, lower case."""
    return " ".join(re.sub(r"[`*]", "", text).split()).lower()
