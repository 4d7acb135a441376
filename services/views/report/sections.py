"""The board pack's sections: each a chart and the table behind it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from pipelines.measures import Counts
from pipelines.periods import Period
from pipelines.standards import Standard
from services.views.report import svg
from services.views.report.data import PARTNERSHIP, Figures, cost
from services.views.report.fmt import CHANNEL_NAMES, display, money, num, pct, secs, section, table


def channel_shift(f: Figures, scope: str) -> str:
    channels = [c for c in f.channels() if any(f.channel(p, scope, c).contacts for p in f.periods)]
    totals = [f.at(p, scope).contacts for p in f.periods]
    stacks = [
        (
            CHANNEL_NAMES.get(c, c),
            [f.channel(p, scope, c).contacts / t if t else 0.0 for p, t in zip(f.periods, totals, strict=True)],
        )
        for c in channels
    ]
    digital = [f.at(p, scope).digital_share for p in f.periods]
    latest = next((d for d in reversed(digital) if d is not None), None)
    chart = svg.stacked_bars_with_line(
        "Channel mix and digital share",
        f"Share of contacts by channel for each of the last {len(f.periods)} "
        f"periods; the dashed line is the digital share, {pct(latest)} in the latest period.",
        [p.short for p in f.periods],
        stacks,
        digital,
        "Digital share",
    )
    rows = [
        [
            p.label,
            *[num(f.channel(p, scope, c).contacts) for c in channels],
            num(f.at(p, scope).contacts),
            pct(f.at(p, scope).digital_share),
        ]
        for p in f.periods
    ]
    tbl = table(
        "Contacts by channel and digital share, by period",
        ["Period", *[CHANNEL_NAMES.get(c, c) for c in channels], "All contacts", "Digital share"],
        rows,
    )
    return section(
        "channel-shift",
        "Channel shift: how people contact us",
        chart,
        "Digital share is web, webchat, chatbot, email and social media over all contacts.",
        tbl,
    )


def cost_section(f: Figures, p: Period, scope: str, unit_costs: Mapping[str, float]) -> str:
    known, unknown = cost(f, p, scope, unit_costs)
    rows_chart, rows = [], []
    for c in f.channels():
        n = f.channel(p, scope, c).contacts
        if not n:
            continue
        name = CHANNEL_NAMES.get(c, c)
        if c in unit_costs:
            rows_chart.append((name, n * unit_costs[c]))
            rows.append(
                [
                    name,
                    num(n),
                    f"£{unit_costs[c]:.2f}",
                    money(n * unit_costs[c]),
                ]
            )
        else:
            rows.append([name, num(n), "not set", "cost unknown"])
    rows_chart.sort(key=lambda r: -r[1])
    chart = svg.horizontal_bars(
        "Cost to serve by channel",
        f"Cost to serve in {p.label} by channel with a known unit "
        f"cost; {money(known)} in all. Channels without a unit cost are not shown.",
        rows_chart,
        money,
    )
    note = (
        f"Known cost {money(known)}. Cost unknown for {', '.join(CHANNEL_NAMES.get(c, c) for c in unknown)} "
        f"({num(sum(unknown.values()))} contacts): no unit cost is configured, so they are not counted as zero."
        if unknown
        else f"Known cost {money(known)}."
    )
    tbl = table(f"Cost to serve by channel, {p.label}", ["Channel", "Contacts", "Unit cost", "Cost"], rows)
    return section("cost", "Cost to serve", chart, note, tbl)


def waits_by_council(f: Figures, p: Period, sl_phone: float, short_abandon_seconds: float = 5.0) -> str:
    councils = f.councils + ([PARTNERSHIP] if len(f.councils) > 1 else [])
    phone = [f.channel(p, c, "phone") for c in councils]
    names = [display(c) for c in councils]
    chart = svg.grouped_bars(
        "Phone service level and abandonment by council",
        f"Share of calls answered within {sl_phone:.0f} seconds and share abandoned, by council, in {p.label}.",
        names,
        [("Answered within target", [x.service_level for x in phone]), ("Abandoned", [x.abandonment for x in phone])],
        pct,
        top=1.0,
    )
    rows = [
        [n, num(x.offered), pct(x.service_level), secs(x.asa), pct(x.abandonment), num(x.short_abandons)]
        for n, x in zip(names, phone, strict=True)
    ]
    tbl = table(
        f"Phone calls by council, {p.label}",
        [
            "Council",
            "Calls offered",
            f"Answered in {sl_phone:.0f} s",
            "Average speed of answer",
            "Abandoned",
            "Short abandons (left out)",
        ],
        rows,
    )
    return section(
        "waits",
        "Waiting and giving up: phone",
        chart,
        f"Abandoned counts callers who hung up after {short_abandon_seconds:g} seconds or more.",
        tbl,
    )


def fcr_section(f: Figures, p: Period, window_days: int = 7) -> str:
    councils = f.councils + ([PARTNERSHIP] if len(f.councils) > 1 else [])
    xs = [f.at(p, c) for c in councils]
    chart = svg.grouped_bars(
        "First-time resolution and repeat contacts by council",
        f"Share of recognised customers resolved first time, and share who came back within {window_days} days, "
        f"in {p.label}.",
        [display(c) for c in councils],
        [("Resolved first time", [x.fcr for x in xs]), ("Came back", [x.repeat_rate for x in xs])],
        pct,
        top=1.0,
    )
    rows = [
        [
            display(c),
            pct(x.fcr),
            pct(x.repeat_rate),
            num(x.fcr_eligible_final),
            num(x.fcr_provisional),
            num(x.not_linkable),
        ]
        for c, x in zip(councils, xs, strict=True)
    ]
    tbl = table(
        f"First-contact resolution, {p.label}",
        [
            "Council",
            "Resolved first time",
            "Repeat contact rate",
            "Customers with a final verdict",
            "Still provisional",
            "Not linkable (no reference)",
        ],
        rows,
    )
    return section(
        "fcr",
        "Getting it right first time",
        chart,
        "Repeat contact rate follows METRICS.md: repeats among eligible contacts over eligible-and-final ones.",
        tbl,
    )


def standards_section(f: Figures, p: Period, scope: str, standards: Sequence[Standard]) -> str:
    """Our standards: each one's met rate with its count, its target, met or missed, the change."""
    if not standards:
        return ""
    prev = p.previous()
    rows, rates = [], []
    for st in standards:
        now, before = f.standard(p, scope, st.name), f.standard(prev, scope, st.name)
        rate, earlier = now.rate, before.rate
        verdict = "-" if rate is None else ("Met" if rate >= st.target else "Missed")
        change = "-" if rate is None or earlier is None else f"{round(100 * (rate - earlier)):+d} points"
        met = "-" if rate is None else f"{pct(rate)} of {num(now.final)}"
        rows.append([st.title, met, pct(st.target), verdict, change, num(now.pending)])
        rates.append(rate)
    met_count = sum(1 for st, r in zip(standards, rates, strict=True) if r is not None and r >= st.target)
    judged = sum(r is not None for r in rates)
    chart = svg.grouped_bars(
        "Our standards",
        f"Share of contacts that met each customer care standard in {p.label}, beside its target; "
        f"{met_count} of {judged} standards met.",
        [st.name for st in standards],
        [("Met", rates), ("Target", [st.target for st in standards])],
        lambda v: f"{100 * v:.0f}%",
        top=1.0,
    )
    head = ["Standard", "Met, of decided", "Target", "Met or missed", f"Change from {prev.label}", "Not yet due"]
    tbl = table(f"Our standards, {p.label}", head, rows)
    note = (
        "A standard is met by a contact whose answer (or full response) came within its limit, counted in the "
        "council's working days and opening hours where it says so. Contacts not yet due are left out."
    )
    return section("standards", "Our standards", chart, note, tbl)


