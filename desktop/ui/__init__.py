"""The desktop window (PySide6): lists, forms, sync status, conflicts, enrolment.

Views read the cache through the models in ``models``; the engine reaches Qt only
through ``bridge.EngineBridge``; ``app.run_app`` is what ``branchsync`` runs.
"""
