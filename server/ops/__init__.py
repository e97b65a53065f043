"""Running the server as an operator: branch/code/device administration, backups and
their schedule, housekeeping of old records, and the ``/admin`` dashboard."""
