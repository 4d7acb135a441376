from __future__ import annotations

from pathlib import Path

import pytest

from services.settings import ConfigError, load_settings


def test_defaults_are_those_of_metrics_md() -> None:
    rules = load_settings().rules()
    assert dict(rules.sl_seconds) == {
        "phone": 20,
        "webchat": 60,
        "video": 60,
        "face_to_face": 900,
        "social": 86400,
        "email": 432000,
    }
    assert dict(rules.unit_costs) == {"face_to_face": 8.62, "phone": 2.83, "web": 0.15}
    assert (rules.short_abandon_seconds, rules.contact_timeout_seconds, rules.fcr_window_days) == (5, 86400, 7)


def test_toml_merges_into_defaults_and_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "short_abandon_seconds = 8\nfcr_window_days = 14\n[sl_seconds]\nphone = 30\n[unit_costs]\nemail = 1.2\n"
    )
    monkeypatch.setenv("CONTACTPULSE_FCR_WINDOW_DAYS", "3")
    rules = load_settings(cfg).rules()
    assert rules.sl_seconds["phone"] == 30 and rules.sl_seconds["webchat"] == 60
    assert rules.unit_costs["email"] == 1.2 and rules.unit_costs["phone"] == 2.83
    assert rules.short_abandon_seconds == 8
    assert rules.fcr_window_days == 3


def test_env_json_map_can_unset_a_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTACTPULSE_SL_SECONDS", '{"phone": null}')
    assert "phone" not in load_settings().rules().sl_seconds


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("fcr_window_days = 0\n", "fcr_window_days"),
        ("[sl_seconds]\nfax = 10\n", "sl_seconds"),
        ("[unit_costs]\nphone = -1\n", "unit_costs"),
        ("no_such_setting = 1\n", "no_such_setting"),
        ("this is not toml", r"is not valid TOML: .* \(at line 1, column \d+\)$"),
        ('timezone = "Mars/Olympus"\n', "unknown time zone"),
    ],
)
def test_bad_config_is_one_line(tmp_path: Path, toml: str, message: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError, match=message) as exc:
        load_settings(cfg)
    assert "\n" not in str(exc.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CONTACTPULSE_WALLBOARD_AMBER_SECONDS": "400"}, "wallboard_amber_seconds must not be over"),
        ({"CONTACTPULSE_GATEWAY_BURST": "10"}, "gateway_burst must be at least gateway_max_events"),
    ],
)
def test_settings_that_must_agree(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError, match=f"^invalid settings: {message}"):
        load_settings()


ISSUE_EXAMPLE = """
[calendars.default]
nation = "england-and-wales"
closures = ["2026-12-29", "2026-12-30", "2026-12-31"]
[calendars.default.opening_hours]
mon = "09:00-17:00"
tue = "09:00-17:00"
wed = "09:00-17:00"
thu = "09:00-17:00"
fri = "09:00-16:30"
[calendars.default.channel_opening_hours.face_to_face]
mon = "09:30-16:00"
[calendars.fife]
nation = "scotland"
[[standards]]
name = "email-10wd"
title = "Emails answered in full within 10 working days"
channels = ["email", "web"]
services = []
milestone = "wrapped_up"
working_days = 10
target = 0.9
"""


def test_calendars_and_standards_as_the_settings_file_gives_them(tmp_path: Path) -> None:
    path = tmp_path / "contactpulse.toml"
    path.write_text(ISSUE_EXAMPLE)
    s = load_settings(path)
    calendars = s.working_calendars()
    fife, boston = calendars.of("fife"), calendars.of("boston")
    assert (fife.nation, fife.closures) == ("scotland", frozenset())  # its own table takes nothing from default
    assert boston.nation == "england-and-wales" and len(boston.closures) == 3
    assert "face_to_face" in boston.channel_weeks and "face_to_face" not in fife.channel_weeks
    (standard,) = s.care_standards()
    assert (standard.name, standard.limit, standard.amount, standard.target) == ("email-10wd", "working_days", 10, 0.9)
    assert load_settings().care_standards() == () and load_settings().working_calendars().of("x").nation == (
        "england-and-wales"
    )


@pytest.mark.parametrize(("toml", "message"), [
    ('[calendars.fife]\nnation = "wales"', "calendars: fife: nation 'wales' is not one of"),
    ('[calendars.fife]\nopening_hours = { mon = "09:00-25:00" }', "calendars: fife: opening_hours: '09:00-25:00'"),
    ('[calendars.default]\nclosures = ["29/12/2026"]', "calendars: default: closures: '29/12/2026' is not a date"),
    ('[calendars.Fife]\nnation = "scotland"', "calendars: 'Fife' is neither default nor a council slug"),
    ('[[standards]]\nname = "a"\nchannels = ["email"]\nmilestone = "answered"\nseconds = 1\nworking_days = 2\n'
     'target = 0.9', r"standards: \[0\] \(a\): a standard has exactly one limit"),
    ('[[standards]]\nname = "a"\nchannels = ["email"]\nmilestone = "answered"\nseconds = 1\ntarget = 90',
     r"standards: \[0\] \(a\): target 90 is a share between 0 and 1"),
])  # fmt: skip
def test_a_bad_calendar_or_standard_is_one_line_naming_the_key(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "contactpulse.toml"
    path.write_text(toml + "\n")
    with pytest.raises(ConfigError, match=f"^invalid setting {message}") as exc:
        load_settings(path)
    assert "\n" not in str(exc.value)
