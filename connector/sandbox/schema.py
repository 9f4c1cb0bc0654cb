"""The sandbox's SQLite schema: Moodle's own table and column names, only what the API needs."""

from __future__ import annotations

SCHEMA = """
CREATE TABLE config (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE context (id INTEGER PRIMARY KEY, contextlevel INTEGER NOT NULL,
    instanceid INTEGER NOT NULL, UNIQUE (contextlevel, instanceid));
CREATE TABLE user (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, password TEXT NOT NULL,
    firstname TEXT NOT NULL, lastname TEXT NOT NULL, email TEXT NOT NULL DEFAULT '',
    idnumber TEXT NOT NULL DEFAULT '', department TEXT NOT NULL DEFAULT '',
    institution TEXT NOT NULL DEFAULT '', city TEXT NOT NULL DEFAULT '',
    auth TEXT NOT NULL DEFAULT 'manual', suspended INTEGER NOT NULL DEFAULT 0,
    lang TEXT NOT NULL DEFAULT 'en', timezone TEXT NOT NULL DEFAULT '99',
    mailformat INTEGER NOT NULL DEFAULT 1, firstaccess INTEGER NOT NULL DEFAULT 0,
    lastaccess INTEGER NOT NULL DEFAULT 0, timecreated INTEGER NOT NULL DEFAULT 0,
    siteadmin INTEGER NOT NULL DEFAULT 0);
CREATE TABLE role (id INTEGER PRIMARY KEY, shortname TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    sortorder INTEGER NOT NULL, archetype TEXT NOT NULL DEFAULT '',
    contextlevels TEXT NOT NULL DEFAULT '', capabilities TEXT NOT NULL DEFAULT '');
CREATE TABLE role_assignments (id INTEGER PRIMARY KEY, roleid INTEGER NOT NULL,
    contextid INTEGER NOT NULL, userid INTEGER NOT NULL, timemodified INTEGER NOT NULL,
    UNIQUE (roleid, contextid, userid));
CREATE TABLE course_categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
    sortorder INTEGER NOT NULL);
CREATE TABLE course (id INTEGER PRIMARY KEY, category INTEGER NOT NULL, sortorder INTEGER NOT NULL,
    fullname TEXT NOT NULL, shortname TEXT NOT NULL, idnumber TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '', summaryformat INTEGER NOT NULL DEFAULT 1,
    format TEXT NOT NULL DEFAULT 'topics', showgrades INTEGER NOT NULL DEFAULT 1,
    newsitems INTEGER NOT NULL DEFAULT 5, startdate INTEGER NOT NULL DEFAULT 0,
    enddate INTEGER NOT NULL DEFAULT 0, visible INTEGER NOT NULL DEFAULT 1,
    enablecompletion INTEGER NOT NULL DEFAULT 0, timecreated INTEGER NOT NULL,
    timemodified INTEGER NOT NULL, cacherev INTEGER NOT NULL DEFAULT 0);
CREATE TABLE user_enrolments (id INTEGER PRIMARY KEY, courseid INTEGER NOT NULL,
    userid INTEGER NOT NULL, roleid INTEGER NOT NULL, status INTEGER NOT NULL DEFAULT 0,
    timestart INTEGER NOT NULL DEFAULT 0, timeend INTEGER NOT NULL DEFAULT 0,
    timecreated INTEGER NOT NULL, UNIQUE (courseid, userid));
CREATE TABLE user_lastaccess (id INTEGER PRIMARY KEY, userid INTEGER NOT NULL,
    courseid INTEGER NOT NULL, timeaccess INTEGER NOT NULL, UNIQUE (userid, courseid));
CREATE TABLE course_completion_criteria (id INTEGER PRIMARY KEY, course INTEGER NOT NULL,
    criteriatype INTEGER NOT NULL);
CREATE TABLE course_completion_crit_compl (id INTEGER PRIMARY KEY, userid INTEGER NOT NULL,
    course INTEGER NOT NULL, criteriaid INTEGER NOT NULL, timecompleted INTEGER,
    UNIQUE (userid, criteriaid));
CREATE TABLE course_completions (id INTEGER PRIMARY KEY, userid INTEGER NOT NULL,
    course INTEGER NOT NULL, timeenrolled INTEGER NOT NULL DEFAULT 0, timecompleted INTEGER,
    UNIQUE (userid, course));
CREATE TABLE scale (id INTEGER PRIMARY KEY, name TEXT NOT NULL, scale TEXT NOT NULL);
CREATE TABLE competency_framework (id INTEGER PRIMARY KEY, shortname TEXT NOT NULL,
    idnumber TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',
    descriptionformat INTEGER NOT NULL DEFAULT 1, visible INTEGER NOT NULL DEFAULT 1,
    scaleid INTEGER NOT NULL, scaleconfiguration TEXT NOT NULL, contextid INTEGER NOT NULL,
    taxonomies TEXT NOT NULL DEFAULT '', timecreated INTEGER NOT NULL,
    timemodified INTEGER NOT NULL, usermodified INTEGER NOT NULL);
CREATE TABLE competency (id INTEGER PRIMARY KEY, shortname TEXT NOT NULL, idnumber TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '', descriptionformat INTEGER NOT NULL DEFAULT 1,
    sortorder INTEGER NOT NULL, parentid INTEGER NOT NULL, path TEXT NOT NULL,
    ruleoutcome INTEGER NOT NULL DEFAULT 0, ruletype TEXT, ruleconfig TEXT, scaleid INTEGER,
    scaleconfiguration TEXT, competencyframeworkid INTEGER NOT NULL,
    timecreated INTEGER NOT NULL, timemodified INTEGER NOT NULL, usermodified INTEGER NOT NULL,
    UNIQUE (competencyframeworkid, idnumber));
CREATE INDEX competency_siblings ON competency (competencyframeworkid, parentid, sortorder);
CREATE TABLE competency_relatedcomp (id INTEGER PRIMARY KEY, competencyid INTEGER NOT NULL,
    relatedcompetencyid INTEGER NOT NULL, timecreated INTEGER NOT NULL,
    timemodified INTEGER NOT NULL, usermodified INTEGER NOT NULL,
    UNIQUE (competencyid, relatedcompetencyid));
CREATE TABLE competency_coursecomp (id INTEGER PRIMARY KEY, courseid INTEGER NOT NULL,
    competencyid INTEGER NOT NULL, sortorder INTEGER NOT NULL, ruleoutcome INTEGER NOT NULL,
    timecreated INTEGER NOT NULL, timemodified INTEGER NOT NULL, usermodified INTEGER NOT NULL,
    UNIQUE (courseid, competencyid));
CREATE TABLE competency_template (id INTEGER PRIMARY KEY, shortname TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '', descriptionformat INTEGER NOT NULL DEFAULT 1,
    duedate INTEGER NOT NULL DEFAULT 0, visible INTEGER NOT NULL DEFAULT 1,
    contextid INTEGER NOT NULL, timecreated INTEGER NOT NULL, timemodified INTEGER NOT NULL,
    usermodified INTEGER NOT NULL);
CREATE TABLE competency_templatecomp (id INTEGER PRIMARY KEY, templateid INTEGER NOT NULL,
    competencyid INTEGER NOT NULL, sortorder INTEGER NOT NULL, timecreated INTEGER NOT NULL,
    UNIQUE (templateid, competencyid));
CREATE TABLE competency_plan (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '', descriptionformat INTEGER NOT NULL DEFAULT 1,
    userid INTEGER NOT NULL, templateid INTEGER, origtemplateid INTEGER,
    status INTEGER NOT NULL DEFAULT 0, duedate INTEGER NOT NULL DEFAULT 0, reviewerid INTEGER,
    timecreated INTEGER NOT NULL, timemodified INTEGER NOT NULL, usermodified INTEGER NOT NULL);
CREATE TABLE competency_plancomp (id INTEGER PRIMARY KEY, planid INTEGER NOT NULL,
    competencyid INTEGER NOT NULL, sortorder INTEGER NOT NULL, timecreated INTEGER NOT NULL,
    UNIQUE (planid, competencyid));
CREATE TABLE competency_usercomp (id INTEGER PRIMARY KEY, userid INTEGER NOT NULL,
    competencyid INTEGER NOT NULL, status INTEGER NOT NULL DEFAULT 0, reviewerid INTEGER,
    proficiency INTEGER, grade INTEGER, timecreated INTEGER NOT NULL,
    timemodified INTEGER NOT NULL, usermodified INTEGER NOT NULL,
    UNIQUE (userid, competencyid));
CREATE TABLE competency_usercompplan (id INTEGER PRIMARY KEY, userid INTEGER NOT NULL,
    competencyid INTEGER NOT NULL, proficiency INTEGER, grade INTEGER, planid INTEGER NOT NULL,
    sortorder INTEGER NOT NULL, timecreated INTEGER NOT NULL, timemodified INTEGER NOT NULL,
    usermodified INTEGER NOT NULL);
CREATE TABLE competency_evidence (id INTEGER PRIMARY KEY, usercompetencyid INTEGER NOT NULL,
    contextid INTEGER NOT NULL, action INTEGER NOT NULL, actionuserid INTEGER,
    descidentifier TEXT NOT NULL, desccomponent TEXT NOT NULL, desca TEXT, url TEXT,
    grade INTEGER, note TEXT, timecreated INTEGER NOT NULL, timemodified INTEGER NOT NULL,
    usermodified INTEGER NOT NULL);
CREATE TABLE cohort (id INTEGER PRIMARY KEY, contextid INTEGER NOT NULL, name TEXT NOT NULL,
    idnumber TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',
    descriptionformat INTEGER NOT NULL DEFAULT 1, visible INTEGER NOT NULL DEFAULT 1,
    theme TEXT NOT NULL DEFAULT '', timecreated INTEGER NOT NULL);
CREATE TABLE cohort_members (id INTEGER PRIMARY KEY, cohortid INTEGER NOT NULL,
    userid INTEGER NOT NULL, timeadded INTEGER NOT NULL, UNIQUE (cohortid, userid));
CREATE TABLE event (id INTEGER PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL,
    format INTEGER NOT NULL, courseid INTEGER NOT NULL, groupid INTEGER NOT NULL,
    userid INTEGER NOT NULL, eventtype TEXT NOT NULL, timestart INTEGER NOT NULL,
    timeduration INTEGER NOT NULL, visible INTEGER NOT NULL, sequence INTEGER NOT NULL,
    timemodified INTEGER NOT NULL);
CREATE TABLE message_conversations (id INTEGER PRIMARY KEY, type INTEGER NOT NULL,
    convhash TEXT NOT NULL UNIQUE, timecreated INTEGER NOT NULL);
CREATE TABLE message_conversation_members (id INTEGER PRIMARY KEY,
    conversationid INTEGER NOT NULL, userid INTEGER NOT NULL);
CREATE TABLE messages (id INTEGER PRIMARY KEY, useridfrom INTEGER NOT NULL,
    conversationid INTEGER NOT NULL, subject TEXT NOT NULL, fullmessage TEXT NOT NULL,
    fullmessageformat INTEGER NOT NULL, fullmessagehtml TEXT NOT NULL,
    smallmessage TEXT NOT NULL, timecreated INTEGER NOT NULL);
CREATE TABLE message_user_actions (id INTEGER PRIMARY KEY, userid INTEGER NOT NULL,
    messageid INTEGER NOT NULL, action INTEGER NOT NULL, timecreated INTEGER NOT NULL);
CREATE TABLE external_services (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
    shortname TEXT NOT NULL UNIQUE, enabled INTEGER NOT NULL DEFAULT 1);
CREATE TABLE external_services_functions (id INTEGER PRIMARY KEY,
    externalserviceid INTEGER NOT NULL, functionname TEXT NOT NULL,
    UNIQUE (externalserviceid, functionname));
CREATE TABLE external_tokens (id INTEGER PRIMARY KEY, token TEXT NOT NULL UNIQUE,
    userid INTEGER NOT NULL, externalserviceid INTEGER NOT NULL,
    validuntil INTEGER NOT NULL DEFAULT 0, callsleft INTEGER, timecreated INTEGER NOT NULL,
    lastaccess INTEGER NOT NULL DEFAULT 0);
CREATE TABLE reportbuilder_report (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
    source TEXT NOT NULL, conditiondata TEXT NOT NULL, courseidnumber TEXT,
    contextid INTEGER NOT NULL, usercreated INTEGER NOT NULL, timecreated INTEGER NOT NULL,
    timemodified INTEGER NOT NULL);
"""

CONTEXT_SYSTEM = 10
CONTEXT_USER = 30
CONTEXT_COURSE = 50
