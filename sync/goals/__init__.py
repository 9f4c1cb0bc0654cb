"""Performance goals from HR as Moodle learning plans: read, plan, apply, report.

``GoalSync`` (:mod:`sync.goals.job`) is the entry point; the export format is in the README
(section "Goals") and :mod:`sync.goals.reader`.
"""

from sync.goals.job import GoalSync
from sync.goals.model import Goal, GoalStatus
from sync.goals.planner import GoalOptions, plan_goals
from sync.goals.reader import read_goals

__all__ = ["Goal", "GoalOptions", "GoalStatus", "GoalSync", "plan_goals",
           "read_goals"]
