"""``branchsync demo``: a local server and two branch windows side by side, and what it ships.

``app`` runs the demo (Qt); ``server_process`` starts and administers the server in a
child process; ``link_proxy`` is the link relay whose switch cuts a branch off (the fault
tests put it between an engine and a server too); ``sample_data`` makes plausible clients
and appointments. Nothing here is imported by the app or the command line until
``branchsync demo`` runs, and this package imports nothing itself (so the sample data
and the relay load without Qt).
"""
