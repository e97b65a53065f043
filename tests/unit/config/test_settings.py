"""The pure rules: which settings each file may hold, their checks, and how pins win."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from desktop.config.errors import InvalidSetting
from desktop.config.settings import (
    MAX_CODE,
    MAX_NAME,
    Layer,
    Setting,
    merge_layers,
    parse_machine,
    parse_user,
)
from protocol.messages import EnrollRequest

MACHINE = Path("/etc/branchsync/config.toml")
USER = Path("/home/ana/.config/branchsync/config.toml")


def test_machine_file_pins_everything_it_sets_by_default() -> None:
    layer = parse_machine({"server_url": "https://sync.example.com/", "display_name": "Till 1"}, MACHINE)
    assert layer.values == {Setting.SERVER_URL: "https://sync.example.com", Setting.DISPLAY_NAME: "Till 1"}
    assert layer.pinned == {Setting.SERVER_URL, Setting.DISPLAY_NAME}


def test_explicit_pinned_list_leaves_the_rest_to_the_user() -> None:
    it_file = {"server_url": "https://sync.example.com", "display_name": "Till 1", "pinned": ["server_url"]}
    machine = parse_machine(it_file, MACHINE)
    user = parse_user({"server_url": "https://evil.example.net", "display_name": "Ana's PC"}, USER)
    config = merge_layers(machine, user)
    assert config.server_url == "https://sync.example.com"
    assert config.display_name == "Ana's PC"
    assert config.ignored == {Setting.SERVER_URL}
    assert config.is_pinned(Setting.SERVER_URL) and not config.is_pinned(Setting.DISPLAY_NAME)
    assert config.sources == {Setting.SERVER_URL: MACHINE, Setting.DISPLAY_NAME: USER}


def test_user_file_alone_configures_an_unmanaged_pc() -> None:
    config = merge_layers(Layer(), parse_user({"server_url": "http://127.0.0.1:8000"}, USER))
    assert config.server_url == "http://127.0.0.1:8000"
    assert config.pinned == frozenset() and config.ignored == frozenset()
    assert config.machine_file is None and config.user_file == USER


def test_pinned_ca_bundle_cannot_be_swapped_by_the_user() -> None:
    machine = parse_machine({"ca_bundle": "company-ca.pem"}, MACHINE)
    config = merge_layers(machine, parse_user({"ca_bundle": "/tmp/mitm.pem"}, USER))
    assert config.ca_bundle == Path("/etc/branchsync/company-ca.pem")  # relative to IT's file
    assert config.ignored == {Setting.CA_BUNDLE}


def test_empty_strings_mean_not_set() -> None:
    it_file = {"server_url": "https://a.example", "enroll_code": "  ", "display_name": ""}
    layer = parse_machine(it_file, MACHINE)
    assert layer.values == {Setting.SERVER_URL: "https://a.example"}
    assert merge_layers(layer, Layer()).enroll_code is None


def test_enroll_code_is_for_it_only() -> None:
    with pytest.raises(InvalidSetting, match="enroll_code: not a setting this file may hold") as caught:
        parse_user({"enroll_code": "ABC"}, USER)
    assert caught.value.path == USER and caught.value.key == "enroll_code"


@pytest.mark.parametrize(
    ("document", "key", "words"),
    [
        ({"server_url": "sync.example.com"}, "server_url", "is not an https:// (or http://) URL"),
        ({"server_url": "ftp://sync.example.com"}, "server_url", "is not an https://"),
        ({"server_url": "https://sync.example.com/?x=1"}, "server_url", "query or fragment"),
        ({"server_url": "https://sync.example.com:99999"}, "server_url", "out of range"),
        ({"server_url": 443}, "server_url", "must be a string, not int"),
        ({"serverurl": "https://a.example"}, "serverurl", "not a setting this file may hold"),
        ({"enroll_code": "x" * (MAX_CODE + 1)}, "enroll_code", f"longer than {MAX_CODE}"),
        ({"display_name": "x" * (MAX_NAME + 1)}, "display_name", f"longer than {MAX_NAME}"),
        ({"pinned": "server_url"}, "pinned", "must be a list of setting names"),
        ({"pinned": ["server_url", "colour"]}, "pinned", "unknown setting(s) colour"),
        ({"proxy": {"url": "x"}}, "proxy", "not a setting"),
    ],
)
def test_bad_values_name_the_file_and_the_setting(document: dict[str, object], key: str, words: str) -> None:
    with pytest.raises(InvalidSetting) as caught:
        parse_machine(document, MACHINE)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{MACHINE}: {key}: ")
    assert words in str(caught.value)


def test_length_limits_match_what_the_server_accepts() -> None:
    EnrollRequest(code="c" * MAX_CODE, device_name="n" * MAX_NAME)
    with pytest.raises(ValidationError):
        EnrollRequest(code="c" * (MAX_CODE + 1), device_name="n")
    with pytest.raises(ValidationError):
        EnrollRequest(code="c", device_name="n" * (MAX_NAME + 1))
