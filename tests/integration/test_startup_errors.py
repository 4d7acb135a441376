"""Start-up problems a new user meets first, each a one-line reason and no traceback (real processes):
an unreachable broker (the consumer retries with backoff; one-shot commands stop with exit status 2),
a DuckDB file held by another writer, a port in use, and a config file that is not valid TOML."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
CP = [sys.executable, "-m", "services.cli"]
DEAD = "127.0.0.1:1"


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def run(args: list[str], cwd: Path, timeout: float = 60, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CP, *args],
        cwd=cwd,
        env={**env(**extra), "PYTHONPATH": str(ROOT)},
        text=True,
        capture_output=True,
        timeout=timeout,
    )


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_consumer_retries_an_unreachable_broker_one_line_an_attempt(tmp_path: Path) -> None:
    args = ["consume", "--db", str(tmp_path / "c.duckdb"), "--bootstrap", DEAD, "--metrics-port", str(free_port())]
    proc = subprocess.Popen(
        [*CP, *args],
        cwd=tmp_path,
        text=True,
        env={**env(), "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60  # attempts after 0, 1 and 3 s, once the process has started
    while sum("cannot reach Kafka" in line for line in lines) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    reader.join(timeout=10)
    out = "".join(lines)
    assert proc.returncode == 0, out
    assert "Traceback" not in out
    attempts = [line for line in out.splitlines() if "cannot reach Kafka" in line]
    assert len(attempts) >= 3, out
    assert all(f"cannot reach Kafka at {DEAD}: connection refused; retrying in" in a for a in attempts)
    assert "retrying in 1 s (attempt 1)" in attempts[0] and "retrying in 2 s (attempt 2)" in attempts[1]


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "--mode", "history", "--days", "1", "--bootstrap", DEAD],
        ["simulate", "--mode", "live", "--minutes", "1", "--bootstrap", DEAD],
    ],
    ids=["history", "live"],
)
def test_one_shot_commands_stop_after_a_bounded_wait(tmp_path: Path, args: list[str]) -> None:
    started = time.monotonic()
    done = run(args, tmp_path, CONTACTPULSE_KAFKA_WAIT_SECONDS="2")
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert line == f"contactpulse: error: cannot reach Kafka at {DEAD}: connection refused (gave up after 2 s)"
    assert time.monotonic() - started < 30


def test_topic_creation_stops_after_a_bounded_wait(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.kafka", "create-topics", "--bootstrap", DEAD, "--wait", "1"],
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert one_line(done.stderr).startswith(f"kafka: error: cannot reach Kafka at {DEAD}: connection refused")


def test_a_file_held_by_another_writer_names_it_and_the_snapshot(tmp_path: Path) -> None:
    db = tmp_path / "held.duckdb"
    hold = f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('held', flush=True); time.sleep(60)"
    holder = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        for args in (["replay", "--db", str(db), "-"], ["consume", "--db", str(db), "--bootstrap", DEAD]):
            done = run(args, tmp_path, CONTACTPULSE_METRICS_PORT=str(free_port()))
            assert done.returncode == 2, done.stderr
            line = one_line(done.stderr)
            assert f"{db} is in use by another process (PID {holder.pid})" in line
            assert "held.snapshot.duckdb" in line
    finally:
        holder.kill()
        holder.wait()


def test_a_port_in_use_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run(
            ["consume", "--db", str(tmp_path / "p.duckdb"), "--bootstrap", DEAD, "--metrics-port", str(port)], tmp_path
        )
        hook = run(["alert-webhook", "--port", str(port)], tmp_path)
        gateway = run(["gateway", "--port", str(port), "--bootstrap", DEAD], tmp_path)
    assert gateway.returncode == 2
    assert one_line(gateway.stderr).startswith(f"contactpulse: error: cannot serve the gateway on 127.0.0.1:{port}: ")
    assert done.returncode == 2
    assert one_line(done.stderr).startswith(f"contactpulse: error: cannot serve /metrics on 127.0.0.1:{port}: ")
    assert hook.returncode == 2
    assert one_line(hook.stderr).startswith(f"contactpulse: error: cannot listen on 127.0.0.1:{port}: ")


def test_a_config_file_that_is_not_toml_names_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("short_abandon_seconds = 5\n[sl_seconds\nphone = 30\n")
    done = run(["--config", str(bad), "summary", "--db", str(tmp_path / "x.duckdb")], tmp_path)
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert line.startswith(f"contactpulse: error: {bad} is not valid TOML: ")
    assert line.endswith("(at line 2, column 12)")


def test_a_reader_that_stops_early_is_no_error(tmp_path: Path) -> None:
    """`contactpulse simulate --out - | head -1`: the closed pipe ends the command quietly, exit status 0."""
    command = [*CP, "simulate", "--mode", "history", "--days", "2", "--out", "-"]
    proc = subprocess.Popen(
        command, cwd=tmp_path, env={**env(), "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline().startswith(b'{"specversion"')
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and b"Traceback" not in err, err
