"""The admin steps ``sidecar check --fix-hints`` still finds missing, each linked to the guide.

Pure functions of the readiness verdict, the store's state and a few settings; the links are
paths of the admin guide in the repository (``docs/...#anchor``), and a test keeps every anchor
named here present in its page.
"""

from __future__ import annotations

from dataclasses import dataclass

from sidecar.readiness import Readiness

MOODLE_SETUP = "docs/moodle-setup.md"
RUNNING = "docs/running.md"

#: Guide sections by the step they explain (page#anchor).
SECTIONS: dict[str, str] = {
    "web_services": f"{MOODLE_SETUP}#1-switch-on-web-services-and-the-features",
    "enablecompetencies": f"{MOODLE_SETUP}#1-switch-on-web-services-and-the-features",
    "enablecompletion": f"{MOODLE_SETUP}#1-switch-on-web-services-and-the-features",
    "service_user": f"{MOODLE_SETUP}#3-the-service-user-and-its-role",
    "external_service": f"{MOODLE_SETUP}#4-the-external-service-and-its-functions",
    "token": f"{MOODLE_SETUP}#5-the-token",
    "manager_role": f"{MOODLE_SETUP}#6-the-manager-role-goals",
    "coach": f"{MOODLE_SETUP}#7-the-practice-coach-follow-ups",
    "report": f"{MOODLE_SETUP}#8-a-completion-report-follow-ups-without-a-webhook-plugin",
    "store": f"{RUNNING}#the-state-store",
    "troubleshooting": "docs/troubleshooting.md",
}

_SETTING_NAMES = {"enablecompetencies": "Enable competencies",
                  "enablecompletion": "Enable completion tracking"}


@dataclass(frozen=True)
class Hint:
    """One admin step that is still missing, and where the guide explains it."""

    step: str
    section: str


def fix_hints(readiness: Readiness, *, store_ok: bool, manager_role: int | None,
              coach_token: bool, report_id: int | None) -> list[Hint]:
    """The steps still missing for the switched-on features, in the guide's order."""
    hints: list[Hint] = []
    enabled = {f.feature.key for f in readiness.features if f.enabled}
    settings_off = sorted({f.setting_off for f in readiness.features
                           if f.enabled and f.setting_off})
    for setting in settings_off:
        name = _SETTING_NAMES.get(setting, setting)
        hints.append(Hint(f"Switch on Site administration > General > Advanced features > "
                          f"{name}", SECTIONS.get(setting, SECTIONS["web_services"])))
    missing: list[str] = []
    for item in readiness.features:
        if item.enabled:
            missing += [r.function for r in item.missing if r.function not in missing]
    if missing:
        hints.append(Hint(f"Add {len(missing)} function{'s' if len(missing) != 1 else ''} to "
                          f"the external service '{readiness.service}' (Site administration > "
                          "Server > Web services > External services > Functions): "
                          + ", ".join(missing), SECTIONS["external_service"]))
    if "goals" in enabled and manager_role is None:
        hints.append(Hint("Create a manager role assignable in the user context (planview, "
                          "planviewdraft, usercompetencyview) and set its id as "
                          "goals.manager_role", SECTIONS["manager_role"]))
    if "followups" in enabled and not coach_token:
        hints.append(Hint("Create the practice coach account and its token, and set "
                          "SIDECAR_FOLLOWUPS__COACH__TOKEN or followups.coach.token_file",
                          SECTIONS["coach"]))
    if "followups" in enabled and report_id is None:
        hints.append(Hint("Optional: build a Report builder report of course completions and "
                          "set its id as webhooks.report.id (one call per page instead of one "
                          "per learner)", SECTIONS["report"]))
    if not store_ok:
        hints.append(Hint("Make the state store reachable (store.url)", SECTIONS["store"]))
    return hints


def failure_hint(reason: str) -> Hint:
    """Where the guide explains a check that could not reach the site or was refused."""
    if "core_webservice_get_site_info" in reason:
        return Hint("Add core_webservice_get_site_info to the external service",
                    SECTIONS["external_service"])
    if "token" in reason:
        return Hint("Create a token for the service user on the external service",
                    SECTIONS["token"])
    if "web services or the REST protocol" in reason:
        return Hint("Enable web services and the REST protocol", SECTIONS["web_services"])
    return Hint("See what the message means and how to fix it", SECTIONS["troubleshooting"])
