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
