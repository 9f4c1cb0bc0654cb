"""Web-service function declarations: name, parameter spec, handler, the capability it needs.

Each Moodle area module builds one :class:`Area` and declares its functions with
:meth:`Area.function`; the REST endpoint looks them up by name, validates parameters once with
the shared code in :mod:`connector.sandbox.params`, and calls the handler with a :class:`Call`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.sandbox.errors import CapabilityError
from connector.sandbox.params import Single, Spec
from connector.sandbox.state import Db, SandboxState

MOODLE_VERSION = "2024100706"


@dataclass(frozen=True)
class Call:
    """One authenticated web-service call: who calls, the database, the clock."""

    state: SandboxState
    db: Db
    user: dict[str, Any]
    function: str

    @property
    def userid(self) -> int:
        return int(self.user["id"])

    @property
    def is_admin(self) -> bool:
        return bool(self.user["siteadmin"])

    @property
    def now(self) -> int:
        return self.state.clock.now()

    @property
    def site_url(self) -> str:
        return self.state.settings.site_url

    def require_admin(self, capability_name: str) -> None:
        """Refuse a non-admin with Moodle's ``nopermissions`` naming the capability."""
        if not self.is_admin:
            raise CapabilityError(capability_name)


Handler = Callable[[Call, dict[str, Any]], Any]


@dataclass(frozen=True)
class WsFunction:
    """One Moodle external function as the sandbox implements it."""

    name: str
    params: Single
    handler: Handler
    capability: str | None


@dataclass
class Area:
    """The functions of one Moodle area (component), e.g. ``core_competency``."""

    name: str
    functions: dict[str, WsFunction] = field(default_factory=dict)

    def function(
        self, name: str, params: Mapping[str, Spec], *, capability: str | None = None
    ) -> Callable[[Handler], Handler]:
        """Declare ``name`` with its parameters; ``capability`` names what non-admins lack."""

        def register(handler: Handler) -> Handler:
            self.functions[name] = WsFunction(name, Single(params), handler, capability)
            return handler

        return register
