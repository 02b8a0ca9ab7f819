"""Settings: TOML + environment + overrides, one-line errors naming the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import tomli_w

from connector.settings import ConfigError, load_settings


def test_partner_toml_is_loaded_and_paths_resolve_against_home(home: Path) -> None:
    s = load_settings("comune", home)
    assert (s.partner, s.port, s.pdp_backend) == ("comune", 8401, "regopy")
    assert s.resolved_data_dir == home / "var" / "comune"
    assert s.db_url == f"sqlite:///{home / 'var' / 'comune' / 'connector.db'}"


def test_environment_beats_toml_and_overrides_beat_environment(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMELLO_PORT", "9100")
    monkeypatch.setenv("GEMELLO_COMPUTE_EXECUTOR", "process")
    assert load_settings("fbk", home).port == 9100
    assert load_settings("fbk", home).compute_executor == "process"
    assert load_settings("fbk", home, port=9200).port == 9200


def test_database_url_from_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+psycopg://gemello@/twin?host=/tmp"
    monkeypatch.setenv("GEMELLO_DATABASE_URL", url)
    assert load_settings("cineca", home).db_url == url


@pytest.mark.parametrize(
    ("line", "key", "problem"),
    [
        ("port = 70000", "port", "less than or equal to 65535"),
        ('port = "eighty"', "port", "valid integer"),
        ('pdp_backend = "wasm"', "pdp_backend", "'regopy', 'opa-engine' or 'opa'"),
        (
            'compute_executor = "gpu"',
            "compute_executor",
            "'auto', 'inline', 'process', 'dask' or 'slurm'",
        ),
        ('database_url = "mysql://x"', "database_url", "sqlite:/// or postgresql"),
        ("colour = 3", "colour", "Extra inputs are not permitted"),
    ],
)
def test_bad_value_names_key_and_problem_on_one_line(
    home: Path, line: str, key: str, problem: str
) -> None:
    path = home / "deploy" / "partners" / "unibo.toml"
    data = tomllib.loads(path.read_text()) | tomllib.loads(line)
    path.write_text(tomli_w.dumps(data))
    with pytest.raises(ConfigError) as info:
        load_settings("unibo", home)
    message = str(info.value)
    assert "\n" not in message
    assert f"{key}:" in message
    assert problem in message


def test_a_bad_environment_value_is_blamed_on_its_variable(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 24, item 9: an error from GEMELLO_PORT was blamed on the partner's TOML file."""
    monkeypatch.setenv("GEMELLO_PORT", "-1")
    with pytest.raises(ConfigError) as info:
        load_settings("unibo", home)
    message = str(info.value)
    assert message == "GEMELLO_PORT: Input should be greater than or equal to 0 (got '-1')"
    assert "unibo.toml" not in message


def test_an_unknown_gemello_variable_is_warned_about_with_the_closest_name(
    home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 24, item 9: GEMELLO_PRT was ignored without a word."""
    from connector.settings import unknown_variables

    monkeypatch.setenv("GEMELLO_PRT", "9000")
    with caplog.at_level("WARNING", logger="gemello.settings"):
        settings = load_settings("unibo", home)
    assert settings.port == 8403  # ignored, as before, but no longer silently
    assert "GEMELLO_PRT is not a Gemello setting and is ignored; did you mean GEMELLO_PORT?" in (
        caplog.text
    )
    assert unknown_variables({"GEMELLO_HOME": "/x", "GEMELLO_TOKEN": "t", "PATH": "/bin"}) == []
    assert unknown_variables({"GEMELLO_ZZZZZZZZ": "1"}) == [
        "GEMELLO_ZZZZZZZZ is not a Gemello setting and is ignored"
    ]


def test_broken_toml_unknown_partner_and_mismatched_id(home: Path) -> None:
    (home / "deploy" / "partners" / "unibo.toml").write_text("partner = \n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings("unibo", home)
    with pytest.raises(ConfigError, match=r"no config for partner 'acme'.*known: \['cineca'"):
        load_settings("acme", home)
    (home / "deploy" / "partners" / "fbk.toml").write_text('partner = "unibo"\n')
    with pytest.raises(ConfigError, match="file says 'unibo', expected 'fbk'"):
        load_settings("fbk", home)


def test_default_shared_dir_is_beside_the_checkout(home: Path) -> None:
    from connector.settings import source_root

    assert load_settings("unibo", home).shared_dir == source_root().parent / "shared"


def test_settings_are_hashable_with_every_kind_of_value(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per-settings caches (the gazetteer's) hash the settings: a list-valued field once made
    every map and OGC result a 500. A Slurm set-up from the environment, as on CINECA's."""
    monkeypatch.setenv("GEMELLO_COMPUTE_EXECUTOR", "slurm")
    monkeypatch.setenv("GEMELLO_SLURM_JOB_EXTRA", '["--qos=normal", "--constraint=cpu"]')
    monkeypatch.setenv("GEMELLO_SLURM_WALLTIME", "1-00:30:00")
    settings = load_settings("unibo", home)
    assert settings.slurm_job_extra == ("--qos=normal", "--constraint=cpu")
    assert hash(settings) == hash(load_settings("unibo", home))
    monkeypatch.setenv("GEMELLO_SLURM_WALLTIME", "half an hour")
    with pytest.raises(ConfigError, match="GEMELLO_SLURM_WALLTIME"):
        load_settings("unibo", home)
