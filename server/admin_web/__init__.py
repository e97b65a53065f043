"""The ``/admin`` dashboard: a small static page, admin logins and a JSON overview."""

from server.admin_web.routes import router

__all__ = ["router"]
