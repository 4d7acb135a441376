"""Ctrl-C while the ``contactpulse`` command is still loading its modules is one line, never a traceback."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# the command, its import of services.cli held up (and announced) so that Ctrl-C lands inside it
HELD_UP = """
import sys, time
class HoldUp:
    def find_spec(self, name, path, target=None):
        if name == "services.cli":
            print("loading", flush=True)
            time.sleep(30)
        return None
sys.meta_path.insert(0, HoldUp())
from services.entry import main
raise SystemExit(main())
"""


def test_ctrl_c_while_loading_is_one_line() -> None:
    p = subprocess.Popen(
        [sys.executable, "-c", HELD_UP, "summary"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert p.stdout is not None
    assert p.stdout.readline() == b"loading\n"
    p.send_signal(signal.SIGINT)
    out = p.communicate(timeout=60)[0].decode()
    assert "Traceback" not in out, out
    assert (p.returncode, out.strip()) == (130, "contactpulse: interrupted")
