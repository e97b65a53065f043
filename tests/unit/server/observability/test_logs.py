"""Structured logs: JSON lines, request ids and secrets that never reach a log."""

from __future__ import annotations

import io
import json
import logging

import pytest

from server.identity.credentials import new_code, new_token
from server.observability.logs import JsonFormatter, TextFormatter, configure_logging, redact


def test_tokens_codes_and_credentials_are_scrubbed() -> None:
    token, code = new_token(), new_code()
    text = redact(
        f"token {token} header 'Authorization: Bearer {token}' code {code} lower {code.lower()} "
        f'body {{"code": "{code.replace("-", "")}", "password": "hunter2 hunter2"}} '
        "cookie branchsync_admin=abc123"
    )
    assert token not in text and token[4:] not in text
    assert code not in text and code.lower() not in text and code.replace("-", "") not in text
    assert "hunter2" not in text and "abc123" not in text
    assert '"code": "too_long"' in redact('{"code": "too_long"}')  # error codes stay readable


def _record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("server.test", logging.WARNING, __file__, 1, message, args, exc_info)


def test_json_formatter_writes_one_object_per_record() -> None:
    token = new_token()
    try:
        raise ValueError(f"bad token {token}")
    except ValueError as exc:
        line = JsonFormatter().format(_record("device %s refused", token, exc=exc))
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "server.test"
    assert entry["message"] == "device bsd_[redacted] refused"
    assert "ValueError" in entry["error"] and token not in line
    assert "\n" not in line


def test_text_formatter_scrubs_too() -> None:
    code = new_code()
    assert code not in TextFormatter().format(_record("enrolled with %s", code))


@pytest.mark.parametrize(("tty", "json_lines"), [(False, True), (True, False)])
def test_configure_logging_picks_json_unless_on_a_terminal(tty: bool, json_lines: bool) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    stream = Stream()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging(stream=stream)
        logging.getLogger("server.cli").info("started on %s", "http://127.0.0.1:8000")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    line = stream.getvalue().strip()
    assert ("started on http://127.0.0.1:8000" in line) and (line.startswith("{") == json_lines)
