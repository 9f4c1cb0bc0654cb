"""Loading the configuration: find the file, read it, merge the environment, validate, explain.

Priority: environment variables > the YAML file > defaults. Every failure is a `ConfigError`
whose message names the file, each bad key by dotted path, its line in the file (or the
environment variable it came from), the bad value (secrets hidden) and what was expected.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import SettingsError

from config.errors import (
    ConfigError,
    ConfigFileError,
    ConfigValidationError,
    Problem,
    expectation,
    model_at,
    show_value,
)
from config.settings import (
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    FILE_VALUES,
    Settings,
)
from config.yamlfile import Key, YamlDocument, read_yaml

CONFIG_ENV_VAR = "SIDECAR_CONFIG"
DEFAULT_CONFIG_FILE = "sidecar.yaml"

_SQLITE_URL = re.compile(r"^(sqlite(?:\+\w+)?:///)([^?]*)(\?.*)?$")


def find_config_path(path: str | Path | None = None) -> Path:
    """The config file to use: `path` (from --config), else $SIDECAR_CONFIG, else ./sidecar.yaml."""
    chosen = path if path is not None else os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_FILE
    return Path(chosen).expanduser().absolute()


def load_settings(path: str | Path | None = None) -> Settings:
    """Load and validate the configuration from the file (see `find_config_path`) and environment.

    Raises:
        ConfigFileError: the file is missing, unreadable or not valid YAML.
        ConfigValidationError: a value is wrong, a key is unknown, or a secret is in the file;
            the message lists every problem.
    """
    config_path = find_config_path(path)
    if not config_path.exists():
        raise ConfigFileError(_missing_message(config_path, path), config_path)
    if config_path.is_dir():
        raise ConfigFileError(
            f"Config path {config_path} is a folder; name the YAML file itself "
            f"(e.g. {config_path / DEFAULT_CONFIG_FILE}).",
            config_path,
        )
    doc = read_yaml(config_path)
    problems = [*doc.duplicates, *_refuse_secrets(doc)]
    data = _resolve_relative_paths(copy.deepcopy(doc.data), config_path.parent)
    settings: Settings | None = None
    token = FILE_VALUES.set(data)
    try:
        settings = Settings()  # type: ignore[call-arg]  # values come from env + file sources
    except ValidationError as exc:
        problems.extend(_problem(error, doc) for error in exc.errors())
    except SettingsError as exc:
        problems.append(_env_parse_problem(exc))
    finally:
        FILE_VALUES.reset(token)
    if problems or settings is None:
        problems.sort(key=lambda p: (p.env_var is not None, p.line or 0))
        note = None
        if doc.empty:
            note = "The file is empty: `sidecar init` writes a commented starter."
        raise ConfigValidationError(config_path, problems, note)
    settings._config_file = config_path
    return settings


def env_var_for(key: Key) -> str:
    """The environment variable that sets the dotted key `key`, e.g. SIDECAR_LMS__TOKEN."""
    return ENV_PREFIX + ENV_NESTED_DELIMITER.join(part.upper() for part in key)


def secret_keys(model: type[BaseModel] = Settings, prefix: Key = ()) -> Iterator[Key]:
    """Every key holding a secret (a SecretStr field), which must never be written in the file."""
    for name, info in model.model_fields.items():
        key = (*prefix, info.alias or name)
        if _mentions(info.annotation, SecretStr):
            yield key
        section = model_at(model, (name,))
        if section is not None:
            yield from secret_keys(section, key)


def _missing_message(config_path: Path, given: str | Path | None) -> str:
    if given is not None:
        origin = "named with --config"
    elif os.environ.get(CONFIG_ENV_VAR):
        origin = f"named by the environment variable {CONFIG_ENV_VAR}"
    else:
        origin = f"the default: {DEFAULT_CONFIG_FILE} in the current folder"
    return (
        f"Config file {config_path} not found ({origin}).\n"
        f"Run `sidecar init` to write a commented starter file, or name another file with "
        f"--config PATH or the environment variable {CONFIG_ENV_VAR}."
    )


def _refuse_secrets(doc: YamlDocument) -> list[Problem]:
    problems = []
    for key in secret_keys():
        value: Any = doc.data
        for part in key:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None or value == "":
            continue
        alternative = f"set the environment variable {env_var_for(key)}"
        file_key = (*key[:-1], f"{key[-1]}_file")
        if file_key[-1] in _keys_at(key[:-1]):
            alternative += f" or name a file holding it with {'.'.join(file_key)}"
        problems.append(
            Problem(
                key=".".join(key),
                message=f"secrets must not be written in the config file; remove it and "
                f"{alternative} (the value is not shown here)",
                line=doc.line_of(key),
            )
        )
    return problems


def _keys_at(section: Key) -> list[str]:
    model = model_at(Settings, section)
    return [info.alias or name for name, info in model.model_fields.items()] if model else []


def _problem(error: ErrorDetails, doc: YamlDocument) -> Problem:
    ctx = error.get("ctx") or {}
    loc = tuple(str(part) for part in error["loc"])
    named_field = ctx.get("field")
    if isinstance(named_field, str):
        loc = (*loc, named_field)
    kind = error["type"]
    env_var = None if kind == "missing" else _env_source(loc, prefix_ok=kind == "extra_forbidden")
    line = None
    if env_var is None and kind != "missing":
        line = doc.line_of(loc, exact=False)
    value = None
    if kind not in ("missing", "extra_forbidden") and named_field is None:
        secret = any(loc[: len(key)] == key for key in secret_keys())
        value = show_value(error.get("input"), secret)
    return Problem(
        key=".".join(loc),
        message=expectation(error, Settings) if named_field is None else _plain(error["msg"]),
        line=line,
        env_var=env_var,
        value=value,
    )


def _plain(message: str) -> str:
    return message[:1].lower() + message[1:]


def _env_source(loc: Key, prefix_ok: bool) -> str | None:
    """The environment variable that supplied the value at `loc`, if one did."""
    names = {name.upper(): name for name in os.environ}
    full = env_var_for(loc)
    if full in names:
        return names[full]
    if prefix_ok:
        for upper, name in sorted(names.items()):
            if upper.startswith(full + ENV_NESTED_DELIMITER):
                return name
    for size in range(len(loc) - 1, 0, -1):
        parent = env_var_for(loc[:size])
        if parent in names:
            return names[parent]
    return None


def _env_parse_problem(exc: SettingsError) -> Problem:
    match = re.search(r'field "([^"]+)"', str(exc))
    section = match.group(1) if match else ""
    return Problem(
        key=section,
        message=f"an environment variable starting with {env_var_for((section,))} holds a "
        f"value that is not valid JSON for a section; set single keys instead, such as "
        f"{ENV_PREFIX}LMS{ENV_NESTED_DELIMITER}URL",
    )


def _resolve_relative_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make relative file paths (and relative SQLite URLs) written in the file absolute.

    They mean "beside the config file", not "in whatever folder the service was started from".
    """
    for key, kind, default in _relative_fields(Settings, ()):
        parent: Any = data
        for part in key[:-1]:
            if parent.get(part) is None and default is not None:
                parent[part] = {}
            parent = parent.get(part)
            if not isinstance(parent, dict):
                break
        else:
            value = parent.get(key[-1], default)
            if isinstance(value, str) and value:
                parent[key[-1]] = (
                    _resolve_sqlite(value, base) if kind == "sqlite" else _resolve(value, base)
                )
            elif isinstance(value, list) and kind == "path":
                parent[key[-1]] = [_resolve(v, base) if isinstance(v, str) and v else v
                                   for v in value]
    return data


def _relative_fields(model: type[BaseModel], prefix: Key) -> Iterator[tuple[Key, str, Any]]:
    for name, info in model.model_fields.items():
        key = (*prefix, info.alias or name)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("relative_sqlite"):
            yield key, "sqlite", info.default
        elif _mentions(info.annotation, Path):
            yield key, "path", None
        section = model_at(model, (name,))
        if section is not None:
            yield from _relative_fields(section, key)


def _resolve(value: str, base: Path) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def _resolve_sqlite(url: str, base: Path) -> str:
    match = _SQLITE_URL.match(url)
    if match is None:
        return url
    scheme, path, query = match.group(1), match.group(2), match.group(3) or ""
    if not path or path == ":memory:" or path.startswith("/") or path.startswith("file:"):
        return url
    return f"{scheme}{_resolve(path, base)}{query}"


def _mentions(annotation: Any, wanted: type) -> bool:
    if annotation is wanted:
        return True
    return any(_mentions(arg, wanted) for arg in get_args(annotation))


__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_FILE",
    "ConfigError",
    "env_var_for",
    "find_config_path",
    "load_settings",
    "secret_keys",
]
