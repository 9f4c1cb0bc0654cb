"""Moodle's exceptions as the web-service layer reports them (class, errorcode, message, debuginfo).

Each class carries the PHP class name that Moodle puts in the ``exception`` key, so that the
sandbox answers with exactly the bodies recorded from a real Moodle 4.5 site.
"""

from __future__ import annotations

ACCESS_DEBUGINFO = """Access to the function {name}() is not allowed.
                     There could be multiple reasons for this:
                     1. The service linked to the user token does not contain the function.
                     2. The service is user-restricted and the user is not listed.
                     3. The service is IP-restricted and the user IP is not listed.
                     4. The service is time-restricted and the time has expired.
                     5. The token is time-restricted and the time has expired.
                     6. The service requires a specific capability which the user does not have.
                     7. The function is called with username/password (no user token is sent)
                     and none of the services has the function to allow the user.
                     These settings can be found in Administration > Site administration
                     > Server > Web services > External services and Manage tokens."""


class MoodleError(Exception):
    """An error Moodle reports with HTTP 200 and an exception body."""

    exception_class = "core\\exception\\moodle_exception"

    def __init__(self, errorcode: str | None, message: str, debuginfo: str | None = None) -> None:
        super().__init__(message)
        self.errorcode = errorcode
        self.message = message
        self.debuginfo = debuginfo


class InvalidParameterError(MoodleError):
    """``invalid_parameter_exception``: the reason is only in debuginfo."""

    exception_class = "core\\exception\\invalid_parameter_exception"

    def __init__(self, debuginfo: str | None = None) -> None:
        super().__init__("invalidparameter", "Invalid parameter value detected", debuginfo)


class MissingRecordError(MoodleError):
    """``dml_missing_record_exception`` naming the table (``get_record`` with MUST_EXIST)."""

    exception_class = "dml_missing_record_exception"

    def __init__(self, table: str, where: str = "id", value: object = None) -> None:
        shown = f"'{value}'" if isinstance(value, str) else str(value)
        query = "SELECT * FROM {" + table + "} WHERE " + where + " = ?"  # noqa: S608 - text of a message
        debuginfo = f"{query}\n[array (\n  0 => {shown},\n)]"
        super().__init__(
            "invalidrecord", f"Can't find data record in database table {table}.", debuginfo
        )


class AccessError(MoodleError):
    """``webservice_access_exception`` (function not in the token's service, expired token)."""

    exception_class = "webservice_access_exception"

    def __init__(self, debuginfo: str) -> None:
        super().__init__("accessexception", "Access control exception", debuginfo)


class PersistentError(MoodleError):
    """``invalid_persistent_exception``: a persistent refused to validate (duplicates...)."""

    exception_class = "core\\invalid_persistent_exception"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__("invalidpersistenterror", f"Error: {reason}", f"{field}: {reason}")


class CodingError(MoodleError):
    """``coding_exception``: Moodle refuses an operation its API forbids."""

    exception_class = "core\\exception\\coding_exception"

    def __init__(self, detail: str) -> None:
        super().__init__(
            "codingerror",
            f"Coding error detected, it must be fixed by a programmer: {detail}",
        )


class CapabilityError(MoodleError):
    """``required_capability_exception``: the token's user lacks a capability."""

    exception_class = "core\\exception\\required_capability_exception"

    def __init__(self, capability_name: str) -> None:
        super().__init__(
            "nopermissions",
            "Sorry, but you do not currently have permissions to do that "
            f"({capability_name}).",
        )


class PhpError(MoodleError):
    """A bare PHP ``Error`` escaping Moodle's code: no errorcode, no debuginfo."""

    exception_class = "Error"

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


def invalid_token() -> MoodleError:
    """Moodle's answer to a missing, unknown or deleted token."""
    return MoodleError("invalidtoken", "Invalid token - token not found")
