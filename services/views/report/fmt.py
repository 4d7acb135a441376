"""Formatting for the board pack: numbers as people read them, tables with captions and headers."""

from __future__ import annotations

from html import escape

from services.views.report.data import PARTNERSHIP

CHANNEL_NAMES = {
    "phone": "Phone",
    "webchat": "Webchat",
    "chatbot": "Chatbot",
    "email": "Email",
    "web": "Online forms",
    "face_to_face": "Face to face",
    "video": "Video",
    "social": "Social media",
    "unknown": "Unknown",
}


def pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.0f}%"


def secs(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.0f} s" if v < 120 else (f"{v / 60:.1f} min" if v < 7200 else f"{v / 3600:.1f} h")


def num(v: float) -> str:
    return f"{v:,.0f}"


def money(v: float) -> str:
    return f"£{v:,.0f}"


def table(caption: str, head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
    body = "".join(
        "<tr>" + f'<th scope="row">{escape(r[0])}</th>' + "".join(f"<td>{escape(c)}</td>" for c in r[1:]) + "</tr>"
        for r in rows
    )
    return f"<table><caption>{escape(caption)}</caption><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def section(sid: str, title: str, chart: str, caption: str, tbl: str) -> str:
    return (
        f'<section class="chart" id="{sid}"><h2>{escape(title)}</h2><figure>{chart}'
        f"<figcaption>{escape(caption)}</figcaption></figure>{tbl}</section>"
    )


def display(council: str) -> str:
    """``east-lindsey`` as people write it: East Lindsey."""
    return "All councils" if council == PARTNERSHIP else council.replace("-", " ").title()
