"""Build what Moodle would hold for a framework, for planner tests without a site."""

from __future__ import annotations

import json

from connector.moodle import models as m
from connector.moodle.text import format_string
from sync.actual import ActualFramework
from sync.model import Framework


def held(fw: Framework, *, framework_id: int = 7, first_id: int = 100) -> ActualFramework:
    """``fw`` as Moodle stores it after a faithful create: names through format_string,
    points-rule configs with Moodle ids, sortorder per parent in source order."""
    scale = fw.scale
    assert scale is not None
    framework = m.CompetencyFramework(
        id=framework_id, shortname=format_string(fw.shortname), idnumber=fw.idnumber,
        description=fw.description, descriptionformat=int(fw.descriptionformat),
        visible=fw.visible, scaleid=scale.scale_id or 2,
        scaleconfiguration=scale.configuration(), contextid=1,
        taxonomies=",".join(fw.taxonomies))
    ids = {c.idnumber: first_id + n for n, c in enumerate(fw.iter_tree())}
    rows = []
    for c in fw.iter_tree():
        ancestors = []
        parent = c.parent
        while parent is not None:
            ancestors.insert(0, ids[parent])
            parent = fw.get(parent).parent
        siblings = [s.idnumber for s in fw.children_of(c.parent)]
        config = c.rule_config
        if config:
            data = json.loads(config)
            for entry in data["competencies"]:
                entry["id"] = ids[entry["id"]]
            config = json.dumps(data)
        rows.append(m.Competency(
            id=ids[c.idnumber], shortname=format_string(c.shortname), idnumber=c.idnumber,
            description=c.description, descriptionformat=int(c.descriptionformat),
            sortorder=siblings.index(c.idnumber),
            parentid=ids[c.parent] if c.parent else 0,
            path="/" + "/".join(["0", *map(str, ancestors)]) + "/",
            ruletype=c.rule_type, ruleoutcome=int(c.rule_outcome), ruleconfig=config,
            scaleid=c.scale.scale_id if c.scale else None,
            scaleconfiguration=c.scale.configuration() if c.scale else None,
            competencyframeworkid=framework_id))
    return ActualFramework(framework, tuple(rows))


def replace_row(actual: ActualFramework, idnumber: str, **changes: object) -> ActualFramework:
    rows = tuple(r.model_copy(update=changes) if r.idnumber == idnumber else r
                 for r in actual.competencies)
    return ActualFramework(actual.framework, rows)
