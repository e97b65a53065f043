"""Record forms: editors per field kind, inline protocol errors, changes from elsewhere."""
