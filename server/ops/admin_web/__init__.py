"""The ``/admin`` dashboard: a small static page, admin logins and a JSON overview.

The router lives in ``server.ops.admin_web.routes``; this package imports nothing itself, so the
admin command line can use ``accounts`` without loading the web framework.
"""
