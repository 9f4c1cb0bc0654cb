"""Is the site ready for the switched-on features? The judgement behind ``sidecar check``.

Pure functions of what ``core_webservice_get_site_info`` said: its ``functions`` list is
exactly the token's external service (contract 13), so comparing it with the features'
requirements tells which functions are missing, without calling any of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from connector.moodle.functions import FEATURES, REQUIREMENTS, Feature, Requirement
from connector.moodle.models import SiteInfo

#: Moodle 4.1 (LTS) is the oldest release whose competency functions lms-sidecar relies on.
OLDEST_SUPPORTED_VERSION = 2022112800

_SITE_SETTING_PATH = {
    "enablecompetencies": "Site administration > General > Advanced features > Enable "
                          "competencies",
    "enablecompletion": "Site administration > General > Advanced features > Enable "
                        "completion tracking",
}


@dataclass(frozen=True)
class FeatureReadiness:
    """One feature: switched on or not, and what the site lacks for it."""

    feature: Feature
    enabled: bool
    missing: tuple[Requirement, ...] = ()
    missing_optional: tuple[Requirement, ...] = ()
    setting_off: str | None = None  # the advanced feature that is switched off on the site

    @property
    def ready(self) -> bool:
        return not self.missing and self.setting_off is None


@dataclass(frozen=True)
class Readiness:
    """The whole verdict for one site and token."""

    site: SiteInfo
    service: str
    features: tuple[FeatureReadiness, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def ready(self) -> bool:
        """True when every switched-on feature has what it needs."""
        return all(f.ready for f in self.features if f.enabled)

    def fixes(self) -> list[str]:
        """What the admin must do, one line per step, in the words Moodle's pages use."""
        steps: list[str] = []
        settings_seen: set[str] = set()
        functions_seen: set[str] = set()
        for item in self.features:
            if not item.enabled:
                continue
            if item.setting_off and item.setting_off not in settings_seen:
                settings_seen.add(item.setting_off)
                path = _SITE_SETTING_PATH.get(item.setting_off, item.setting_off)
                steps.append(f"switch on {path}")
            for req in item.missing:
                if req.function not in functions_seen:
                    functions_seen.add(req.function)
                    steps.append(f"add {req.function} to the external service '{self.service}'")
        return steps


def assess(site: SiteInfo, enabled: Iterable[str], service: str) -> Readiness:
    """Compare the site's service functions and advanced features with what features need."""
    on = {"core", *enabled}
    available = site.function_names
    results = []
    for feature in FEATURES:
        own = [r for r in REQUIREMENTS if r.feature == feature.key]
        setting_off = None
        if feature.site_setting and site.feature_enabled(feature.site_setting) is False:
            setting_off = feature.site_setting
        results.append(FeatureReadiness(
            feature=feature,
            enabled=feature.key in on,
            missing=tuple(r for r in own if not r.optional and r.function not in available),
            missing_optional=tuple(r for r in own if r.optional and r.function not in available),
            setting_off=setting_off,
        ))
    notes = []
    if site.version.isdigit() and int(site.version[:10]) < OLDEST_SUPPORTED_VERSION:
        notes.append(f"Moodle {site.release or site.version} is older than 4.1, the oldest "
                     "release lms-sidecar is tested with")
    return Readiness(site=site, service=service, features=tuple(results), notes=tuple(notes))
