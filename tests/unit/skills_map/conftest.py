"""Small fixed catalogues for the skills-map unit tests (no LMS needed)."""

from __future__ import annotations

import pytest

from connector.moodle import models as m
from skills_map.catalogue import Catalogue


def competency(id: int, idnumber: str, framework_id: int, *, parent: int = 0,
               path: str = "/0/", name: str = "") -> m.Competency:
    return m.Competency(id=id, shortname=name or idnumber, idnumber=idnumber,
                        competencyframeworkid=framework_id, parentid=parent, path=path)


def framework(id: int, idnumber: str) -> m.CompetencyFramework:
    return m.CompetencyFramework(id=id, shortname=idnumber, idnumber=idnumber, scaleid=2,
                                 scaleconfiguration="[]", contextid=1)


def course(id: int, shortname: str, idnumber: str = "", fullname: str = "") -> m.Course:
    return m.Course(id=id, shortname=shortname, fullname=fullname or shortname,
                    idnumber=idnumber)


def link(course_id: int, comp: m.Competency, link_id: int, outcome: int = 1
         ) -> m.CourseCompetency:
    return m.CourseCompetency(competency=comp, coursecompetency=m.CourseCompetencyLink(
        id=link_id, courseid=course_id, competencyid=comp.id, ruleoutcome=outcome))


@pytest.fixture
def catalogue() -> Catalogue:
    """Two frameworks (SKILLS with a domain and two children, OTHER sharing one idnumber)
    and three courses."""
    skills = (competency(1, "COMM", 10, name="Communication"),
              competency(2, "COMM-WRITE", 10, parent=1, path="/0/1/", name="Writes clearly"),
              competency(3, "COMM-LISTEN", 10, parent=1, path="/0/1/", name="Listens"),
              competency(4, "SHARED", 10))
    other = (competency(5, "SHARED", 11), competency(6, "SAFE-FIRE", 11))
    return Catalogue(
        courses=(course(101, "COMM-160", "C160"), course(102, "COMM-220"),
                 course(103, "SAFE-120")),
        frameworks=(framework(10, "SKILLS"), framework(11, "OTHER")),
        competencies={"SKILLS": skills, "OTHER": other})
