"""Session records in Redis: one JSON string per conversation, written with its TTL in one SET.

A callback system outside this service reads `elevenlabs:session:{conversationId}` to push
"your task is done" into the live agent, so the record's shape is part of the wire contract.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

from django.conf import settings

from agent_conversations import store as conversation_store
from elevenlabs_agent.encoding import dumps, loads
from elevenlabs_agent.redis import LuaScript, commands, confirmed_commands, store_operation
from elevenlabs_agent.timestamps import now_js_iso

SCHEMA_VERSION = 1

logger = logging.getLogger(__name__)


def session_key(conversation_id: str) -> str:
    """The contract's key for a conversation's live session."""
    return f"elevenlabs:session:{conversation_id}"


class SessionRecord(TypedDict):
    """What is stored under `session_key`, field names exactly as the callback system reads them."""

    conversationId: str
    sessionId: NotRequired[str]
    sessionUrl: str
    wsUrl: str
    sessionPayload: dict[str, Any]
    expiresAt: NotRequired[str]
    transport: NotRequired[Literal["websocket", "webrtc"]]
    metadata: dict[str, Any]
    createdAt: NotRequired[str]  # absent only in records from writers that did not keep it
    ttl: int
    schemaVersion: int


@dataclass(frozen=True)
class StoredSession:
    """A session read back, with how long Redis will still keep it."""

    record: SessionRecord
    expires_in_seconds: int | None  # None: stored without expiry by some other writer


def _ws_url(session_payload: dict[str, Any], session_url: str) -> str:
    # The SDK puts the socket URL at the top of its payload or, in newer versions, under
    # `config`; the URL the browser connected to is the last resort.
    config = session_payload.get("config")
    nested = config.get("wsUrl") if isinstance(config, dict) else None
    return session_payload.get("wsUrl") or nested or session_url


@dataclass(frozen=True)
class Registration:
    record: SessionRecord
    conversation_created: bool


@store_operation
def session_set(
    *,
    conversation_id: str,
    session_url: str,
    session_payload: dict[str, Any] | None = None,
    session_id: str | None = None,
    expires_at: str | None = None,
    transport: Literal["websocket", "webrtc"] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Registration:
    """Store (or replace) a conversation's session and restart its TTL; last writer wins.

    Sessions start conversations: the conversation is created if it does not exist, else
    counted as used, in the same atomic step as the record (one Redis call; a crash cannot
    leave a session without its conversation).
    """
    ttl = settings.SESSION_TTL_SECONDS
    # The raw push-capable payload from the ElevenLabs JS SDK is what lets the callback system
    # reach the live agent later; a session id alone can never do that. So it is stored exactly
    # as the browser sent it, never reshaped, and synthesised from the URL only when absent.
    payload = session_payload if session_payload is not None else {"wsUrl": session_url}
    record: SessionRecord = {
        "conversationId": conversation_id,
        "sessionUrl": session_url,
        "wsUrl": _ws_url(payload, session_url),
        "sessionPayload": payload,
        "metadata": metadata if metadata is not None else {},
        "createdAt": now_js_iso(),
        "ttl": ttl,
        "schemaVersion": SCHEMA_VERSION,
    }
    if session_id is not None:
        record["sessionId"] = session_id
    if expires_at is not None:
        record["expiresAt"] = expires_at
    if transport is not None:
        record["transport"] = transport
    # The session id is ElevenLabs' own id for the call. Its server tools and its post-call
    # transcript name the call only by that id, and they come after this 10-minute record is
    # gone, so the conversation store maps it to our conversation for as long as the
    # conversation lives (agent_tasks and the post-call webhook look it up).
    created = conversation_store.conversation_ensure(
        conversation_id=conversation_id,
        companion=conversation_store.Companion(session_key(conversation_id), dumps(record), ttl),
        elevenlabs_id=session_id,
    )
    return Registration(record=record, conversation_created=created)


def _complete_record(conversation_id: str, stored: dict[str, Any]) -> SessionRecord:
    """Fill in what older writers left out, including the earlier Node service's shape.

    That service nested wsUrl, sessionUrl, sessionPayload and expiresAt under `metadata`.
    """
    metadata = stored.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}

    def field(name: str) -> Any:
        value = stored.get(name)
        return value if value is not None else metadata.get(name)

    ttl = stored.get("ttl")
    session_url = field("sessionUrl") or field("wsUrl") or ""
    payload = field("sessionPayload")
    payload = payload if isinstance(payload, dict) else {"wsUrl": session_url}
    record: SessionRecord = {
        "conversationId": stored.get("conversationId") or conversation_id,
        "sessionUrl": session_url,
        "wsUrl": field("wsUrl") or _ws_url(payload, session_url),
        "sessionPayload": payload,
        "metadata": metadata,
        "ttl": ttl if isinstance(ttl, int) else settings.SESSION_TTL_SECONDS,
        "schemaVersion": stored.get("schemaVersion") or SCHEMA_VERSION,
    }
    session_id = stored.get("sessionId") or stored.get("agentSessionId")
    for name, value in (
        ("sessionId", session_id),
        ("expiresAt", field("expiresAt")),
        ("transport", stored.get("transport")),
        ("createdAt", stored.get("createdAt")),
    ):
        if value is not None:
            record[name] = value  # type: ignore[literal-required]
    return record


@store_operation
def session_get(*, conversation_id: str) -> StoredSession | None:
    """The conversation's live session, or None when there is none or it has expired."""
    key = session_key(conversation_id)
    raw, ttl = commands(("GET", key), ("TTL", key))  # one round trip
    if raw is None or ttl == -2:  # -2: expired in between
        return None
    try:
        stored = loads(raw)
    except ValueError:  # not JSON: nothing a callback could use
        logger.warning("Ignoring an unreadable session record at %s", key)
        return None
    if not isinstance(stored, dict):
        return None
    return StoredSession(
        record=_complete_record(conversation_id, stored),
        expires_in_seconds=ttl if ttl >= 0 else None,  # -1: stored without expiry
    )


@store_operation
def session_delete(*, conversation_id: str) -> bool:
    """Remove the conversation's session; True if there was one."""
    return bool(confirmed_commands(("DEL", session_key(conversation_id)))[0])


# A session lives as long as its call: every sign of life (a voice message, a tool call, the
# agent asking about its tasks, an open live-update socket's keepalive) gives it
# SESSION_TTL_SECONDS more from then, and the call's end removes it.
_END_CALL = LuaScript(Path(__file__).parent / "lua" / "end_call.lua")


def session_alive_command(conversation_id: str) -> tuple[str, str, int]:
    """The command that gives the session SESSION_TTL_SECONDS more from now (a no-op once it
    is gone), for a store that sends it with a write of its own."""
    return "PEXPIRE", session_key(conversation_id), settings.SESSION_TTL_SECONDS * 1000


@store_operation
def session_alive(*, conversation_id: str) -> None:
    """A sign the call is alive: its session lives on SESSION_TTL_SECONDS from now."""
    commands(session_alive_command(conversation_id))


@store_operation
def session_end(*, conversation_id: str, call_id: str) -> bool:
    """The call `call_id` is over: its session is removed (a newer call's is kept)."""
    return bool(_END_CALL([session_key(conversation_id)], [call_id]))
