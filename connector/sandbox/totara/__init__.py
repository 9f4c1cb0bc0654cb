"""The sandbox playing a Totara site: OAuth2 token endpoint, external GraphQL API, per-release
operation sets, and the legacy web services Totara keeps (no ``core_competency_*``)."""
