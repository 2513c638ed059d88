"""Tasks: the agent's tool calls, run by cursor-runner, tracked from dispatch to callback.

  elevenlabs:task:{requestId}   JSON TaskRecord, expiring TASK_TTL_SECONDS after it starts

Each step is one Lua script that also writes the conversation (agent_conversations/store.py's
`conversation_script`), so a task and its messages never disagree:
  task_start     the record (pending) and the message `task:{requestId}:started`
  task_refused   cursor-runner would not take it: both become failed
  task_finish    the callback: the record completed or failed, the message
                 `task:{requestId}:done`, and a push for the live agent when the conversation
                 has a session (sent over the live-update socket until acknowledged)
A step that finds the task changed since the caller read it writes nothing (-3): whoever
changed it first decides, so concurrent or repeated callbacks store one result.
"""

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

from django.conf import settings

from agent_conversations import store as conversations
from agent_conversations.store import AgentMessage
from agent_sessions.store import session_alive_command, session_key
from agent_tasks import speech
from elevenlabs_agent import metrics
from elevenlabs_agent.cluster import hash_tag, shard_of
from elevenlabs_agent.encoding import dumps, loads
from elevenlabs_agent.redis import (
    cluster_mode,
    commands,
    confirmed_commands,
    redis_client,
    store_operation,
)
from elevenlabs_agent.timestamps import now_js_iso

TaskStatus = Literal["pending", "completed", "failed"]

LUA = Path(__file__).parent / "lua"
_START = conversations.conversation_script(LUA / "task_start.lua")
_FINISH = conversations.conversation_script(LUA / "task_check.lua", LUA / "task_finish.lua")
_REFUSED = conversations.conversation_script(LUA / "task_check.lua", LUA / "task_refused.lua")

# The scripts' answer when the task changed since the caller read it (nothing was written).
_TASK_CHANGED = -3

PUSH = "agent_session.push"


def task_key(request_id: str) -> str:
    """In cluster mode with the hash tag of the request id's shard, which `new_request_id`
    makes its conversation's: a task and its conversation are written in one script."""
    tag = hash_tag(request_id) + ":" if cluster_mode() else ""
    return f"elevenlabs:task:{tag}{request_id}"


def new_request_id(conversation_id: str) -> str:
    """A new UUID4; in cluster mode one in the conversation's shard (1 draw in SHARDS hits)."""
    request_id = str(uuid.uuid4())
    if cluster_mode():
        while shard_of(request_id) != shard_of(conversation_id):
            request_id = str(uuid.uuid4())
    return request_id


class TaskRecord(TypedDict):
    """What is stored under `task_key` and answered by GET /tasks/{requestId}."""

    requestId: str
    conversationId: str
    toolName: str
    toolArgs: dict[str, Any]
    status: TaskStatus
    createdAt: str
    updatedAt: NotRequired[str]
    output: NotRequired[str]
    error: NotRequired[str]


@dataclass(frozen=True)
class StoredTask:
    """A task as read, with its stored bytes: a later step writes only if they are unchanged."""

    record: TaskRecord
    stored: bytes


@dataclass(frozen=True)
class StartedTask:
    task: StoredTask
    message: AgentMessage  # the pending message, as stored
    message_index: int  # its place in the conversation's messages


class ConversationGone(Exception):
    """The task's conversation no longer exists (deleted or expired)."""


class ConversationFull(Exception):
    """The conversation is at its caps: the task's message cannot be stored."""


def started_message_id(request_id: str) -> str:
    return f"task:{request_id}:started"


def done_message_id(request_id: str) -> str:
    return f"task:{request_id}:done"


def delivery_id(request_id: str) -> str:
    return f"task:{request_id}"


def _started_message(record: TaskRecord, status: TaskStatus, content: str) -> AgentMessage:
    return {
        "messageId": started_message_id(record["requestId"]),
        "role": "tool",
        "content": content,
        "timestamp": record["createdAt"],
        "source": "tool_output",
        "toolName": record["toolName"],
        "toolArgs": record["toolArgs"],
        "status": status,
    }


@store_operation
def task_start(*, conversation_id: str, tool_name: str, tool_args: dict[str, Any]) -> StartedTask:
    """Record a new pending task and its `started` message, before it is dispatched.

    Raises ConversationGone or ConversationFull, having stored nothing.
    """
    record: TaskRecord = {
        "requestId": new_request_id(conversation_id),
        "conversationId": conversation_id,
        "toolName": tool_name,
        "toolArgs": tool_args,
        "status": "pending",
        "createdAt": now_js_iso(),
    }
    stored = dumps(record)
    message = _started_message(record, "pending", f"{tool_name} started")
    # Cluster mode: the session is in another slot, and is kept alive right after.
    session = [] if cluster_mode() else [session_key(conversation_id)]
    outcome, index = conversations.conversation_call(
        _START, conversation_id,
        stored, settings.TASK_TTL_SECONDS * 1000, message["messageId"], dumps(message),
        settings.SESSION_TTL_SECONDS * 1000,
        extra_keys=[task_key(record["requestId"]), *session],
    )  # fmt: skip
    if outcome == conversations.UNKNOWN_CONVERSATION:
        raise ConversationGone
    if outcome == conversations.FULL:
        raise ConversationFull
    if not session:
        commands(session_alive_command(conversation_id))
    metrics.TASKS.labels("pending").inc()
    return StartedTask(StoredTask(record, stored), message, index)


