"""The traffic model: arrivals, queues with staffed agents, patience, holds, transfers, surveys, repeats.

Pure and deterministic for a seed. ``Simulation.events(start, end)`` yields
contract v1 events (dicts) in time order. Each (council, queue) is a FIFO
multi-server queue: a caller waits for the earliest free agent and gives up when
the wait exceeds their patience, so waits and abandonment arise from load.
Parameters are calibrated on real contact-centre records (``calibration``).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.events import US
from pipelines.working_time import Calendars
from services.simulator.calibration import CALIBRATION

YEAR_DAYS = 365.0
WORKING_DAYS = 250.0

# queue -> (service, share of the contact centre's phone calls)
PHONE_QUEUES: dict[str, tuple[str, float]] = {
    "revenues": ("council-tax", 0.34),
    "benefits": ("benefits", 0.22),
    "environment": ("waste", 0.18),
    "housing": ("housing", 0.12),
    "planning": ("planning", 0.06),
    "parking": ("parking", 0.08),
}
SERVICES = ("council-tax", "benefits", "waste", "housing", "planning", "parking", "licensing", "general")
RESOLUTIONS = (("resolved", 0.78), ("referred", 0.08), ("callback", 0.06), ("escalated", 0.03), ("unresolved", 0.05))


@dataclass(frozen=True)
class ChannelPlan:
    """Yearly volume per council and how the channel is served."""

    per_year: float
    queue: str | None  # None: self-service (web, chatbot)
    staffed: bool = True  # arrivals only in opening hours
    mean_handle_s: float = 300.0
    patience_s: float | None = None  # None: never abandons (email)
    # back-office channels: the first reply after this mean delay in working seconds (within opening hours)
    answer_delay_s: float | None = None
    # and the full response (the contact's end) after this mean delay in working seconds; None: at once
    full_response_s: float | None = None


@dataclass(frozen=True)
class SimConfig:
    councils: tuple[str, ...] = ("boston", "east-lindsey", "south-holland")
    contact_centre_calls: float = 95_000  # per council per year
    switchboard_calls: float = 39_000
    website_visits: float = 460_000
    online_transaction_share: float = 0.25
    channels: dict[str, ChannelPlan] = field(
        default_factory=lambda: {
            "webchat": ChannelPlan(15_000, "webchat", mean_handle_s=420, patience_s=240),
            "chatbot": ChannelPlan(30_000, None, staffed=False),
            # acknowledged within a working day or so; answered in full after about three working days (8-hour
            # days), a few beyond ten: the customer care standards are met and missed as councils report them
            "email": ChannelPlan(
                20_000, "email", mean_handle_s=600, answer_delay_s=6 * 3600, full_response_s=3 * 8 * 3600
            ),
            "face_to_face": ChannelPlan(12_000, "reception", mean_handle_s=600, patience_s=1800),
            "video": ChannelPlan(800, "video-appointments", mean_handle_s=900, patience_s=600),
            "social": ChannelPlan(1_500, "social", mean_handle_s=300, answer_delay_s=2400),
        }
    )
    face_to_face_decline_per_year: float = 0.08
    open_hour: int = 9
    calendars: Calendars = field(default_factory=Calendars)  # when back-office replies are written
    close_hour: int = 17
    occupancy: float = 0.85
    understaff: dict[str, float] = field(default_factory=dict)  # queue -> staffing factor (incident)
    volume_multiplier: float = 1.0
    always_open: bool = False  # live demos: traffic at any hour
    p_hold: float = 0.3
    p_transfer: float = 0.07
    p_survey: float = 0.12
    p_repeat: float = 0.12
    p_anonymous: float = 0.25
    customers_per_council: int = 40_000


def _lognormal_median_scaled(rng: random.Random, mean: float) -> float:
    """Talk time with the calibrated lognormal shape, scaled to the channel's mean."""
    sigma = CALIBRATION.service_log_sigma
    mu = math.log(mean) - sigma**2 / 2
    return min(rng.lognormvariate(mu, sigma), mean * 12)


