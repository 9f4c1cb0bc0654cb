"""Performance goals from HR into the LMS: read, plan, apply, report.

``GoalSync`` (:mod:`sync.goals.job`) is the entry point, over one
:class:`~sync.goals.target.GoalTarget` per LMS: Moodle learning plans
(:mod:`sync.goals.moodle`) or Totara perform goals (:mod:`sync.goals.totara`). The export
format is in the README (section "Goals") and :mod:`sync.goals.reader`.
"""

from sync.goals.job import GoalSync
from sync.goals.model import Goal, GoalStatus
from sync.goals.planner import GoalOptions, plan_goals
from sync.goals.reader import read_goals
from sync.goals.target import GoalTarget

__all__ = ["Goal", "GoalOptions", "GoalStatus", "GoalSync", "GoalTarget", "plan_goals",
           "read_goals"]
