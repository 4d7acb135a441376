"""Queue logs in Asterisk's format, made up but shaped like a council contact centre's: calls enter a
queue, are answered (some put on a WRAPUP line after) or abandon, in time order, with FreePBX DID lines."""

from __future__ import annotations

import random

QUEUES = ("revenues", "benefits", "waste", "housing")


def queue_log(calls: int, start: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    lines: list[tuple[int, int, str]] = []
    t = start
    for i in range(calls):
        t += rng.randint(1, 12)
        callid = f"{t}.{1000 + i}"
        queue = rng.choice(QUEUES)
        caller = f"01205{rng.randint(100000, 999999)}"
        wait = rng.randint(0, 90)
        lines.append((t, 0, f"{t}|{callid}|{queue}|NONE|DID|01205310000"))
        lines.append((t, 1, f"{t}|{callid}|{queue}|NONE|ENTERQUEUE||{caller}|1"))
        if rng.random() < 0.15:
            lines.append((t + wait, 2, f"{t + wait}|{callid}|{queue}|NONE|ABANDON|1|1|{wait}"))
            continue
        agent = f"PJSIP/{rng.randint(201, 230)}"
        talk = rng.randint(30, 600)
        lines.append((t + wait, 2, f"{t + wait}|{callid}|{queue}|{agent}|CONNECT|{wait}|{callid}1|3"))
        verb = rng.choice(("COMPLETEAGENT", "COMPLETECALLER"))
        lines.append((t + wait + talk, 3, f"{t + wait + talk}|{callid}|{queue}|{agent}|{verb}|{wait}|{talk}|1"))
        if rng.random() < 0.5:
            end = t + wait + talk + rng.randint(5, 120)
            lines.append((end, 4, f"{end}|{callid}|{queue}|{agent}|WRAPUP|{rng.choice(('resolved', 'referred'))}"))
    return [text + "\n" for _, _, text in sorted(lines)]