def by_channel(f: Figures, p: Period, scope: str, present: Callable[[Counts], float]) -> list[tuple[str, Counts]]:
    """Each channel's counts by its display name, where ``present`` counts something."""
    rows = [(CHANNEL_NAMES.get(c, c), f.channel(p, scope, c)) for c in f.channels()]
    return [(n, x) for n, x in rows if present(x)]


def out_of_hours_section(f: Figures, p: Period, scope: str) -> str:
    """The share of contacts that came in while the council was closed, by channel: the evidence for
    decisions on opening hours."""
    rows_data = by_channel(f, p, scope, lambda x: x.contacts)
    total = f.at(p, scope)
    chart = svg.horizontal_bars(
        "Contacts while we were closed",
        f"Share of contacts by channel that came in outside opening hours in {p.label}; "
        f"{pct(total.out_of_hours_share)} of all contacts.",
        [(n, x.out_of_hours_share or 0.0) for n, x in rows_data],
        lambda v: f"{100 * v:.0f}%",
    )
    rows = [[n, pct(x.out_of_hours_share), num(x.opened_out_of_hours), num(x.contacts)] for n, x in rows_data]
    rows.append(["All channels", pct(total.out_of_hours_share), num(total.opened_out_of_hours), num(total.contacts)])
    head = ["Channel", "Came in while closed", "Contacts while closed", "All contacts"]
    tbl = table(f"Contacts while we were closed, {p.label}", head, rows)
    note = (
        "Closed means outside the opening hours of a working day for the channel (weekends, public holidays, closures)."
    )
    return section("out-of-hours", "When people contact us", chart, note, tbl)


