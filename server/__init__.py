"""The thin central server: FastAPI over PostgreSQL, the single source of truth."""
