"""The board summary: at most ten plain-English bullets on what got better, what got worse and
what needs attention, each with its figure and its change from the previous period."""

from __future__ import annotations

from dataclasses import dataclass

MAX_BULLETS = 10


@dataclass(frozen=True)
class Measure:
    """One figure for the summary: the value now and in the previous period (None when unknown)."""

    key: str
    now: float | None
    before: float | None
    higher_is_better: bool | None  # None: a change is news, neither better nor worse (demand)
    kind: str  # "share", "seconds", "count" or "money"
    template: str  # "{figure}" and "{change}" are filled in
    steady_within: float  # a change smaller than this is "about the same"
    target: float | None = None  # a share below (or above, for lower-is-better) this needs attention
    keep: bool = False  # always among the bullets, however many there are ("4 of 6 standards met")


@dataclass(frozen=True)
class Bullet:
    tone: str  # "attention", "worse", "better" or "steady"
    text: str
    keep: bool = False


def fmt(value: float, kind: str) -> str:
    if kind == "share":
        return f"{100 * value:.0f}%"
    if kind == "seconds":
        return f"{value:.0f} seconds" if value < 120 else f"{value / 60:.1f} minutes"
    if kind == "money":
        return f"£{value:,.0f}"
    return f"{value:,.0f}"


def change(m: Measure) -> tuple[str, str]:
    """(tone, phrase) of the move from the previous period."""
    if m.now is None:
        return "steady", ""
    if m.before is None:
        return "steady", "no figure for the previous period"
    diff = m.now - m.before
    if abs(diff) < m.steady_within:
        return "steady", f"about the same as {fmt(m.before, m.kind)}"
    up = diff > 0
    tone = "steady" if m.higher_is_better is None else ("better" if up == m.higher_is_better else "worse")
    if m.kind == "count":
        pct = abs(diff) / m.before * 100 if m.before else 0.0
        return tone, f"{pct:.0f}% {'more' if up else 'fewer'} than the {fmt(m.before, m.kind)} before"
    return tone, f"{'up' if up else 'down'} from {fmt(m.before, m.kind)}"


def needs_attention(m: Measure) -> bool:
    if m.target is None or m.now is None or m.higher_is_better is None:
        return False
    return m.now < m.target if m.higher_is_better else m.now > m.target


def bullets(measures: list[Measure], extra_attention: list[str] | None = None) -> list[Bullet]:
    """Attention first, then worse, better, steady; never more than ten."""
    out: list[Bullet] = []
    for m in measures:
        if m.now is None:
            continue
        tone, phrase = change(m)
        text = m.template.format(figure=fmt(m.now, m.kind), change=phrase).replace(", .", ".").rstrip(", ")
        if needs_attention(m):
            tone = "attention"
        out.append(Bullet(tone, text, m.keep))
    out += [Bullet("attention", t) for t in extra_attention or []]
    order = {"attention": 0, "worse": 1, "better": 2, "steady": 3}
    out.sort(key=lambda b: order[b.tone])
    kept = [b for b in out if b.keep][:MAX_BULLETS]
    room = MAX_BULLETS - len(kept)
    chosen = {id(b) for b in kept} | {id(b) for b in [b for b in out if not b.keep][:room]}
    return [b for b in out if id(b) in chosen]
