"""The server serves the contract's paths, spelled once in ``protocol.wire``."""

from __future__ import annotations

from pathlib import Path

from protocol.collections import COLLECTIONS
from protocol.wire import (
    API_PREFIX,
    BRANCHES_PATH,
    ENROLL_PATH,
    PULL_PATH,
    PUSH_PATH,
    SNAPSHOT_PATH,
    SOCKET_PATH,
    records_path,
)
from server.app import create_app
from server.settings import Settings


def test_the_app_serves_the_vocabulary_s_paths_and_no_other_api_path(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))  # built, not started: no database needed
    served = {
        path: set(methods) for path, methods in app.openapi()["paths"].items() if path.startswith(API_PREFIX)
    }
    expected = {ENROLL_PATH: {"post"}, BRANCHES_PATH: {"get"}, PUSH_PATH: {"post"}, PULL_PATH: {"get"}}
    expected[SNAPSHOT_PATH] = {"get"}
    for name in COLLECTIONS:
        expected[records_path(name)] = {"get", "post"}
        expected[f"{records_path(name)}/{{row_id}}"] = {"get", "patch", "delete"}
    assert served == expected
    assert app.url_path_for("sync_socket") == SOCKET_PATH
