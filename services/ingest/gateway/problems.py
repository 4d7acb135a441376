"""RFC 9457 problem documents: every error answer of the gateway."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from pydantic import BaseModel

PROBLEM = "application/problem+json"
PROBLEM_BASE = "https://contactpulse.org/problems/"


class EventProblem(BaseModel):
    index: int
    reason: str
    detail: str = ""


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[EventProblem] = []


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[EventProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    slug = title.lower().replace(" ", "-")
    body = Problem(type=PROBLEM_BASE + slug, title=title, status=status, detail=detail, errors=errors or [])
    return JSONResponse(body.model_dump(), status_code=status, media_type=PROBLEM, headers=headers)
