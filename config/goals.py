"""The ``goals`` section: performance goals exported by HR, turned into Moodle learning plans.

lms-sidecar only carries what HR wrote; these settings say where the export is, how people are
named in it, which role lets a manager see an employee's plans, and what a withdrawn goal does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

PersonKey = Literal["email", "username", "idnumber"]


class GoalSettings(BaseModel):
    """Goals as learning plans (`sidecar goals plan|apply|report`)."""

    model_config = ConfigDict(extra="forbid")

    files: list[Path] = Field(
        default_factory=list,
        description="Goal exports from the HR or performance system (CSV or JSON; the README "
        "section 'Goals' has the columns); relative paths are relative to the config file's "
        "folder.",
    )
    employee_key: PersonKey = Field(
        default="email",
        description="How the export names employees: the Moodle user's email, username or "
        "idnumber.",
    )
    manager_key: PersonKey = Field(
        default="email", description="How the export names managers (email, username, idnumber)."
    )
    manager_role: int | None = Field(
        default=None,
        ge=1,
        description="Id of the Moodle role given to each goal's manager in the employee's user "
        "context, so that the manager sees the employee's plans (the role needs "
        "moodle/competency:planview, planviewdraft and usercompetencyview, and 'User' among "
        "its context types). Moodle's web services assign roles by id only: find it as roleid= "
        "in the address of Site administration > Users > Permissions > Define roles > the role. "
        "Empty: managers get no role.",
    )
    on_withdrawn: Literal["leave", "complete", "delete"] = Field(
        default="leave",
        description="What a goal marked withdrawn does to its plan: leave it as it is, "
        "complete it, or delete it.",
    )
    frameworks: list[str] = Field(
        default_factory=list,
        description="Idnumbers of the competency frameworks the export's competency idnumbers "
        "are looked up in; empty means every framework on the site. Write FRAMEWORK:idnumber in "
        "the export for an idnumber used in two frameworks.",
    )
    plan_status: Literal["draft", "active"] = Field(
        default="active",
        description="Status of a new plan: active (the learner works on it at once) or draft "
        "(the learner or manager approves it in Moodle first).",
    )
    timezone: str = Field(
        default="UTC",
        description="Time zone of dates written without a time (2026-06-30 is due at the end "
        "of that day there), e.g. Europe/Berlin.",
    )

    @field_validator("manager_role", mode="before")
    @classmethod
    def _role_id(cls, value: object) -> object:
        if isinstance(value, str) and value.strip() and not value.strip().isdigit():
            raise PydanticCustomError(
                "role_id",
                "expected the role's numeric id, not its short name {name!r}: Moodle's web "
                "services assign roles by id only and cannot look a short name up (the id is "
                "roleid= in the address of the role's page under Site administration > Users > "
                "Permissions > Define roles)",
                {"name": value.strip()},
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise PydanticCustomError(
                "timezone", "expected a time zone name such as UTC or Europe/Paris", {}
            ) from exc
        return value
