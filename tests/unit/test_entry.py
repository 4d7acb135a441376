"""Ctrl-C while the ``contactpulse`` command is still loading its modules is one line, never a traceback."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ctrl_c_while_loading_is_one_line(tmp_path: Path) -> None:
    codes = []
    for delay in (0.15, 0.3, 0.45, 0.6):
        p = subprocess.Popen([sys.executable, "-c", "from services.entry import main; raise SystemExit(main())",
                              "summary", "--db", str(tmp_path / "none.duckdb")], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        out = p.communicate(timeout=60)[0].decode()
        assert "Traceback" not in out, out
        if p.returncode == 130:
            assert out.strip().splitlines()[-1].startswith("contactpulse: interrupted"), out
        codes.append(p.returncode)
    assert 130 in codes  # at least one landed while it loaded (the modules take longer than 0.15 s)
