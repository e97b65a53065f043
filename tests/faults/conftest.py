"""The engine's fixtures: ``proxy`` (in front of the live server), ``north`` and ``south`` PCs,
and no OS keyring for any test here."""

from tests.support.engine_fixtures import no_os_keyring, north, proxy, south

__all__ = ["no_os_keyring", "north", "proxy", "south"]
