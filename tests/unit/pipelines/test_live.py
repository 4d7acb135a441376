"""The live board's sets of contacts waiting or on hold: counts and oldest starts kept incrementally."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.live import LiveSet

LABELS = [("boston", "phone", "revenues"), ("boston", "email", "revenues"), ("south-holland", "phone", "other")]
ops = st.lists(st.tuples(st.booleans(), st.integers(0, 30), st.sampled_from(LABELS), st.integers(0, 50)), max_size=400)


Key = tuple[str, str]
Labels = tuple[str, str, str]


def grouped_plainly(items: dict[Key, tuple[Labels, int]]) -> dict[Labels, tuple[int, int]]:
    out: dict[Labels, tuple[int, int]] = {}
    for labels, since in items.values():
        n, oldest = out.get(labels, (0, since))
        out[labels] = (n + 1, min(oldest, since))
    return out


@settings(max_examples=300, deadline=None)
@given(ops)
def test_counts_and_oldest_match_a_plain_grouping_after_any_puts_and_pops(
    steps: list[tuple[bool, int, Labels, int]],
) -> None:
    live, plain = LiveSet(), dict[Key, tuple[Labels, int]]()
    for put, contact, labels, since in steps:
        key = ("boston", f"C-{contact}")
        if put:
            live.put(key, labels, since)
            plain[key] = (labels, since)
        else:
            live.pop(key)
            plain.pop(key, None)
        assert live.grouped() == grouped_plainly(plain)
        assert len(live) == len(plain) and all(k in live for k in plain)


def test_stale_entries_do_not_pile_up_under_a_long_wait() -> None:
    live = LiveSet()
    live.put(("boston", "oldest"), LABELS[0], 0)  # waits all day while thousands come and go
    for i in range(10_000):
        live.put(("boston", f"C-{i}"), LABELS[0], i + 1)
        live.pop(("boston", f"C-{i}"))
    assert live.grouped() == {LABELS[0]: (1, 0)}
    assert len(live.heaps[LABELS[0]]) <= 2 * 1 + 65