@dataclass(order=True)
class _Pending:
    at: float
    seq: int
    event: dict[str, Any] = field(compare=False)


class Simulation:
    def __init__(self, config: SimConfig, seed: int) -> None:
        self.cfg = config
        self.rng = random.Random(seed)
        self.seq = 0
        self.hour_profile = CALIBRATION.hour_profile
        self.weekday_profile = CALIBRATION.weekday_profile
        self.agents: dict[tuple[str, str], list[float]] = {}  # (council, queue) -> heap of free times
        self.pending: list[_Pending] = []
        self.deferred: list[tuple[float, int, tuple[Any, ...]]] = []  # later contacts: repeats, escalations

    # ----- arrival rates -----
    def _streams(self) -> list[tuple[str, str, str | None, str | None, float, ChannelPlan]]:
        """(council, channel, queue, service, calls per year, plan) for every arrival stream."""
        c = self.cfg
        out: list[tuple[str, str, str | None, str | None, float, ChannelPlan]] = []
        for council in c.councils:
            for queue, (service, share) in PHONE_QUEUES.items():
                plan = _phone_plan(c.contact_centre_calls * share, queue)
                out.append((council, "phone", queue, service, plan.per_year, plan))
            sb = ChannelPlan(c.switchboard_calls, "switchboard", mean_handle_s=60, patience_s=120)
            out.append((council, "phone", "switchboard", "general", sb.per_year, sb))
            web = ChannelPlan(c.website_visits * c.online_transaction_share, None, staffed=False)
            out.append((council, "web", None, None, web.per_year, web))
            for channel, plan in c.channels.items():
                out.append((council, channel, plan.queue, None, plan.per_year, plan))
        return out

    def _rate_per_second(self, per_year: float, plan: ChannelPlan, channel: str, t: datetime) -> float:
        c = self.cfg
        volume = per_year * c.volume_multiplier
        if channel == "face_to_face":
            volume *= (1 - c.face_to_face_decline_per_year) ** ((t - datetime(2026, 1, 1, tzinfo=UTC)).days / YEAR_DAYS)
        if c.always_open:
            return volume / (YEAR_DAYS * 86400)
        if plan.staffed:
            if t.weekday() >= 5 or not c.open_hour <= t.hour < c.close_hour:
                return 0.0
            hours = self.hour_profile[c.open_hour : c.close_hour]
            hour_share = self.hour_profile[t.hour] / sum(hours)
            day_share = self.weekday_profile[t.weekday()] / sum(self.weekday_profile[:5])
            return volume / (WORKING_DAYS / 5) * day_share * hour_share / 3600
        return volume / YEAR_DAYS * self.hour_profile[t.hour] / 3600

    def _staff(self, council: str, queue: str, per_year: float, plan: ChannelPlan) -> list[float]:
        """Agents for a queue: the peak-hour offered load over the target occupancy (times any incident factor)."""
        key = (council, queue)
        if key not in self.agents:
            c = self.cfg
            volume = per_year * c.volume_multiplier
            if c.always_open:
                peak_rate = volume / (YEAR_DAYS * 86400) * 1.2
            else:
                peak_rate = volume / WORKING_DAYS / ((c.close_hour - c.open_hour) * 3600) * 1.2
            handle = plan.mean_handle_s + 67 + c.p_hold * 70  # talk, after-contact work, holds
            n = max(1, math.ceil(peak_rate * handle / c.occupancy))
            n = max(1, round(n * c.understaff.get(queue, 1.0)))
            self.agents[key] = [0.0] * n
        return self.agents[key]

    # ----- the event stream -----
    def events(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        arrivals: list[tuple[float, int, tuple[Any, ...]]] = []
        streams = self._streams()
        for i, stream in enumerate(streams):
            t = self._next_arrival(stream, start.timestamp(), end.timestamp())
            if t is not None:
                heapq.heappush(arrivals, (t, i, stream))
        stop = end.timestamp()
        while arrivals or (self.deferred and self.deferred[0][0] < stop):
            if self.deferred and (not arrivals or self.deferred[0][0] <= arrivals[0][0]):
                t, _, args = heapq.heappop(self.deferred)
                if t >= stop:
                    continue
                yield from self._due(t)
                self._contact(t, *args)
                continue
            t, i, stream = heapq.heappop(arrivals)
            yield from self._due(t)
            self._contact(t, *stream[:5], plan=stream[5])
            nxt = self._next_arrival(stream, t, stop)
            if nxt is not None:
                heapq.heappush(arrivals, (nxt, i, stream))
        yield from self._due(math.inf)

    def _due(self, t: float) -> Iterator[dict[str, Any]]:
        while self.pending and self.pending[0].at <= t:
            yield heapq.heappop(self.pending).event

    def _defer(self, t: float, *args: Any) -> None:
        self.seq += 1
        heapq.heappush(self.deferred, (t, self.seq, args))

    def _next_arrival(self, stream: tuple[Any, ...], after: float, end: float) -> float | None:
        """Non-homogeneous Poisson arrivals, hour by hour (piecewise constant rate)."""
        _, channel, _, _, per_year, plan = stream
        t = after
        while t < end:
            now = datetime.fromtimestamp(t, UTC)
            rate = self._rate_per_second(per_year, plan, channel, now)
            hour_end = (now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).timestamp()
            if rate <= 0:
                t = hour_end
                continue
            gap = self.rng.expovariate(rate)
            if t + gap < hour_end:
                return t + gap if t + gap < end else None
            t = hour_end
        return None

    def _contact(
        self,
        t: float,
        council: str,
        channel: str,
        queue: str | None,
        service: str | None,
        per_year: float,
        plan: ChannelPlan,
        customer: str | None = None,
        repeat: bool = False,
    ) -> None:
        r = self.rng
        self.seq += 1
        cid = f"{channel[:2].upper()}-{self.seq:09d}"
        service = service or r.choice(SERVICES)
        if customer is None and r.random() > self.cfg.p_anonymous:
            customer = f"sim{council.replace('-', '')}{r.randrange(self.cfg.customers_per_council):07d}cust"
        source = f"/{council}/{_SYSTEMS[channel]}"
        base: dict[str, Any] = {"contact_id": cid, "council": council, "channel": channel, "service": service}
        if customer:
            base["customer_ref"] = customer
        if channel == "face_to_face":
            base["site"] = "customer-service-centre"
        n = 0

        def emit(type_: str, at: float, **data: Any) -> None:
            nonlocal n
            n += 1
            stamp = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            event = {
                "specversion": "1.0",
                "id": f"{council}-{cid}-{n}",
                "source": source,
                "type": type_,
                "time": stamp,
                "subject": cid,
                "data": {**base, **data},
            }
            heapq.heappush(self.pending, _Pending(at, self.seq * 100 + n, event))

        emit("contact.started", t)
        if queue is None:  # self-service: a web transaction or a chatbot conversation
            done = t + r.uniform(60, 900)
            emit("contact.ended", done)
            if channel == "chatbot" and r.random() < 0.15 and customer:  # escalates to a person on webchat
                chat = self.cfg.channels["webchat"]
                self._defer(
                    done + r.uniform(10, 300),
                    council,
                    "webchat",
                    "webchat",
                    service,
                    chat.per_year,
                    chat,
                    customer,
                    True,
                )
            return
        qt = t + r.uniform(0, 15)
        emit("contact.queued", qt, queue=queue)
        heap = self._staff(council, queue, per_year, plan)
        free = heap[0]
        if plan.answer_delay_s is not None:
            start = self._working(qt, r.expovariate(1 / plan.answer_delay_s), council, channel)
        else:
            start = max(qt, free)
            patience = r.expovariate(1 / plan.patience_s) if plan.patience_s else math.inf
            if start - qt > patience:
                emit("contact.ended", qt + patience)
                self._maybe_repeat(t, council, service, customer)
                return
        self._serve(emit, start, council, channel, service, customer, plan, heap, repeat, t)

    def _serve(
        self,
        emit: Callable[..., None],
        start: float,
        council: str,
        channel: str,
        service: str,
        customer: str | None,
        plan: ChannelPlan,
        heap: list[float],
        repeat: bool,
        t: float,
    ) -> None:
        """Answered: talk, maybe a hold and a transfer, end, after-contact work, maybe a survey and a repeat."""
        r = self.rng
        talk = _lognormal_median_scaled(r, plan.mean_handle_s)
        agent = f"agent-{r.randrange(1, 60):03d}"
        emit("contact.answered", start, agent_ref=agent)
        at = start
        if r.random() < self.cfg.p_hold and channel in ("phone", "video"):
            at = start + talk * r.uniform(0.2, 0.6)
            hold = r.lognormvariate(math.log(60), 0.8)
            emit("contact.hold_started", at)
            emit("contact.hold_ended", at + hold)
            talk += hold
        end = start + talk
        if plan.full_response_s is not None:
            end = self._working(start, _lognormal_median_scaled(r, plan.full_response_s), council, channel)
        if r.random() < self.cfg.p_transfer and channel == "phone":
            tr = start + talk * 0.5
            emit("contact.transferred", tr, queue="second-line")
            emit("contact.answered", tr + r.expovariate(1 / 45), agent_ref=f"agent-{r.randrange(60, 80):03d}")
            end += r.uniform(60, 240)
        emit("contact.ended", end)
        acw = r.uniform(15, 120)
        if plan.answer_delay_s is None:
            heapq.heapreplace(heap, end + acw)
        resolution = _pick(r, RESOLUTIONS)
        emit("contact.wrapped_up", end + acw, resolution=resolution)
        if r.random() < self.cfg.p_survey:
            emit(
                "contact.surveyed",
                end + r.uniform(60, 2 * 86400),
                rating=_pick(r, ((5, 0.55), (4, 0.25), (3, 0.1), (2, 0.05), (1, 0.05))),
            )
        if resolution != "resolved" or not repeat:
            self._maybe_repeat(t, council, service, customer, 0.5 if resolution != "resolved" else None)

    def _working(self, t: float, seconds: float, council: str, channel: str) -> float:
        """``seconds`` of working time after ``t`` by the council's working calendar: replies are written
        only in opening hours, so a reply due after closing comes the next working morning."""
        due = self.cfg.calendars.of(council).due_after_working_seconds(round(t * US), seconds, channel)
        return t + seconds if due is None else due / US

    def _maybe_repeat(self, t: float, council: str, service: str, customer: str | None, p: float | None = None) -> None:
        """Some customers come back about the same thing, often on another channel."""
        r = self.rng
        if customer is None or r.random() >= (p if p is not None else self.cfg.p_repeat):
            return
        later = t + r.uniform(0.2, 10) * 86400
        channel = _pick(r, (("phone", 0.5), ("email", 0.2), ("webchat", 0.2), ("face_to_face", 0.1)))
        if channel == "phone":
            queue = next((q for q, (s, _) in PHONE_QUEUES.items() if s == service), "switchboard")
            plan = _phone_plan(self.cfg.contact_centre_calls, queue)
        else:
            plan = self.cfg.channels[channel]
            queue = plan.queue or channel
        self._defer(later, council, channel, queue, service, plan.per_year, plan, customer, True)


def _phone_plan(per_year: float, queue: str) -> ChannelPlan:
    """Contact-centre phone queues: calibrated patience, council-length calls."""
    return ChannelPlan(per_year, queue, mean_handle_s=330, patience_s=CALIBRATION.patience_mean_seconds)


_SYSTEMS = {
    "phone": "telephony/acd", "webchat": "webchat/live", "chatbot": "webchat/bot", "email": "casework/inbox",
    "web": "web/forms", "face_to_face": "frontdesk/queue", "video": "frontdesk/video", "social": "social/inbox",
}  # fmt: skip


def _pick(r: random.Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    x = r.random() * sum(w for _, w in weighted)
    for value, w in weighted:
        x -= w
        if x <= 0:
            return value
    return weighted[-1][0]
