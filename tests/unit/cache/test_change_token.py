"""``change_token``: how the engine notices writes made by another process (an import)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from desktop.cache import Cache


def test_the_token_moves_when_someone_else_commits_and_only_then(data_dir: Path) -> None:
    with Cache(data_dir) as engine_side, Cache(data_dir) as ui_side:
        first = engine_side.change_token()
        engine_side.pending_count()  # reads commit nothing
        assert engine_side.change_token() == first

        ui_side.create("clients", {"name": "Ada"})
        second = engine_side.change_token()
        assert second != first

        script = "import sys; from pathlib import Path; from desktop.cache import Cache\n"
        script += "with Cache(Path(sys.argv[1])) as c: c.create('clients', {'name': 'Imported'})"
        subprocess.run([sys.executable, "-c", script, str(data_dir)], check=True, timeout=60)
        assert engine_side.change_token() != second
        assert engine_side.pending_count() == 2
