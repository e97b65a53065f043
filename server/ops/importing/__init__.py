"""``branchsync-server import``: moving a company's records in from its old system."""
