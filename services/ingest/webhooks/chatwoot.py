"""Chatwoot (open-source webchat): its account webhook's payloads as contract events.

Formats: chatwoot/docs ``docs/product/others/webhook-events.md``; chatwoot/chatwoot
``app/listeners/webhook_listener.rb`` and ``app/presenters/conversations/event_data_presenter.rb``
(a conversation event is the conversation itself; a message event carries it under ``conversation``).

- ``conversation_created`` → started and queued (the team, else the inbox's queue from the webhooks file,
  else ``inbox-<id>``);
- the first outgoing, non-private message from an agent (sender type ``user``) → answered;
- ``conversation_status_changed`` to resolved (or the older ``conversation_resolved``) → ended and
  wrapped_up(resolved); back to open or pending after that → a new contact, ``<name>:<id>:r<epoch>``;
- ``message_updated`` of an ``input_csat`` message with a rating → surveyed(rating).

A contact is the account's conversation (the webhook is per account: ``account`` in the webhooks file).
Which contact a message belongs to, and whether it was answered, is the mapper's state, rebuilt from the
webhooks topic after a restart; each transition happens once however often a payload is delivered.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from services.ingest.sources import JSON_BODY, Option, Source
from services.ingest.webhooks.adapter import (
    Emit,
    KeyFor,
    State,
    Unmappable,
    cloudevent,
    cut,
    parse_time,
    pointer,
    pseudonymise,
)

VENDOR = "chatwoot"
CONVERSATION_EVENTS = frozenset(
    {"conversation_created", "conversation_status_changed", "conversation_resolved", "conversation_opened"}
)
MESSAGE_EVENTS = frozenset({"message_created", "message_updated"})
# Chatwoot's inbox channel types; messaging apps and SMS are the contract's "social"
CHANNELS = {"Channel::WebWidget": "webchat", "Channel::Api": "webchat", "Channel::Email": "email",
            "Channel::FacebookPage": "social", "Channel::TwitterProfile": "social", "Channel::Instagram": "social",
            "Channel::Whatsapp": "social", "Channel::Telegram": "social", "Channel::Line": "social",
            "Channel::Sms": "social", "Channel::TwilioSms": "social"}  # fmt: skip
_CONVERSATION_FIELDS = ("/id", "/inbox_id", "/channel", "/status", "/created_at", "/updated_at", "/timestamp",
                        "/meta/team/name", "/meta/team/id", "/account/id", "/account_id",
                        "/messages/0/account_id")  # fmt: skip
_MESSAGE_FIELDS = ("/event", "/id", "/created_at", "/message_type", "/private", "/content_type", "/sender/id",
                   "/sender/type", "/account/id", "/inbox/id",
                   "/content_attributes/submitted_values/csat_survey_response/rating")  # fmt: skip
SOURCE = Source(
    VENDOR,
    "webhook",
    "Chatwoot (open-source webchat): its account webhook",
    "webchat/chatwoot",
    "services.ingest.webhooks.chatwoot:build",
    "https://github.com/chatwoot/docs/blob/main/docs/product/others/webhook-events.md",
    (
        Option("account", "the Chatwoot account's number (its webhook is per account)", int, required=True),
        Option("queues", "inbox id -> queue, for conversations without a team", dict, dict),
        Option("channel", "the contract channel of every conversation (default: from the inbox's type)"),
        Option("service", "the service of every conversation"),
    ),
)
OUTGOING = ("outgoing", 1)  # the message_type enum as a name (message events) or a number (in messages[])


@dataclass(slots=True)
class Contact:
    contact_id: str
    generation: str  # "0", or "r<epoch>" for a reopening
    start: datetime
    answered: bool = False
    ended: bool = False


@dataclass(slots=True)
class Conversation:
    contacts: list[Contact] = field(default_factory=list)
    seen: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))


@dataclass(frozen=True)
class Chatwoot:
    name: str
    council: str
    source: str
    account: int
    queues: dict[str, str] = field(default_factory=dict)  # inbox id -> queue slug
    channel: str | None = None  # else from the inbox's channel type
    service: str | None = None
    vendor: str = VENDOR
    content_type: str = JSON_BODY  # Chatwoot posts JSON

    # ---- at the gateway ----
    def admit(self, payload: Any, key_for: KeyFor) -> tuple[bytes | None, dict[str, Any]]:
        if not isinstance(payload, dict):
            raise Unmappable("not_object", "a Chatwoot webhook payload is a JSON object")
        event = payload.get("event")
        conv_at = "" if event in CONVERSATION_EVENTS else "/conversation"
        fields = [*_MESSAGE_FIELDS, *(conv_at + f for f in _CONVERSATION_FIELDS)]
        kept = cut(payload, fields)
        sender = payload.get("meta") if conv_at == "" else (payload.get("conversation") or {}).get("meta")
        contact = sender.get("sender") if isinstance(sender, dict) else None
        if isinstance(contact, dict):
            ref = pseudonymise("email", contact.get("email"), self.council, key_for) or pseudonymise(
                "phone", contact.get("phone_number"), self.council, key_for
            )
            if ref:
                kept["customer_ref"] = ref
        conv = kept if conv_at == "" else kept.get("conversation", {})
        key = f"{self.name}:{conv.get('id')}".encode() if conv.get("id") is not None else None
        return key, kept

    # ---- after Kafka ----
    def map(self, payload: dict[str, Any], received_us: int, state: State) -> list[dict[str, Any]]:
        event = payload.get("event")
        if event in CONVERSATION_EVENTS:
            conv = payload
        elif event in MESSAGE_EVENTS:
            conv = payload.get("conversation") or {}
        else:
            return []  # contact_created, webwidget_triggered, typing and the rest: nothing to count
        account = _account(payload)
        if account is not None and str(account) != str(self.account):
            raise Unmappable("account_mismatch", f"account {account}, this webhook is account {self.account}")
        if conv.get("id") is None:
            raise Unmappable("missing:conversation_id", f"a {event} payload without the conversation's id")
        received = datetime.fromtimestamp(received_us / 1e6, UTC)
        memory: Conversation = state.setdefault(str(conv["id"]), Conversation())
        emits = self._transitions(str(event), payload, conv, memory, received)
        memory.seen = max(memory.seen, received)
        ref = payload.get("customer_ref")  # the pseudonym the gateway made of the contact's email or phone
        return [
            cloudevent(self, replace(e, data={**e.data, "customer_ref": ref}), conv["id"], *ids) for e, ids in emits
        ]

    def _transitions(
        self, event: str, p: dict[str, Any], conv: dict[str, Any], memory: Conversation, received: datetime
    ) -> list[tuple[Emit, tuple[object, ...]]]:
        if event == "conversation_created":
            return self._start(conv, memory, self._conv_time(conv, "created_at", received), first=True)
        if event in ("conversation_status_changed", "conversation_resolved", "conversation_opened"):
            status = "resolved" if event == "conversation_resolved" else conv.get("status")
            at = self._conv_time(conv, "updated_at", received)
            if status == "resolved":
                out = self._start(conv, memory, self._conv_time(conv, "created_at", at), first=True)
                return out + self._resolve(memory.contacts[-1], conv, at)
            if status in ("open", "pending"):
                return self._start(conv, memory, at, first=not memory.contacts)
            return []  # snoozed
        message_at = parse_time(p.get("created_at")) if p.get("created_at") is not None else received
        if event == "message_created":
            out = self._start(conv, memory, self._conv_time(conv, "created_at", message_at), first=True)
            agent = (p.get("sender") or {}).get("type") == "user"
            current = memory.contacts[-1]
            if (
                p.get("message_type") in OUTGOING
                and p.get("private") is not True
                and agent
                and not (current.answered or current.ended)
            ):
                current.answered = True
                ref = f"cw{self.account}-user-{(p.get('sender') or {}).get('id')}"
                out.append(
                    (
                        self._emit("contact.answered", current, conv, message_at, agent_ref=ref),
                        (current.generation, "answered"),
                    )
                )
            return out
        rating = (
            ((p.get("content_attributes") or {}).get("submitted_values") or {}).get("csat_survey_response") or {}
        ).get("rating")
        if p.get("content_type") != "input_csat" or rating is None:
            return []
        if not (isinstance(rating, int) and 1 <= rating <= 5):
            raise Unmappable("bad_rating", f"CSAT rating {str(rating)[:20]!r} is not 1 to 5")
        owner = next((c for c in reversed(memory.contacts) if c.start <= message_at), None)
        contact = owner or Contact(self._contact_id(conv, "0"), "0", message_at)
        surveyed = self._emit("contact.surveyed", contact, conv, received, rating=rating)
        return [(surveyed, ("msg", p.get("id"), "surveyed"))]

    def _start(
        self, conv: dict[str, Any], memory: Conversation, at: datetime, first: bool
    ) -> list[tuple[Emit, tuple[object, ...]]]:
        """Started and queued, for the first contact of a conversation or for a reopening."""
        if memory.contacts and (first or not memory.contacts[-1].ended):
            return []  # known already, or still open: a repeat delivery or a status change within the contact
        generation = "0" if not memory.contacts else f"r{int(at.timestamp())}"
        contact = Contact(self._contact_id(conv, generation), generation, at)
        memory.contacts.append(contact)
        queue = self._queue(conv)
        return [
            (self._emit("contact.started", contact, conv, at), (generation, "started")),
            (self._emit("contact.queued", contact, conv, at, queue=queue), (generation, "queued")),
        ]

    def _resolve(self, contact: Contact, conv: dict[str, Any], at: datetime) -> list[tuple[Emit, tuple[object, ...]]]:
        if contact.ended or at < contact.start:
            return []  # resolved already, or a late repeat of an earlier contact's resolution
        contact.ended = True
        return [
            (self._emit("contact.ended", contact, conv, at), (contact.generation, "ended")),
            (
                self._emit("contact.wrapped_up", contact, conv, at, resolution="resolved"),
                (contact.generation, "wrapped_up"),
            ),
        ]

    def _emit(self, type_: str, contact: Contact, conv: dict[str, Any], at: datetime, **extra: Any) -> Emit:
        channel = self.channel or CHANNELS.get(str(conv.get("channel")), "webchat")
        data = {"channel": channel, "service": self.service, **extra}
        return Emit(type_, contact.contact_id, max(at, contact.start), data)

    def _contact_id(self, conv: dict[str, Any], generation: str) -> str:
        base = f"cw{self.account}-{conv['id']}"
        return base if generation == "0" else f"{base}-{generation}"

    def _queue(self, conv: dict[str, Any]) -> str:
        team = ((conv.get("meta") or {}).get("team") or {}).get("name")
        if isinstance(team, str) and _slug(team):
            return _slug(team)
        inbox = conv.get("inbox_id")
        if inbox is None or inbox == "":
            raise Unmappable("missing:inbox_id", "a conversation with neither a team nor an inbox")
        return self.queues.get(str(inbox), f"inbox-{inbox}")

    @staticmethod
    def _conv_time(conv: dict[str, Any], name: str, default: datetime) -> datetime:
        """A conversation's time: its ``name`` (newer Chatwoot), else ``timestamp`` (last activity), else default."""
        for key in (name, "timestamp"):
            if conv.get(key):
                return parse_time(conv[key])
        return default


def build(name: str, council: str, source: str, o: dict[str, Any]) -> Chatwoot:
    """The adapter of a ``[webhook.NAME] vendor = "chatwoot"`` table (its options checked by SOURCE)."""
    queues = {str(k): str(v) for k, v in o["queues"].items()}
    return Chatwoot(name, council, source, o["account"], queues, o["channel"], o["service"])


def _account(payload: dict[str, Any]) -> Any:
    """The account a payload says it is of: ``account.id`` (message events), else the conversation's
    ``account_id``, else its first message's (conversation events carry it there)."""
    for path in ("/account/id", "/account_id", "/messages/0/account_id"):
        value = pointer(payload, path)
        if value is not None:
            return value
    return None


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in text.strip().lower())
    return "-".join(p for p in out.split("-") if p)[:64]
