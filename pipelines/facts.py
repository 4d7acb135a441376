"""Per-contact facts of METRICS.md section 1, computed incrementally.

``ContactState`` holds one contact's distinct events in walk order (time, then
lifecycle order, then id) and a running ``Walk`` over them. An event that sorts
last, the usual case, advances the walk in O(1); one that arrives late is
inserted in order and the walk is replayed. Either way the facts equal those of
walking the whole sorted list once, whatever order or duplication the events
came in.
"""

from __future__ import annotations

import bisect

from pipelines.events import US, Event
from pipelines.rules import MetricRules, timed_out
from pipelines.standards import opened_out_of_hours
from schemas.facts import ContactFacts

STARTED, QUEUED, ANSWERED = "contact.started", "contact.queued", "contact.answered"
HOLD_STARTED, HOLD_ENDED, TRANSFERRED = "contact.hold_started", "contact.hold_ended", "contact.transferred"
ENDED, WRAPPED_UP, SURVEYED = "contact.ended", "contact.wrapped_up", "contact.surveyed"
_AFTER_CONTACT = (WRAPPED_UP, SURVEYED)

HANDLED, ABANDONED, SELF_SERVED, OPEN, TIMED_OUT = "handled", "abandoned", "self_served", "open", "timed_out"
OUTCOMES = (HANDLED, ABANDONED, SELF_SERVED, OPEN, TIMED_OUT)


class Walk:
    """The running walk over one contact's events in order: three intervals and the firsts/lasts."""

    __slots__ = (
        "agent_ref",
        "answered",
        "answered_at",
        "channel",
        "customer_ref",
        "ended_at",
        "hold",
        "hold_count",
        "hold_open",
        "last_activity",
        "last_event",
        "last_queue",
        "queue",
        "queued_at",
        "rating",
        "resolution",
        "served",
        "served_open",
        "service",
        "site",
        "started",
        "transfers",
        "wait",
        "wait_open",
        "wrapped_at",
    )

    def __init__(self) -> None:
        self.started: int | None = None
        self.queued_at: int | None = None
        self.answered_at: int | None = None
        self.ended_at: int | None = None
        self.wrapped_at: int | None = None
        self.answered = False
        self.channel: str | None = None
        self.site: str | None = None
        self.customer_ref: str | None = None
        self.service: str | None = None
        self.queue: str | None = None
        self.last_queue: str | None = None
        self.agent_ref: str | None = None
        self.wait = self.served = self.hold = 0
        self.wait_open: int | None = None
        self.served_open: int | None = None
        self.hold_open: int | None = None
        self.hold_count = self.transfers = 0
        self.resolution: str | None = None
        self.rating: int | None = None
        self.last_activity: int | None = None
        self.last_event: int | None = None

    def step(self, ev: Event) -> None:  # noqa: C901 - one branch per event type reads best
        t, typ = ev.t, ev.type
        if self.started is None:
            self.started = t
        self.last_event = t
        if ev.channel is not None:
            self.channel = ev.channel
        if ev.site is not None:
            self.site = ev.site
        if ev.customer_ref is not None:
            self.customer_ref = ev.customer_ref
        if ev.service is not None:
            self.service = ev.service
        if typ not in _AFTER_CONTACT:
            self.last_activity = t
        if typ == QUEUED:
            if self.queued_at is None:
                self.queued_at, self.queue = t, ev.queue
            self.last_queue = ev.queue
            if self.wait_open is None:
                self.wait_open = t
        elif typ == ANSWERED:
            if not self.answered:
                self.answered, self.answered_at, self.agent_ref = True, t, ev.agent_ref
            self._close_wait(t)
            if self.served_open is None:
                self.served_open = t
        elif typ == HOLD_STARTED:
            if self.served_open is not None and self.hold_open is None:
                self.hold_open = t
                self.hold_count += 1
        elif typ == HOLD_ENDED:
            self._close_hold(t)
        elif typ == TRANSFERRED:
            self.transfers += 1
            self.last_queue = ev.queue
            self._close_hold(t)
            self._close_served(t)
            if self.wait_open is None:
                self.wait_open = t
        elif typ == ENDED:
            self.ended_at = t
            self._close_wait(t)
            self._close_hold(t)
            self._close_served(t)
        elif typ == WRAPPED_UP:
            self.wrapped_at, self.resolution = t, ev.resolution
        elif typ == SURVEYED:
            self.rating = ev.rating

    def _close_wait(self, t: int) -> None:
        if self.wait_open is not None:
            self.wait += t - self.wait_open
            self.wait_open = None

    def _close_hold(self, t: int) -> None:
        if self.hold_open is not None:
            self.hold += t - self.hold_open
            self.hold_open = None

    def _close_served(self, t: int) -> None:
        if self.served_open is not None:
            self.served += t - self.served_open
            self.served_open = None


