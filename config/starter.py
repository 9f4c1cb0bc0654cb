"""The commented starter config file that `sidecar init` writes."""

from __future__ import annotations

import json
from importlib import resources

from pydantic_core import PydanticCustomError

from config.errors import ConfigError
from config.settings import normalise_site_url

_URL_LINE = '  url: "https://lms.example.org"\n'


def render_starter(url: str | None = None) -> str:
    """The starter file's text, with `url` as lms.url when given.

    Raises:
        ConfigError: `url` is not an http(s) site root.
    """
    text = resources.files("config").joinpath("starter.yaml").read_text(encoding="utf-8")
    if url is None:
        return text
    try:
        root = normalise_site_url(url)
    except PydanticCustomError as exc:
        raise ConfigError(f"Site address {url!r}: {exc.message()}") from exc
    return text.replace(_URL_LINE, f"  url: {json.dumps(root)}\n", 1)