def csat_section(f: Figures, p: Period, scope: str) -> str:
    rows_data = by_channel(f, p, scope, lambda x: x.ratings)
    total = f.at(p, scope)
    chart = svg.grouped_bars(
        "Satisfaction by channel",
        f"Share of survey responses rating 4 or 5 out of 5, by channel, "
        f"in {p.label}; {pct(total.csat)} of {num(total.ratings)} overall.",
        [n for n, _ in rows_data],
        [("Satisfied", [x.csat for _, x in rows_data])],
        lambda v: f"{100 * v:.0f}%",
        top=1.0,
    )
    rows = [[n, f"{pct(x.csat)} of {num(x.ratings)}", num(x.satisfied)] for n, x in rows_data]
    rows.append(["All channels", f"{pct(total.csat)} of {num(total.ratings)}", num(total.satisfied)])
    tbl = table(f"Satisfaction, {p.label}", ["Channel", "Satisfied, of responses", "Satisfied responses"], rows)
    return section("csat", "How satisfied customers are", chart, "Satisfied means a rating of 4 or 5 out of 5.", tbl)


def demand_section(f: Figures, p: Period, scope: str) -> str:
    services = f.services(p, scope)
    total = sum(x.contacts for _, x in services) or 1
    chart = svg.horizontal_bars(
        "Demand by service",
        f"Contacts by service in {p.label}; the largest is {services[0][0] if services else '-'}.",
        [(s, x.contacts) for s, x in services],
        num,
    )
    rows = [[s, num(x.contacts), pct(x.contacts / total), pct(x.digital_share)] for s, x in services]
    tbl = table(f"Contacts by service, {p.label}", ["Service", "Contacts", "Share", "Made online"], rows)
    return section("demand", "What people contact us about", chart, "Service as recorded on the contact.", tbl)


def side_by_side(f: Figures, p: Period) -> str:
    councils = f.councils + ([PARTNERSHIP] if len(f.councils) > 1 else [])
    xs: list[Counts] = [f.at(p, c) for c in councils]
    phone = [f.channel(p, c, "phone") for c in councils]
    chart = svg.grouped_bars(
        "Councils side by side",
        f"Digital share, phone service level, first-time resolution and satisfaction by council in {p.label}.",
        [display(c) for c in councils],
        [
            ("Digital share", [x.digital_share for x in xs]),
            ("Phone answered in time", [x.service_level for x in phone]),
            ("Resolved first time", [x.fcr for x in xs]),
            ("Satisfied", [x.csat for x in xs]),
        ],
        pct,
        top=1.0,
    )
    rows = [
        [
            display(c),
            num(x.contacts),
            pct(x.digital_share),
            pct(ph.service_level),
            secs(ph.asa),
            pct(ph.abandonment),
            pct(x.fcr),
            f"{pct(x.csat)} of {num(x.ratings)}",
        ]
        for c, x, ph in zip(councils, xs, phone, strict=True)
    ]
    tbl = table(
        f"Councils side by side, {p.label}",
        [
            "Council",
            "Contacts",
            "Digital share",
            "Phone answered in time",
            "Phone ASA",
            "Phone abandoned",
            "Resolved first time",
            "Satisfied",
        ],
        rows,
    )
    return section("councils", "Councils side by side", chart, "Each council's figures and the partnership's.", tbl)
