"""PostgreSQL: the engine, the schema (tables, row codec, Alembic migrations), the
change log and record reads everyone above shares, and the embedded cluster used when
no ``DATABASE_URL`` is given. Knows nothing of HTTP."""
