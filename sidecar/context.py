"""What every command shares: the chosen config file, the settings loaded once, the consoles,
and the exit codes scripts can rely on."""

from __future__ import annotations

from dataclasses import dataclass, field

import click
from rich.console import Console

from config import ConfigError, Settings, load_settings
from sidecar.logs import setup_logging

#: Exit codes shared by all commands (each command's help says which it uses).
OK = 0
NOT_READY = 1  # check: something is missing; other commands: the job failed
UNREACHABLE = 2  # check: site unreachable or token refused
CHANGES_PENDING = 2  # plan commands: changes pending (Terraform's -detailed-exitcode)
CONFIG_ERROR = 78  # EX_CONFIG from sysexits.h: the configuration is wrong


@dataclass
class CliContext:
    """Handed to every command by click; loads the settings on first use."""

    config_path: str | None = None
    verbose: int = 0
    out: Console = field(default_factory=lambda: make_console(stderr=False))
    err: Console = field(default_factory=lambda: make_console(stderr=True))
    _settings: Settings | None = None

    def settings(self) -> Settings:
        """The validated settings; on a bad config, print the readable message and exit 78."""
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_path)
            except ConfigError as exc:
                self.err.print(f"[bold red]Configuration error[/]\n{exc}", markup=True,
                               highlight=False)
                raise click.exceptions.Exit(CONFIG_ERROR) from exc
            level = "DEBUG" if self.verbose else self._settings.logging.level
            setup_logging(level, json_lines=self._settings.logging.json_lines)
        return self._settings


pass_context = click.make_pass_decorator(CliContext)


def make_console(*, stderr: bool = False) -> Console:
    """A console that does not cut lines short when writing to a file or a pipe."""
    probe = Console(stderr=stderr)
    return Console(stderr=stderr, soft_wrap=True,
                   width=None if probe.is_terminal else max(probe.width, 120))
