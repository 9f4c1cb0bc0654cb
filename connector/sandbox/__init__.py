"""The sandbox LMS: a Moodle 4.5 web-service double on loopback, state in SQLite.

``create_app`` builds the Flask app, ``SandboxServer`` runs it on a free port in a thread.
"""

from __future__ import annotations

from connector.sandbox.app import create_app, faults_of, state_of
from connector.sandbox.faults import FaultConfig
from connector.sandbox.server import SandboxServer

__all__ = ["FaultConfig", "SandboxServer", "create_app", "faults_of", "state_of"]
