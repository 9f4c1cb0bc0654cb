"""``sidecar init``: write a commented starter configuration file."""

from __future__ import annotations

from pathlib import Path

import click

from config import ConfigError, env_var_for, find_config_path, render_starter
from sidecar.context import CONFIG_ERROR, NOT_READY, CliContext, pass_context


@click.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", help="The site's address, e.g. https://lms.example.org.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@pass_context
def init(ctx: CliContext, path: Path | None, url: str | None, force: bool) -> None:
    """Write a commented starter config file (default: --config, $SIDECAR_CONFIG or
    ./sidecar.yaml).

    Exit codes: 0 written; 1 the file exists (use --force); 78 the --url is not a site address.
    """
    target = path or find_config_path(ctx.config_path)
    if target.exists() and not force:
        ctx.err.print(f"{target} already exists; use --force to overwrite it.", highlight=False)
        raise click.exceptions.Exit(NOT_READY)
    try:
        text = render_starter(url)
    except ConfigError as exc:
        ctx.err.print(str(exc), highlight=False)
        raise click.exceptions.Exit(CONFIG_ERROR) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    ctx.out.print(f"Wrote {target}", highlight=False)
    ctx.out.print(
        "Next: edit lms.url, give the token as an environment variable "
        f"(export {env_var_for(('lms', 'token'))}=...) or in lms.token_file, "
        "then run: sidecar check", highlight=False)