def _open_part(opened: int | None, end: int) -> int:
    return end - opened if opened is not None else 0


def facts_of(council: str, contact_id: str, w: Walk, rules: MetricRules, watermark: int | None) -> ContactFacts:
    """Close the walk's open intervals at the last activity and derive every fact."""
    assert w.started is not None and w.last_event is not None, "a contact has at least one event"
    end = w.last_activity if w.last_activity is not None else w.started
    wait = (w.wait + _open_part(w.wait_open, end)) / US
    hold = (w.hold + _open_part(w.hold_open, end)) / US
    talk = (w.served + _open_part(w.served_open, end)) / US - hold
    tta = None
    if w.answered_at is not None and w.queued_at is not None and w.answered_at >= w.queued_at:
        tta = (w.answered_at - w.queued_at) / US
    acw = None
    if w.wrapped_at is not None and w.ended_at is not None and w.wrapped_at >= w.ended_at:
        acw = (w.wrapped_at - w.ended_at) / US
    if w.answered:
        outcome = HANDLED
    elif w.queued_at is not None and w.ended_at is not None:
        outcome = ABANDONED
    elif w.ended_at is not None:
        outcome = SELF_SERVED
    elif timed_out(w.last_event, watermark, rules.timeout_us):
        outcome = TIMED_OUT
    else:
        outcome = OPEN
    threshold = rules.sl_seconds.get(w.channel) if w.channel is not None else None
    within_sl: bool | None = None
    if w.queued_at is not None and threshold is not None:
        within_sl = (tta <= threshold) if tta is not None else (None if w.answered else False)
    return ContactFacts(
        council=council,
        contact_id=contact_id,
        started_at=w.started,
        queued_at=w.queued_at,
        answered_at=w.answered_at,
        ended_at=w.ended_at,
        wrapped_at=w.wrapped_at,
        channel=w.channel,
        site=w.site,
        customer_ref=w.customer_ref,
        service=w.service,
        queue=w.queue,
        last_queue=w.last_queue,
        agent_ref=w.agent_ref,
        wait_seconds=wait,
        time_to_answer_seconds=tta,
        hold_seconds=hold,
        hold_count=w.hold_count,
        talk_seconds=talk,
        acw_seconds=acw,
        handle_seconds=talk + hold + (acw or 0.0) if outcome == HANDLED else None,
        transfers=w.transfers,
        outcome=outcome,
        short_abandon=outcome == ABANDONED and wait < rules.short_abandon_seconds,
        answered_within_sl=within_sl,
        resolution=w.resolution,
        rating=w.rating,
        last_event_at=w.last_event,
        opened_out_of_hours=opened_out_of_hours(w.started, w.channel, rules.calendars.of(council)),
    )


def _key(e: Event) -> tuple[int, int, str]:
    return e.key


class ContactState:
    """One contact's distinct events in walk order, with the walk kept up to date."""

    __slots__ = ("contact_id", "council", "events", "ids", "walk")

    def __init__(self, council: str, contact_id: str) -> None:
        self.council = council
        self.contact_id = contact_id
        self.events: list[Event] = []
        self.ids: set[str] = set()
        self.walk = Walk()

    def add(self, ev: Event) -> bool:
        """Apply one event; False (and no change) when its id was seen already."""
        if ev.id in self.ids:
            return False
        self.ids.add(ev.id)
        if not self.events or ev.key >= self.events[-1].key:
            self.events.append(ev)
            self.walk.step(ev)
            return True
        bisect.insort(self.events, ev, key=_key)
        self.walk = Walk()
        for e in self.events:
            self.walk.step(e)
        return True

    def add_many(self, events: list[Event]) -> list[Event]:
        """Apply several events at once (sorting once); return those that were not duplicates."""
        fresh = []
        for e in events:
            if e.id not in self.ids:
                self.ids.add(e.id)
                fresh.append(e)
        if not fresh:
            return fresh
        fresh.sort(key=_key)
        if not self.events or _key(fresh[0]) >= _key(self.events[-1]):
            self.events.extend(fresh)
            for e in fresh:
                self.walk.step(e)
            return fresh
        self.events.extend(fresh)
        self.events.sort(key=_key)
        self.walk = Walk()
        for e in self.events:
            self.walk.step(e)
        return fresh

    def facts(self, rules: MetricRules, watermark: int | None) -> ContactFacts:
        return facts_of(self.council, self.contact_id, self.walk, rules, watermark)


def compute_facts(events: list[Event], rules: MetricRules, watermark: int | None = None) -> ContactFacts:
    """Facts of one contact from all its events at once (any order, duplicates allowed)."""
    distinct = {e.id: e for e in reversed(events)}  # the first of each id wins
    ordered = sorted(distinct.values(), key=lambda e: e.key)
    walk = Walk()
    for e in ordered:
        walk.step(e)
    return facts_of(ordered[0].council, ordered[0].contact_id, walk, rules, watermark)