@store_operation
def task_get(*, request_id: str) -> StoredTask | None:
    stored: bytes | None = redis_client().get(task_key(request_id))  # type: ignore[assignment]
    return None if stored is None else StoredTask(loads(stored), stored)


def _finished(record: TaskRecord, status: TaskStatus, **result: str) -> TaskRecord:
    finished: TaskRecord = {**record, "status": status, "updatedAt": now_js_iso()}
    finished.update(result)  # type: ignore[typeddict-item]
    return finished


@store_operation
def task_refused(*, started: StartedTask, error: str) -> bool:
    """cursor-runner did not take the task: it and its message become failed. False if a
    callback finished it first (then that result stands)."""
    record = started.task.record
    failed = _finished(record, "failed", error=error)
    message = _started_message(record, "failed", f"{record['toolName']} could not start")
    answer = conversations.conversation_call(
        _REFUSED, record["conversationId"],
        started.task.stored, dumps(failed), started.message_index, dumps(started.message),
        dumps(message),
        extra_keys=[task_key(record["requestId"])],
    )  # fmt: skip
    if answer == _TASK_CHANGED:
        return False
    metrics.TASKS.labels("failed").inc()
    return True


def summary(record: TaskRecord, succeeded: bool, result: str | None) -> str:
    """One line for the conversation and the live agent: the tool, how it went, and the start
    of what it reported."""
    headline = f"{record['toolName']} {'completed' if succeeded else 'failed'}"
    first_line = (result or "").strip().split("\n", 1)[0]
    if len(first_line) > 200:
        first_line = first_line[:199] + "…"
    return f"{headline}: {first_line}" if first_line else headline


@store_operation
def task_finish(*, task: StoredTask, succeeded: bool, result: str | None) -> TaskRecord | None:
    """Record the callback's outcome; None if the task changed since `task` was read (another
    callback finished it). Raises ConversationGone, having stored nothing."""
    record = task.record
    request_id = record["requestId"]
    status: TaskStatus = "completed" if succeeded else "failed"
    outcome: dict[str, str] = {}
    if result is not None:
        outcome["output" if succeeded else "error"] = result
    finished = _finished(record, status, **outcome)
    text = summary(record, succeeded, result)
    message: AgentMessage = {
        "messageId": done_message_id(request_id),
        "role": "tool",
        "content": text,
        "timestamp": finished["updatedAt"],
        "source": "tool_output",
        "toolName": record["toolName"],
        "status": status,
    }
    if result is not None:
        message["toolOutput"] = result
    conversation_id = record["conversationId"]
    # The browser holding the ElevenLabs socket relays `event` with the SDK's
    # sendContextualUpdate: context the agent should know without a user turn.
    frame = {
        "type": PUSH,
        "conversationId": conversation_id,
        "deliveryId": delivery_id(request_id),
        "event": {"type": "contextual_update", "text": speech.task_sentence(finished)},
    }
    if cluster_mode():  # the session is in another slot: whether it exists is read first
        session, session_seen = [], [b"1" if _session_exists(conversation_id) else b"0"]
    else:
        session, session_seen = [session_key(conversation_id)], []
    answer = conversations.conversation_call(
        _FINISH, conversation_id,
        task.stored, dumps(finished), message["messageId"], dumps(message),
        frame["deliveryId"], conversations.pending_push(frame, while_key=task_key(request_id)),
        dumps(frame), *session_seen,
        extra_keys=[task_key(request_id), conversations.pushes_key(conversation_id), *session],
    )  # fmt: skip
    if answer == _TASK_CHANGED:
        return None
    if answer == conversations.UNKNOWN_CONVERSATION:
        raise ConversationGone
    metrics.TASKS.labels(status).inc()
    metrics.PUSHES.labels("offered").inc()  # kept for the agent while its session lives
    return finished


# The `task_status` tool tells of this many of a conversation's tasks when it names none.
RECENT_TASKS = 5


@store_operation
def recent_tasks(*, conversation_id: str) -> list[TaskRecord]:
    """The conversation's latest tasks that still exist, newest first: found through the
    index of its messages (each task has a `started` message), read in one call."""
    index = redis_client().hscan_iter(
        conversations.message_index_key(conversation_id), match="task:*:started", count=1000
    )
    newest = sorted(((int(at), message_id.decode()) for message_id, at in index), reverse=True)
    request_ids = [message_id.split(":")[1] for _, message_id in newest[:RECENT_TASKS]]
    if not request_ids:
        return []
    stored = redis_client().mget([task_key(request_id) for request_id in request_ids])
    return [loads(record) for record in stored if record is not None]


@store_operation
def tasks_told(*, conversation_id: str, request_ids: list[str]) -> None:
    """The agent was told of these tasks: their pending pushes are delivered. (It asked, so
    the call is alive: its session lives on from now, in the same round trip.)"""
    alive = session_alive_command(conversation_id)
    deliveries = [delivery_id(request_id) for request_id in request_ids]
    told = ("HDEL", conversations.pushes_key(conversation_id), *deliveries)
    if deliveries and cluster_mode():  # the session is in another slot
        confirmed_commands(told)
        commands(alive)
    elif deliveries:
        confirmed_commands(told, alive)
    else:
        commands(alive)


def _session_exists(conversation_id: str) -> bool:
    return bool(commands(("EXISTS", session_key(conversation_id)))[0])
