"""Chatwoot webhook payloads in the vendor's own format, for tests.

Built from the payload samples of chatwoot/docs ``docs/product/others/webhook-events.md`` (commit
22c756cbf01bb5bc97f453854e693de03131c908: conversation_status_changed, message_created, message_updated)
and chatwoot/chatwoot ``app/presenters/conversations/event_data_presenter.rb`` (the conversation object:
``id`` is the display id, ``inbox_id``, ``channel``, ``status``, ``meta.sender``/``meta.assignee``,
``timestamp`` the last activity in epoch seconds) and ``app/listeners/webhook_listener.rb`` (the
conversation events are the conversation itself plus ``event``; message events carry it under
``conversation``, the account under ``account``). The CSAT answer is an ``input_csat`` message whose
``content_attributes.submitted_values.csat_survey_response.rating`` holds the rating (chatwoot/chatwoot
``app/javascript/sdk`` and the widget's CSAT submission).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

ACCOUNT = 1


def conversation(
    conv_id: int,
    at: datetime,
    status: str = "open",
    inbox_id: int = 1,
    email: str | None = "jane@acme.inc",
    team: str | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "sender": {
            "additional_attributes": {},
            "custom_attributes": {},
            "email": email,
            "id": 12,
            "identifier": None,
            "name": "jane",
            "phone_number": None,
            "pubsub_token": "s76CptSuowp4BDcBom2q7aNX",
            "thumbnail": "",
            "type": "contact",
        },
        "assignee": {
            "id": 1,
            "name": "John",
            "available_name": "John",
            "type": "user",
            "availability_status": "online",
        },
    }
    if team is not None:
        meta["team"] = {"id": 3, "name": team}
    return {
        "additional_attributes": {
            "browser": {"device_name": "Unknown", "browser_name": "Chrome", "platform_name": "macOS"},
            "referer": "https://www.boston.gov.uk/",
        },
        "can_reply": True,
        "channel": "Channel::WebWidget",
        "id": conv_id,
        "inbox_id": inbox_id,
        "contact_inbox": {
            "id": 12,
            "contact_id": 12,
            "inbox_id": inbox_id,
            "source_id": "405f1d30-1af3-4fa0-8ffd-11ea3f86101e",
            "hmac_verified": False,
        },
        "messages": [],
        "meta": meta,
        "status": status,
        "unread_count": 0,
        "agent_last_seen_at": 0,
        "contact_last_seen_at": 0,
        "timestamp": int(at.timestamp()),
    }


def conversation_event(event: str, conv: dict[str, Any]) -> dict[str, Any]:
    return {**conv, "event": event}


def message(
    event: str,
    msg_id: int,
    conv: dict[str, Any],
    at: datetime,
    message_type: str = "incoming",
    sender_type: str = "contact",
    private: bool = False,
    content: str = "hi",
    content_type: str = "text",
    content_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    sender = {
        "id": 14 if sender_type == "contact" else 1,
        "name": "little-haze-776" if sender_type == "contact" else "John",
        "avatar": "",
        "type": sender_type,
    }
    return {
        "id": msg_id,
        "content": content,
        "created_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "message_type": message_type,
        "content_type": content_type,
        "private": private,
        "content_attributes": content_attributes or {},
        "source_id": None,
        "sender": sender,
        "inbox": {"id": conv["inbox_id"], "name": "Boston Council"},
        "conversation": conv,
        "account": {"id": ACCOUNT, "name": "Boston Borough Council"},
        "event": event,
    }


def csat(msg_id: int, conv: dict[str, Any], at: datetime, rating: Any) -> dict[str, Any]:
    attrs = {"submitted_values": {"csat_survey_response": {"rating": rating, "feedback_message": "quick, thanks"}}}
    return message(
        "message_updated",
        msg_id,
        conv,
        at,
        message_type="template",
        sender_type="contact",
        content="Please rate the conversation",
        content_type="input_csat",
        content_attributes=attrs,
    )
