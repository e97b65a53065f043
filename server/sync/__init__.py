"""The sync data path: the pure write plan, the write transaction that applies it,
the change log that pulls and the fan-out read, and the REST resources' reads."""
