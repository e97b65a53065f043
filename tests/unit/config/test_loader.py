"""``load_config`` against real files: malformed files, the CA bundle, the one-time code."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import trustme

from desktop.config import (
    ConfigError,
    EffectiveConfig,
    InvalidSetting,
    MalformedConfig,
    Setting,
    code_was_used,
    load_config,
    machine_config_path,
    mark_code_used,
    user_config_path,
)
from desktop.config.enroll_code import USED_CODES_FILENAME

Files = tuple[Path, Path, Path]


@pytest.fixture
def files(tmp_path: Path) -> Files:
    """(machine file, user file, data dir) paths in a temporary directory, not yet written."""
    (tmp_path / "etc").mkdir()
    return tmp_path / "etc" / "config.toml", tmp_path / "user.toml", tmp_path / "data"


def load(files: Files) -> EffectiveConfig:
    machine, user, data = files
    return load_config(data, machine_path=machine, user_path=user)


def test_no_files_is_an_empty_config(files: Files) -> None:
    config = load(files)
    assert (config.server_url, config.enroll_code, config.ca_bundle, config.display_name) == (None,) * 4
    assert config.machine_file is None and config.user_file is None


def test_it_pins_and_the_user_fills_in(files: Files) -> None:
    machine, user, _ = files
    machine.write_text(
        'server_url = "https://sync.example.com"\nenroll_code = "K7-42"\npinned = ["server_url"]\n'
    )
    user.write_text('server_url = "https://elsewhere.example"\ndisplay_name = "Reception"\n')
    config = load(files)
    assert config.server_url == "https://sync.example.com"
    assert config.enroll_code == "K7-42"
    assert config.display_name == "Reception"
    assert config.ignored == {Setting.SERVER_URL}
    assert (config.machine_file, config.user_file) == (machine, user)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'server_url = "https://a.example', "not valid TOML: "),
        (b"server_url = https://a.example\n", "(at line 1, column 14)"),
        (b'server_url = "https://a.example"\nserver_url = "https://b.example"\n', "not valid TOML"),
        (b'display_name = "Caf\xe9"\n', "not UTF-8 text (byte 19)"),
    ],
)
def test_a_malformed_file_is_a_clear_error(files: Files, content: bytes, words: str) -> None:
    machine, _, _ = files
    machine.write_bytes(content)
    with pytest.raises(MalformedConfig) as caught:
        load(files)
    assert caught.value.path == machine
    assert str(caught.value).startswith(f"{machine}: ") and words in str(caught.value)


def test_a_broken_user_file_names_the_user_file(files: Files) -> None:
    _, user, _ = files
    user.write_text('ca_bundle = ["a", "b"]\n')
    with pytest.raises(InvalidSetting, match="ca_bundle: must be a string, not list") as caught:
        load(files)
    assert caught.value.path == user


def test_a_directory_where_the_file_should_be_is_an_error(files: Files) -> None:
    machine, _, _ = files
    machine.mkdir()
    with pytest.raises(MalformedConfig, match="cannot read it"):
        load(files)


def test_the_ca_bundle_is_checked_at_load(files: Files) -> None:
    machine, _, _ = files
    machine.write_text('ca_bundle = "missing.pem"\n')
    with pytest.raises(InvalidSetting, match=r"cannot use .*missing\.pem as a PEM CA bundle") as caught:
        load(files)
    assert caught.value.path == machine and caught.value.key == "ca_bundle"
    (machine.parent / "missing.pem").write_text("not a certificate\n")
    with pytest.raises(ConfigError, match="ca_bundle: cannot use"):
        load(files)


def test_a_good_ca_bundle_next_to_the_file(files: Files) -> None:
    machine, _, _ = files
    trustme.CA().cert_pem.write_to_path(str(machine.parent / "ca.pem"))
    machine.write_text('ca_bundle = "ca.pem"\n')
    assert load(files).ca_bundle == machine.parent / "ca.pem"


def test_the_code_is_used_once_per_data_dir_and_the_file_is_left_alone(files: Files) -> None:
    machine, user, data = files
    machine.write_text('server_url = "https://sync.example.com"\nenroll_code = "K7-42"\n')
    machine.chmod(0o444)
    before = machine.read_bytes()
    mark_code_used(data, "K7-42")
    assert load(files).enroll_code is None
    assert load(files).server_url == "https://sync.example.com"
    assert machine.read_bytes() == before
    elsewhere = load_config(data.parent / "other-data", machine_path=machine, user_path=user)
    assert elsewhere.enroll_code == "K7-42"
    record = (data / USED_CODES_FILENAME).read_text()
    assert "K7-42" not in record  # only a digest is kept
    assert stat.S_IMODE((data / USED_CODES_FILENAME).stat().st_mode) == 0o600


def test_a_new_code_from_it_is_offered_again(files: Files) -> None:
    machine, _, data = files
    mark_code_used(data, "K7-42")
    mark_code_used(data, "K7-42")
    machine.write_text('enroll_code = "Q9-17"\n')
    assert load(files).enroll_code == "Q9-17"
    mark_code_used(data, "Q9-17")
    assert code_was_used(data, "K7-42") and code_was_used(data, "Q9-17")
    assert load(files).enroll_code is None


def test_a_damaged_record_offers_the_code_again(files: Files) -> None:
    _, _, data = files
    data.mkdir()
    (data / USED_CODES_FILENAME).write_text("{not json")
    assert not code_was_used(data, "K7-42")
    mark_code_used(data, "K7-42")
    assert code_was_used(data, "K7-42")


def test_default_locations() -> None:
    assert machine_config_path({}, platform="linux") == Path("/etc/branchsync/config.toml")
    assert machine_config_path({"BRANCHSYNC_MACHINE_CONFIG": "/x/it.toml"}) == Path("/x/it.toml")
    assert machine_config_path({}, platform="win32").name == "config.toml"
    assert user_config_path({"BRANCHSYNC_USER_CONFIG": "/x/me.toml"}) == Path("/x/me.toml")
    assert user_config_path({}).parts[-2:] == ("branchsync", "config.toml")


def test_data_dir_defaults_to_the_environment(files: Files, tmp_path: Path) -> None:
    machine, user, data = files
    machine.write_text('enroll_code = "K7-42"\n')
    mark_code_used(data, "K7-42")
    env = {
        "BRANCHSYNC_DATA_DIR": str(data),
        "BRANCHSYNC_MACHINE_CONFIG": str(machine),
        "BRANCHSYNC_USER_CONFIG": str(user),
    }
    assert load_config(environ=env).enroll_code is None
    assert load_config(environ={**env, "BRANCHSYNC_DATA_DIR": str(tmp_path / "fresh")}).enroll_code == "K7-42"
