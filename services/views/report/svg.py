"""Inline SVG charts: no scripts, no external requests, readable in print and by screen readers.

Colours are the Okabe-Ito palette (safe for the common forms of colour blindness); every chart has a
<title> and a <desc> that states what it shows, and values are printed on the marks, so colour is
never the only way to read them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from html import escape

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_ids = itertools.count(1)
Fmt = Callable[[float], str]


def _frame(width: int, height: int, title: str, desc: str, body: list[str]) -> str:
    n = next(_ids)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="chart-t{n} chart-d{n}" class="chart-svg">'
        f'<title id="chart-t{n}">{escape(title)}</title><desc id="chart-d{n}">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _legend(names: Sequence[str], y: int) -> list[str]:
    out, x = [], 10
    for i, name in enumerate(names):
        out.append(
            f'<rect x="{x}" y="{y}" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{x + 16}" y="{y + 11}" class="legend">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    return out


def grouped_bars(
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    fmt: Fmt,
    top: float | None = None,
) -> str:
    """Vertical bars, one group per category, one bar per series, each labelled with its value."""
    width, height, left, bottom, plot_h = 720, 300, 40, 60, 200
    values = [v for _, vs in series for v in vs if v is not None]
    top = top or (max(values) * 1.15 if values else 1.0) or 1.0
    group_w = (width - left - 10) / max(len(categories), 1)
    bar_w = min(40.0, (group_w - 12) / max(len(series), 1))
    body = [f'<line x1="{left}" y1="{20 + plot_h}" x2="{width - 10}" y2="{20 + plot_h}" class="axis"/>']
    for ci, cat in enumerate(categories):
        gx = left + ci * group_w + (group_w - bar_w * len(series)) / 2
        for si, (_, vs) in enumerate(series):
            v = vs[ci]
            x = gx + si * bar_w
            if v is None:
                body.append(
                    f'<text x="{x + bar_w / 2:.1f}" y="{15 + plot_h}" class="value" text-anchor="middle">n/a</text>'
                )
                continue
            h = plot_h * max(v, 0) / top
            body.append(
                f'<rect x="{x:.1f}" y="{20 + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[si % len(PALETTE)]}"><title>{escape(cat)}: {escape(fmt(v))}</title></rect>'
                f'<text x="{x + bar_w / 2:.1f}" y="{15 + plot_h - h:.1f}" class="value" text-anchor="middle">'
                f"{escape(fmt(v))}</text>"
            )
        body.append(
            f'<text x="{left + ci * group_w + group_w / 2:.1f}" y="{38 + plot_h}" class="label" '
            f'text-anchor="middle">{escape(cat)}</text>'
        )
    if len(series) > 1:
        body += _legend([name for name, _ in series], height - bottom + 38)
    return _frame(width, height, title, desc, body)


def horizontal_bars(title: str, desc: str, rows: Sequence[tuple[str, float]], fmt: Fmt) -> str:
    """One bar per row, longest first as given, labelled with its value."""
    left, row_h, width = 170, 26, 720
    height = 20 + row_h * len(rows)
    top = max((v for _, v in rows), default=1.0) or 1.0
    body = []
    for i, (name, v) in enumerate(rows):
        y = 10 + i * row_h
        w = (width - left - 90) * v / top
        body.append(
            f'<text x="{left - 8}" y="{y + 15}" class="label" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{row_h - 8}" fill="{PALETTE[0]}"/>'
            f'<text x="{left + w + 6:.1f}" y="{y + 14}" class="value">{escape(fmt(v))}</text>'
        )
    return _frame(width, height, title, desc, body)


def stacked_bars_with_line(
    title: str,
    desc: str,
    categories: Sequence[str],
    stacks: Sequence[tuple[str, Sequence[float]]],
    line: Sequence[float | None],
    line_name: str,
) -> str:
    """Stacked shares (each column sums to 1) with a line for one share across the columns."""
    width, left, plot_h = 720, 40, 220
    height = plot_h + 110
    col_w = (width - left - 10) / max(len(categories), 1)
    body = [f'<line x1="{left}" y1="{20 + plot_h}" x2="{width - 10}" y2="{20 + plot_h}" class="axis"/>']
    for ci, cat in enumerate(categories):
        x, y = left + ci * col_w + 4, 20.0 + plot_h
        for si, (_, shares) in enumerate(stacks):
            h = plot_h * shares[ci]
            y -= h
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{col_w - 8:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[si % len(PALETTE)]}"/>'
            )
        body.append(
            f'<text x="{x + (col_w - 8) / 2:.1f}" y="{38 + plot_h}" class="label" text-anchor="middle">'
            f"{escape(cat)}</text>"
        )
    points = [(left + ci * col_w + col_w / 2, 20 + plot_h * (1 - v)) for ci, v in enumerate(line) if v is not None]
    if points:
        body.append(
            '<polyline fill="none" stroke="#000" stroke-width="2.5" stroke-dasharray="6 3" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            + '"/>'
        )
        for (x, y), v in zip(points, [v for v in line if v is not None], strict=True):
            label = f'<text x="{x:.1f}" y="{y - 7:.1f}" class="value" text-anchor="middle">{100 * v:.0f}%</text>'
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#000"/>{label}')
    body += _legend([name for name, _ in stacks], plot_h + 62)
    body.append(
        f'<line x1="10" y1="{plot_h + 92}" x2="34" y2="{plot_h + 92}" stroke="#000" stroke-width="2.5" '
        f'stroke-dasharray="6 3"/><text x="40" y="{plot_h + 96}" class="legend">{escape(line_name)}</text>'
    )
    return _frame(width, height, title, desc, body)
