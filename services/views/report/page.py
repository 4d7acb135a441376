"""The board pack as one self-contained HTML page: a one-page summary, then each chart with its table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape

from pipelines.measures import ABANDONMENT, SERVICE_LEVEL
from pipelines.narrative import Bullet, Measure, bullets
from pipelines.periods import Period
from pipelines.rules import MetricRules
from pipelines.standards import Standard
from services.views.report import sections as s
from services.views.report.data import PARTNERSHIP, Figures, cost
from services.views.report.fmt import display, num, pct

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;color:#111;max-width:60rem;margin:1.5rem auto;
 padding:0 1rem;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:2px solid #0072B2}
.meta{color:#444;margin-top:0}
ul.summary{padding-left:0;list-style:none}ul.summary li{margin:.45rem 0;padding:.35rem .6rem;border-left:.45rem solid}
li.attention{border-color:#D55E00;background:#fbe9e0}li.worse{border-color:#E69F00;background:#fdf3df}
li.better{border-color:#009E73;background:#e0f3ee}li.steady{border-color:#777;background:#f1f1f1}
.tone{font-weight:700}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.9rem;width:100%}
caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border:1px solid #999;padding:.25rem .45rem;text-align:right}
th[scope=row],td.text,thead th:first-child{text-align:left}thead th{background:#e8eef5}
figure{margin:0}figcaption{font-size:.9rem;color:#333}
.chart-svg{max-width:46rem}.chart-svg .label,.chart-svg .legend{font-size:12px;fill:#222}
.chart-svg .value{font-size:11px;fill:#111}.chart-svg .axis{stroke:#444}
section.chart{break-inside:avoid}
.note{font-size:.85rem;color:#333}
@page{size:A4;margin:14mm}
@media print{body{margin:0;max-width:none}section.chart{break-before:page}section.summary-page{break-after:page}
 li.attention,li.worse,li.better,li.steady{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""
TONE_WORDS = {"attention": "Needs attention:", "worse": "Worse:", "better": "Better:", "steady": "Steady:"}


def standards_measures(f: Figures, p: Period, scope: str, standards: Sequence[Standard]) -> list[Measure]:
    """ "4 of 6 standards met", and the share of calls that came in while the council was closed."""
    out = []
    phone, phone_before = f.channel(p, scope, "phone"), f.channel(p.previous(), scope, "phone")
    out.append(
        Measure(
            "out_of_hours",
            phone.out_of_hours_share,
            phone_before.out_of_hours_share,
            None,
            "share",
            "Phone: {figure} of calls came in while the council was closed, {change}.",
            0.01,
        )
    )
    if not standards:
        return out

    def met(period: Period) -> tuple[int, int]:
        tallies = [(st, f.standard(period, scope, st.name).rate) for st in standards]
        decided = [(st, r) for st, r in tallies if r is not None]
        return sum(r >= st.target for st, r in decided), len(decided)

    (now, judged), (before, judged_before) = met(p), met(p.previous())
    out.append(
        Measure(
            "standards",
            float(now) if judged else None,
            float(before) if judged_before else None,
            True,
            "count",
            f"{{figure}} of {judged} customer care standards met, {{change}}.",
            0.5,
            keep=True,
        )
    )
    return out


def summary_measures(
    f: Figures, p: Period, scope: str, sl_phone: float, unit_costs: Mapping[str, float], window_days: int = 7
) -> list[Measure]:
    now, before = f.at(p, scope), f.at(p.previous(), scope)
    phone, phone_before = f.channel(p, scope, "phone"), f.channel(p.previous(), scope, "phone")
    cost_now, _ = cost(f, p, scope, unit_costs)
    cost_before, _ = cost(f, p.previous(), scope, unit_costs)
    prev = p.previous()
    return [
        Measure(
            "sl",
            phone.service_level,
            phone_before.service_level,
            True,
            "share",
            f"Phone: {{figure}} answered within {sl_phone:.0f} seconds, {{change}}.",
            0.01,
            target=SERVICE_LEVEL.target,
        ),
        Measure(
            "abandon",
            phone.abandonment,
            phone_before.abandonment,
            False,
            "share",
            "Phone: {figure} of callers gave up before being answered, {change}.",
            0.005,
            target=ABANDONMENT.target,
        ),
        Measure(
            "asa",
            phone.asa,
            phone_before.asa,
            False,
            "seconds",
            "Phone: callers waited {figure} on average to be answered, {change}.",
            2,
        ),
        Measure(
            "fcr",
            now.fcr,
            before.fcr,
            True,
            "share",
            f"{{figure}} of customers had their query resolved first time "
            f"(of {num(now.fcr_eligible_final)} whose outcome is known), {{change}}.",
            0.01,
        ),
        Measure(
            "repeat",
            now.repeat_rate,
            before.repeat_rate,
            False,
            "share",
            f"{{figure}} of customers came back about the same thing within {window_days} days, {{change}}.",
            0.01,
        ),
        Measure(
            "csat",
            now.csat,
            before.csat,
            True,
            "share",
            f"Satisfaction: {{figure}} of {num(now.ratings)} responses were satisfied (4 or 5 out of 5), {{change}}.",
            0.01,
        ),
        Measure(
            "digital",
            now.digital_share,
            before.digital_share,
            True,
            "share",
            "{figure} of contacts were made online (web, webchat, chatbot, email, social), {change}.",
            0.01,
        ),
        Measure(
            "contacts",
            now.contacts,
            before.contacts or None,
            None,
            "count",
            f"{{figure}} contacts in {p.label}, {{change}} in {prev.label}.",
            0.005 * max(before.contacts, 1),
        ),
        Measure(
            "cost",
            cost_now,
            cost_before or None,
            False,
            "money",
            "Cost to serve on channels with a known unit cost: {figure}, {change}.",
            0.01 * max(cost_before, 1),
        ),
    ]


def attention(f: Figures, p: Period, sl_phone: float, most: int = 3) -> list[str]:
    """In partnership reports, the councils whose phone service falls short, worst first, one bullet each."""
    short: list[tuple[float, str]] = []
    for council in f.councils:
        phone = f.channel(p, council, "phone")
        if phone.offered < 20 or phone.service_level is None or phone.abandonment is None:
            continue
        problems = []
        if SERVICE_LEVEL.needs_attention(phone.service_level):
            problems.append(
                f"answered {pct(phone.service_level)} of calls within {sl_phone:.0f} seconds "
                f"(target {pct(SERVICE_LEVEL.target)})"
            )
        if ABANDONMENT.needs_attention(phone.abandonment):
            problems.append(f"{pct(phone.abandonment)} of callers gave up (threshold {pct(ABANDONMENT.target)})")
        if problems:
            short.append((phone.service_level, f"{display(council)}: {' and '.join(problems)}."))
    return [text for _, text in sorted(short)[:most]]


def render(f: Figures, p: Period, council: str | None, rules: MetricRules, source: str) -> str:
    scope = council or PARTNERSHIP
    sl_phone = rules.sl_seconds.get("phone", 20)
    unit_costs, days = rules.unit_costs, rules.fcr_window_days
    measures = summary_measures(f, p, scope, sl_phone, unit_costs, days)
    measures += standards_measures(f, p, scope, rules.standards)
    items: list[Bullet] = bullets(measures, attention(f, p, sl_phone) if council is None else [])
    summary = "".join(
        f'<li class="{b.tone}"><span class="tone">{TONE_WORDS[b.tone]}</span> {escape(b.text)}</li>' for b in items
    )
    who = display(council) if council else f"the partnership ({', '.join(map(display, f.councils))})"
    sections = [
        s.channel_shift(f, scope),
        s.cost_section(f, p, scope, unit_costs),
        s.waits_by_council(f, p, sl_phone, rules.short_abandon_seconds),
        s.standards_section(f, p, scope, rules.standards),
        s.out_of_hours_section(f, p, scope),
        s.fcr_section(f, p, days),
        s.csat_section(f, p, scope),
        s.demand_section(f, p, scope),
        s.side_by_side(f, p),
    ]
    generated = datetime.now(UTC).strftime("%d %B %Y %H:%M UTC")
    return f"""<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Customer Experience Board: {escape(p.label)}</title><style>{CSS}</style></head>
<body><main>
<section class="summary-page" id="summary-page">
<h1>Customer Experience Board: {escape(p.label)}</h1>
<p class="meta">For {escape(who)}. Compared with {escape(p.previous().label)}.
Generated {generated} from {escape(source)}.</p>
<h2>Summary</h2>
<ul class="summary" id="summary">{summary}</ul>
<p class="note">Service level counts contacts answered within the channel's target time (phone {sl_phone:.0f} seconds);
callers who hung up within {rules.short_abandon_seconds:g} seconds are left out. First-time resolution counts only
customers we can recognise (with a reference) and only once {days} days have passed, so the latest days are still
provisional.</p>
</section>
{"".join(sections)}
</main></body></html>
"""
