"""``sidecar init``: write a commented starter configuration file (or ask for it interactively)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from config import ConfigError, env_var_for, find_config_path, render_starter
from sidecar.context import CONFIG_ERROR, NOT_READY, CliContext, pass_context

DEFAULT_KEY_FILE = "lms-token"
_COMMENTED_LINE = "  # token_file: /etc/lms-sidecar/token\n"


@click.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", help="The site's address, e.g. https://lms.example.org.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--interactive", "-i", is_flag=True,
              help="Ask for the site address and the token (hidden), keep the token in a file "
              "readable only by you, write the config and run `sidecar check --fix-hints`.")
@pass_context
def init(ctx: CliContext, path: Path | None, url: str | None, force: bool,
         interactive: bool) -> None:
    """Write a commented starter config file (default: --config, $SIDECAR_CONFIG or
    ./sidecar.yaml).

    Exit codes: 0 written; 1 the file exists (use --force); 78 the --url is not a site address.
    With --interactive, the exit code is then that of the check: 0 ready, 1 something is
    missing, 2 the site cannot be reached or refused the token, 78 the configuration is wrong.
    """
    target = path or find_config_path(ctx.config_path)
    if target.exists() and not force:
        ctx.err.print(f"{target} already exists; use --force to overwrite it.", highlight=False)
        raise click.exceptions.Exit(NOT_READY)
    if interactive:
        _interactive(ctx, target, url)
        return
    text = _starter(ctx, url)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    ctx.out.print(f"Wrote {target}", highlight=False)
    ctx.out.print(
        "Next: edit lms.url, give the token as an environment variable "
        f"(export {env_var_for(('lms', 'token'))}=...) or in lms.token_file, "
        "then run: sidecar check", highlight=False)


def _starter(ctx: CliContext, url: str | None) -> str:
    try:
        return render_starter(url)
    except ConfigError as exc:
        ctx.err.print(str(exc), highlight=False)
        raise click.exceptions.Exit(CONFIG_ERROR) from exc


def _interactive(ctx: CliContext, target: Path, url: str | None) -> None:
    """Ask, write the token file (0600) and the config naming it, then run the check."""
    while True:
        url = click.prompt("Site address (as learners open it)", default=url)
        try:
            text = render_starter(url)
            break
        except ConfigError as exc:
            ctx.err.print(str(exc), highlight=False)
            url = None
    ctx.out.print("Web-service token: Site administration > Server > Web services > "
                  "Manage tokens (docs/moodle-setup.md#5-the-token)", highlight=False)
    token = click.prompt("Token", hide_input=True).strip()
    default_file = target.parent / DEFAULT_KEY_FILE
    token_path = Path(click.prompt("Keep the token in the file", default=str(default_file)))
    token_path = token_path if token_path.is_absolute() else target.parent / token_path
    _write_secret(token_path, token)
    if _COMMENTED_LINE not in text:
        raise click.ClickException("the starter file has no token_file line to fill in")
    shown = token_path.name if token_path.parent == target.parent else str(token_path)
    text = text.replace(_COMMENTED_LINE, f"  token_file: {shown}\n", 1)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    ctx.out.print(f"Wrote {target} (the token is in {token_path}, readable only by you)",
                  highlight=False)
    variable = env_var_for(("lms", "token"))
    if os.environ.get(variable):
        ctx.err.print(f"{variable} is set in this environment too: run `unset {variable}`, "
                      "the token is in the file now.", highlight=False)
    from sidecar.commands.check import check

    ctx.config_path = str(target)
    ctx.out.print("Checking the site ...", highlight=False)
    click.get_current_context().invoke(check, as_json=False, fix_hints=True)


def _write_secret(path: Path, value: str) -> None:
    """Write ``value`` to ``path``, readable and writable by the owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(value + "\n")
