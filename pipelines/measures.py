"""The period measures of METRICS.md section 3, each declared once: its numerator, its denominator and its
target. Everything else derives from here: the ratios of the board pack, the summary and the wallboard
(``Ratio.of``), the ratio columns of DuckDB's ``period_rollup`` macro (``Ratio.sql``) and the Prometheus
recording rules (``Ratio.promql``).

A ratio is a sum of additive counts over a sum of additive counts (a count may be subtracted), so it is
computed from counts added up over any cut (council, channel, queue, period) and never by averaging
ratios. The counts themselves are defined in ``services/store/sql/measures.sql`` (``period_counts``) and,
for the live series, counted by ``pipelines.live``.

To add a measure: declare it here (and its counts, if new, in ``period_counts``); ``RATIOS`` feeds the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType

DIGITAL_CHANNELS = ("web", "webchat", "chatbot", "email", "social")


@dataclass
class Counts:
    """The additive counts of ``period_counts``, for one cut of the data; every ratio is derived from them."""

    contacts: float = 0
    offered: float = 0
    answered: float = 0
    abandoned: float = 0
    short_abandons: float = 0
    answered_within_sl: float = 0
    tta_sum: float = 0
    tta_count: float = 0
    handled: float = 0
    handle_sum: float = 0
    handled_with_hold: float = 0
    hold_sum: float = 0
    ratings: float = 0
    satisfied: float = 0
    digital: float = 0
    fcr_eligible_final: float = 0
    fcr_resolved_final: float = 0
    fcr_with_repeat: float = 0
    fcr_provisional: float = 0
    not_linkable: float = 0
    opened_out_of_hours: float = 0

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def service_level(self) -> float | None:
        return SERVICE_LEVEL.of(self)

    @property
    def abandonment(self) -> float | None:
        return ABANDONMENT.of(self)

    @property
    def asa(self) -> float | None:
        return ASA.of(self)

    @property
    def out_of_hours_share(self) -> float | None:
        return OUT_OF_HOURS.of(self)

    @property
    def aht(self) -> float | None:
        return AHT.of(self)

    @property
    def csat(self) -> float | None:
        return CSAT.of(self)

    @property
    def digital_share(self) -> float | None:
        return DIGITAL_SHARE.of(self)

    @property
    def fcr(self) -> float | None:
        return FCR.of(self)

    @property
    def repeat_rate(self) -> float | None:
        return REPEAT_RATE.of(self)


COUNT_NAMES = tuple(f.name for f in fields(Counts))


@dataclass(frozen=True)
class Ratio:
    """``sum(numerator) / sum(denominator)``; a count named ``-x`` is subtracted. No value when the
    denominator is not positive."""

    name: str  # the column of period_rollup
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    kind: str  # "share" or "seconds"
    higher_is_better: bool
    description: str = ""

    def __post_init__(self) -> None:
        unknown = {t.removeprefix("-") for t in self.numerator + self.denominator} - set(COUNT_NAMES)
        if unknown:
            raise ValueError(f"{self.name}: no such count {sorted(unknown)}")

    @staticmethod
    def _signed(terms: tuple[str, ...]) -> list[tuple[str, int]]:
        return [(t.removeprefix("-"), -1 if t.startswith("-") else 1) for t in terms]

    def of(self, counts: object) -> float | None:
        """The ratio of any object with the counts as attributes (``Counts``, a live day's tally)."""
        den = sum(sign * getattr(counts, c) for c, sign in self._signed(self.denominator))
        if den <= 0:
            return None
        num = sum(sign * getattr(counts, c) for c, sign in self._signed(self.numerator))
        return float(num) / float(den)

    def sql(self) -> str:
        """As a DuckDB aggregate over rows of counts."""
        return f"{_sql_sum(self._signed(self.numerator))} / nullif({_sql_sum(self._signed(self.denominator))}, 0)"

    def promql(self, series: Callable[[str], str]) -> str:
        """As PromQL over one series per count (``series(count)``); no sample where the denominator is not
        positive."""

        def total(terms: list[tuple[str, int]]) -> str:
            return " ".join(f"{'-' if sign < 0 else '+'} {series(c)}" for c, sign in terms).removeprefix("+ ")

        den = self._signed(self.denominator)
        return f"{total(self._signed(self.numerator))} / ({total(den)} > 0)"

    @property
    def target(self) -> float | None:
        """A share short of it (or over it, when lower is better) needs attention (``TARGETS``)."""
        return TARGETS.get((self.name, None))

    def target_for(self, channel: str) -> float | None:
        """The target of one channel's ratio: its own in ``TARGETS``, else the ratio's."""
        return TARGETS.get((self.name, channel), self.target)

    def needs_attention(self, value: float | None) -> bool:
        if self.target is None or value is None:
            return False
        return value < self.target if self.higher_is_better else value > self.target


def _sql_sum(terms: list[tuple[str, int]]) -> str:
    return " ".join(f"{'-' if sign < 0 else '+'} sum({c})" for c, sign in terms).removeprefix("+ ")


# Every target, in one table: (ratio, channel) -> target, channel None for the ratio's own. The board pack,
# the summary and the alert rules (dashboards/config.py) read them from here; dashboards/config.toml may
# override one for a council's channel or a queue.
TARGETS: Mapping[tuple[str, str | None], float] = MappingProxyType({
    ("service_level", None): 0.80,
    ("service_level", "email"): 0.90,  # written channels: answered within days, and promised so
    ("service_level", "social"): 0.90,
    ("abandonment_rate", None): 0.05,
})  # fmt: skip

SERVICE_LEVEL = Ratio("service_level", ("answered_within_sl",), ("offered", "-short_abandons"), "share", True,
                      description="answered within the channel's sl_seconds, of offered less short "
                      "abandons")  # fmt: skip
ABANDONMENT = Ratio(
    "abandonment_rate",
    ("abandoned",),
    ("offered", "-short_abandons"),
    "share",
    False,
    description="abandoned (not short), of offered less short abandons",
)
ASA = Ratio("asa_seconds", ("tta_sum",), ("tta_count",), "seconds", False, description="mean time to answer")
AHT = Ratio("aht_seconds", ("handle_sum",), ("handled",), "seconds", False, description="mean handle time")
HOLD_RATE = Ratio(
    "hold_rate",
    ("handled_with_hold",),
    ("handled",),
    "share",
    False,
    description="share of handled contacts put on hold",
)
AVERAGE_HOLD = Ratio(
    "average_hold_seconds",
    ("hold_sum",),
    ("handled",),
    "seconds",
    False,
    description="mean hold time over handled contacts",
)
CSAT = Ratio("csat", ("satisfied",), ("ratings",), "share", True, description="share of ratings 4 or 5")
DIGITAL_SHARE = Ratio(
    "digital_share",
    ("digital",),
    ("contacts",),
    "share",
    True,
    description="contacts on web, webchat, chatbot, email and social, of all contacts",
)
FCR = Ratio(
    "fcr_rate",
    ("fcr_resolved_final",),
    ("fcr_eligible_final",),
    "share",
    True,
    description="resolved first time, of eligible contacts whose verdict is final",
)
REPEAT_RATE = Ratio(
    "repeat_contact_rate",
    ("fcr_with_repeat",),
    ("fcr_eligible_final",),
    "share",
    False,
    description="eligible contacts with a repeat, of eligible-and-final (METRICS.md)",
)

OUT_OF_HOURS = Ratio(
    "out_of_hours_share",
    ("opened_out_of_hours",),
    ("contacts",),
    "share",
    False,
    description="contacts opened outside the opening hours of a working day for their channel (METRICS.md 5)",
)

RATIOS = (
    SERVICE_LEVEL, ABANDONMENT, ASA, AHT, HOLD_RATE, AVERAGE_HOLD, CSAT, DIGITAL_SHARE, FCR, REPEAT_RATE, OUT_OF_HOURS,
)  # fmt: skip

# the live series' counters (contactpulse_contacts_*_total, and the time-to-answer histogram) by count
LIVE_SERIES = {
    "offered": "contacts_offered",
    "answered": "contacts_answered",
    "abandoned": "contacts_abandoned",
    "short_abandons": "contacts_short_abandoned",
    "answered_within_sl": "contacts_answered_within_sl",
    "tta_sum": "time_to_answer_seconds_sum",
    "tta_count": "time_to_answer_seconds_count",
}
LIVE_RATIOS = (SERVICE_LEVEL, ABANDONMENT, ASA)  # what the live counters can give
