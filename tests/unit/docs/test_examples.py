"""Every command and configuration example of the admin guide is run, so that it stays true.

Fenced blocks are read from the guide's pages (``docs/*.md``, the index and README's link). A
block preceded by ``<!-- not run: reason -->`` is counted and skipped; every other block is run:

* ``sh``: each ``sidecar ...`` line runs, in page order, in one workspace laid out like
  ``examples/`` and configured for the sandbox LMS (``export`` lines set variables, ``git``
  lines run in the workspace's repository); a command must exit 0, or 2 for the plan commands
  ("changes pending");
* ``yaml``: a configuration snippet is loaded with ``config.load_settings`` (secrets from the
  environment; files it names under ``/etc/lms-sidecar/`` are made in a temporary folder),
  a follow-up plans file is read as ``followups.plans_file`` is, a framework as a source;
* ``ini``: the systemd unit's ``ExecStart`` must be a ``sidecar`` command line that parses;
* ``json``: must parse.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from config import Settings, load_settings
from sidecar.cli import cli
from sidecar.guide import SECTIONS

REPO = Path(__file__).resolve().parents[3]
DOCS = REPO / "docs"
#: Pages of the guide. benchmarks.md's commands are run by tests/unit/bench; totara.md is the
#: Totara connector's own notes, kept by its author.
PAGES = sorted(p for p in DOCS.glob("*.md") if p.name not in ("benchmarks.md", "totara.md"))
#: How many blocks may be marked "not run" in all; raise it only with a reason in the marker.
MAX_NOT_RUN = 14
PLAN_COMMANDS = (("plan",), ("goals", "plan"), ("map", "plan"))

_FENCE = re.compile(r"^```(\w*)\s*$")
_NOT_RUN = re.compile(r"^<!--\s*not run:\s*(.+?)\s*-->$")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    text: str
    not_run: str | None

    def __str__(self) -> str:
        return f"{self.page}:{self.line} ({self.lang})"


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown page, with the reason when marked not run."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        start = index
        end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
        previous = next((lines[i] for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        marker = _NOT_RUN.match(previous.strip())
        found.append(Block(path.name, start + 1, match.group(1), "\n".join(lines[start + 1:end]),
                           marker.group(1) if marker else None))
        index = end + 1
    return found


def _all_blocks() -> list[Block]:
    return [b for page in PAGES for b in blocks(page)]


def test_every_block_is_run_or_marked_with_a_reason():
    every = _all_blocks()
    assert len(every) > 25
    for block in every:
        assert block.lang in ("sh", "yaml", "ini", "nginx", "text", "json"), block
        if block.lang == "nginx":
            assert block.not_run, f"{block}: mark it not run, with the reason"
    marked = [b for b in every if b.not_run]
    assert all(len(b.not_run or "") > 15 for b in marked)
    assert len(marked) <= MAX_NOT_RUN, [str(b) for b in marked]


# -- YAML --------------------------------------------------------------------------------------


def _settings_keys() -> set[str]:
    return {info.alias or name for name, info in Settings.model_fields.items()}


def _config_snippet(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "whsec_" + base64.b64encode(b"documentation-example-secret").decode()
    etc = tmp_path / "etc"
    etc.mkdir(exist_ok=True)
    text = block.text.replace("/etc/lms-sidecar/", f"{etc}/")
    for name in re.findall(rf"{re.escape(str(etc))}/([\w.-]+)", text):
        (etc / name).write_text(secret + "\n", encoding="utf-8")
    data = yaml.safe_load(text)
    lms = data.setdefault("lms", {})
    lms.setdefault("url", "https://lms.example.org")
    for name in [n for n in os.environ if n.startswith("SIDECAR_")]:
        monkeypatch.delenv(name)
    if not any(k in lms for k in ("token_file", "username", "client_id")):
        monkeypatch.setenv("SIDECAR_LMS__TOKEN", "documentation-example-token")
    path = tmp_path / "sidecar.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    load_settings(path)


def _check_yaml(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = yaml.safe_load(block.text)
    assert isinstance(data, dict), block
    if "plans" in data:
        from webhooks.policy import load_policy

        path = tmp_path / "followups.yaml"
        path.write_text(block.text, encoding="utf-8")
        assert load_policy(path, [2, 7, 21, 60]).plans
    elif "competencies" in data and "idnumber" in data:
        from sync.sources import read_source

        path = tmp_path / "framework.yaml"
        path.write_text(block.text, encoding="utf-8")
        read_source(path)
    else:
        unknown = set(data) - _settings_keys()
        assert not unknown, f"{block}: not a config snippet nor a known file ({unknown})"
        _config_snippet(block, tmp_path, monkeypatch)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_yaml_examples_are_valid(page, tmp_path, monkeypatch):
    for block in blocks(page):
        if block.lang == "yaml" and not block.not_run:
            workdir = tmp_path / f"line{block.line}"
            workdir.mkdir()
            _check_yaml(block, workdir, monkeypatch)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_json_examples_parse(page):
    for block in blocks(page):
        if block.lang == "json" and not block.not_run:
            json.loads(block.text)


# -- sh ----------------------------------------------------------------------------------------


def _workspace(root: Path, site_url: str) -> Path:
    examples = REPO / "examples"
    shutil.copytree(examples / "frameworks", root / "frameworks")
    shutil.copytree(examples / "goals", root / "goals")
    shutil.copy(examples / "followups.yaml", root / "followups.yaml")
    (root / "skills-map.yaml").write_text("links: []\n", encoding="utf-8")
    (root / "sidecar.yaml").write_text(
        f"lms:\n  url: {site_url}\n  retries: {{attempts: 3, backoff: 0.01}}\n"
        "store:\n  url: sqlite:///sidecar.sqlite\n"
        "sync:\n  sources: [frameworks]\n"
        "skills_map:\n  mapping_file: skills-map.yaml\n  method: tfidf\n  reviewer: docs-test\n"
        "goals:\n  files: [goals/northwind-goals.csv]\n  manager_role: 9\n"
        "followups:\n  plans_file: followups.yaml\n  public_url: http://127.0.0.1:9\n",
        encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def _run_line(line: str, root: Path, block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    words = shlex.split(line, comments=True)
    if not words:
        return
    if words[0] == "export":
        name, _, value = words[1].partition("=")
        monkeypatch.setenv(name, value)
        return
    if words[0] == "git":
        env = {**os.environ, "GIT_AUTHOR_NAME": "Docs", "GIT_AUTHOR_EMAIL": "docs@example.org",
               "GIT_COMMITTER_NAME": "Docs", "GIT_COMMITTER_EMAIL": "docs@example.org"}
        subprocess.run(words, cwd=root, check=True, env=env, capture_output=True)
        return
    assert words[0] == "sidecar", f"{block}: {line!r} is not a command the test can run; " \
                                  "mark the block <!-- not run: reason -->"
    result = CliRunner().invoke(cli, words[1:])
    plan = any(tuple(words[1:1 + len(p)]) == p for p in PLAN_COMMANDS)
    allowed = (0, 2) if plan else (0,)
    assert result.exit_code in allowed, (
        f"{block}: `{line}` exited {result.exit_code}\n{result.output}\n{result.exception!r}")
    assert "Usage:" not in result.output, f"{block}: `{line}`\n{result.output}"


@pytest.mark.integration
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_sh_examples_run_against_the_sandbox(page, sandbox, tmp_path, monkeypatch):
    runnable = [b for b in blocks(page) if b.lang == "sh" and not b.not_run]
    if not runnable:
        return
    root = _workspace(tmp_path / "work", sandbox.url)
    for name in [n for n in os.environ if n.startswith("SIDECAR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SIDECAR_CONFIG", str(root / "sidecar.yaml"))
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", sandbox.admin_token)
    monkeypatch.setenv("SIDECAR_FOLLOWUPS__COACH__TOKEN", sandbox.admin_token)
    monkeypatch.setenv("SIDECAR_FOLLOWUPS__LINK_SECRET", "documentation-example-link-secret")
    monkeypatch.chdir(root)
    for block in runnable:
        for line in block.text.splitlines():
            _run_line(line, root, block, monkeypatch)


# -- systemd and nginx -------------------------------------------------------------------------


def test_systemd_unit_runs_a_sidecar_command_that_parses():
    units = [b for b in _all_blocks() if b.lang == "ini" and "ExecStart=" in b.text]
    assert units
    for unit in units:
        command = re.search(r"^ExecStart=(.+)$", unit.text, re.M)
        assert command is not None
        words = shlex.split(command.group(1))
        assert words[0].endswith("/bin/sidecar"), unit
        assert "SIDECAR_CONFIG=" in unit.text or "--config" in words
        rest = words[1:]
        while rest and rest[0].startswith("-"):
            rest = rest[2:] if rest[0] in ("--config", "-c") else rest[1:]
        name, args = rest[0], rest[1:]
        sub = cli.get_command(click.Context(cli), name)
        assert isinstance(sub, click.Command), unit
        sub.make_context(name, args)


def test_nginx_locations_are_routes_of_the_app(tmp_path, monkeypatch):
    from sidecar.app import create_app

    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "t")
    monkeypatch.setenv("SIDECAR_FOLLOWUPS__LINK_SECRET", "documentation-example-link-secret")
    monkeypatch.setenv("SIDECAR_FOLLOWUPS__PUBLIC_URL", "https://sidecar.example.org")
    monkeypatch.setenv("SIDECAR_ADMIN__PASSWORD", "documentation-example")
    monkeypatch.setenv("SIDECAR_ADMIN__SESSION_KEY", "documentation-example-session-key")
    app = create_app(Settings(lms={"url": "https://lms.example.org"},  # type: ignore[arg-type]
                              store={"url": f"sqlite:///{tmp_path / 's.sqlite'}"}))
    rules = [r.rule for r in app.url_map.iter_rules()]
    for block in [b for b in _all_blocks() if b.lang == "nginx"]:
        for location in re.findall(r"location\s+(\S+)\s*\{", block.text):
            assert any(rule.startswith(location) for rule in rules), (block, location)
        for port in re.findall(r"proxy_pass http://127\.0\.0\.1:(\d+)", block.text):
            assert int(port) == Settings.model_fields["server"].default_factory().port


# -- links -------------------------------------------------------------------------------------


def slug(title: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", title.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return {slug(m) for m in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.M)}


def _links(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in t]


@pytest.mark.parametrize("page", [*PAGES, REPO / "README.md", *sorted((DOCS / "reference")
                                                                     .glob("*.md"))],
                         ids=lambda p: p.name)
def test_relative_links_and_anchors_resolve(page):
    for link in _links(page):
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if target.endswith("totara.md") and not path.exists():
            continue  # docs/totara.md is being written with the Totara connector
        assert path.exists(), f"{page.name}: broken link {link}"
        if anchor and path.suffix == ".md":
            assert anchor in anchors(path), f"{page.name}: no heading for #{anchor} in {target}"


def test_check_fix_hints_point_at_existing_sections():
    for section in SECTIONS.values():
        target, _, anchor = section.partition("#")
        path = REPO / target
        assert path.exists(), section
        if anchor:
            assert anchor in anchors(path), section
