"""Live updates of one conversation over a WebSocket: a snapshot, then every change.

The frames come from the store's writes themselves: each Lua script that changes a
conversation publishes the `agent_conversation.updated` frame into the conversation's Channels
group (store.live_channel), so a write made by any worker or instance reaches every socket,
in the order the writes happened. This consumer only joins the group, sends the snapshot,
and passes frames on.

No update may fall between the snapshot and the frames. Joining the group only sends
SUBSCRIBE, so the socket first sends itself a marker through the group: once the marker comes
back, the subscription is live in Redis, and the snapshot read after it contains every frame
queued before the marker (those are dropped) while every later write arrives as a frame.

Pushes for the live agent (`agent_session.push`, from a finished task: agent_tasks) travel the
same way, and are also kept in the store until the browser acknowledges them: a socket gets
the pending ones after its snapshot, each once.
"""

import asyncio
import contextlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import redis
from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from agent_conversations import store
from agent_sessions.store import session_alive
from elevenlabs_agent import metrics
from elevenlabs_agent.authentication import matching_key
from elevenlabs_agent.encoding import dumps, loads
from elevenlabs_agent.errors import CONVERSATION_NOT_FOUND, StoreUnavailable
from elevenlabs_agent.ids import CONVERSATION_ID
from elevenlabs_agent.redis import OUTAGE_ERRORS, breaker, cluster_mode

# Application close codes (a browser sees only those sent after the handshake).
CLOSE_INVALID_ID = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_ORIGIN_NOT_ALLOWED = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_FEATURE_DISABLED = 4503
CLOSE_STORE_UNAVAILABLE = 1011

SNAPSHOT = "agent_conversation.snapshot"
UPDATED = "agent_conversation.updated"
ACK = "agent_session.ack"
KEEPALIVE = {"type": "keepalive"}
# An idle socket gets KEEPALIVE this often, so that proxies keep it open. (The server should
# send WebSocket ping frames, but ASGI gives an application no way to; the frontend ignores
# frame types it does not know.)
KEEPALIVE_SECONDS = 25.0
# A new socket that has not joined its conversation's group within this long (Redis frozen,
# before the breaker knew) is closed with 1011.
JOIN_SECONDS = 1.0


class ConversationConsumer(AsyncWebsocketConsumer):
    """`/agent-conversations/api/ws?conversationId=<id>`: the frontend's conversation page."""

    conversation_id = ""  # set once the socket is accepted for a valid id
    accepted = False
    snapshot_sent = False
    last_sent = 0.0  # loop time of the last frame sent
    keepalive: asyncio.Task | None = None
    watching: asyncio.Task | None = None
    joining: asyncio.Timeout
    pushes_sent: set[str]  # deliveryIds this socket was sent (a push arrives live and pending)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if breaker.is_open:  # Redis is out of reach: say so now, without asking the layer
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_STORE_UNAVAILABLE})
            return
        # Joining (a channel, the group, the marker) takes Redis calls that the channel layer
        # does not bound in time; connect() lifts the deadline once they are done.
        self.joining = asyncio.timeout(JOIN_SECONDS)
        try:
            async with self.joining:
                await super().__call__(scope, receive, send)
        except (*OUTAGE_ERRORS, TimeoutError) as exc:
            # The channel layer cannot reach Redis: close with 1011 so that the client
            # reconnects later.
            if isinstance(exc, TimeoutError):
                exc = redis.TimeoutError("the channel layer did not answer in time")
            breaker.failed(exc)
            if not self.accepted:
                await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_STORE_UNAVAILABLE})

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch, less its database cleanup before every message: a thread hop per
        frame (most of what a frame cost, measured), for connections this service, which has
        no SQL database, never opens."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        query = parse_qs(self.scope["query_string"].decode("latin-1"))
        key = self._presented_key(query)
        # Accept first, then refuse with a code: before the handshake a browser sees no code.
        await self.accept(subprotocol=key if key in self.scope.get("subprotocols", ()) else None)
        self.accepted = True
        metrics.LIVE_SOCKETS.inc()
        self.pushes_sent = set()
        refusal = self._refusal(query, key)
        if refusal is not None:
            self.joining.reschedule(None)  # nothing to join: no deadline on the close
            await self.close(code=refusal)
            return
        self.conversation_id = (query.get("conversationId") or query["id"])[0]
        await self.channel_layer.group_add(self._group, self.channel_name)
        await self.channel_layer.group_send(
            self._group, {"type": "subscription.ready", "channel": self.channel_name}
        )
        self.joining.reschedule(None)

    async def disconnect(self, code: int) -> None:
        if self.accepted:
            metrics.LIVE_SOCKETS.dec()
            metrics.LIVE_CLOSES.labels(code).inc()
        for task in (self.keepalive, self.watching):
            if task is not None:
                task.cancel()
        if self.conversation_id:
            await self.channel_layer.group_discard(self._group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """`{"type": "ping"}` gets `{"type": "pong"}`; `{"type": "agent_session.ack",
        "deliveryId"}` settles a push; anything else is ignored."""
        try:
            message = loads(text_data or bytes_data or b"")
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        if message.get("type") == "ping":
            await self._send_frame({"type": "pong"})
        elif message.get("type") == ACK and self.snapshot_sent:
            delivery_id = message.get("deliveryId")
            if isinstance(delivery_id, str) and delivery_id:
                # In an outage the push stays pending: it comes again after the next snapshot.
                with contextlib.suppress(StoreUnavailable):
                    settled = await sync_to_async(store.push_acknowledge, thread_sensitive=False)(
                        conversation_id=self.conversation_id, delivery_id=delivery_id
                    )
                    if settled:
                        metrics.PUSHES.labels("acknowledged").inc()

    # --- Group events -------------------------------------------------------------------------

    async def subscription_ready(self, event: dict[str, Any]) -> None:
        """Our marker came back: the subscription is live, so the snapshot misses nothing."""
        if event["channel"] != self.channel_name or self.snapshot_sent:
            return  # another socket's marker
        try:
            snapshot = await sync_to_async(store.conversation_snapshot, thread_sensitive=False)(
                conversation_id=self.conversation_id
            )
        except StoreUnavailable:
            await self.close(code=CLOSE_STORE_UNAVAILABLE)  # the client reconnects later
            return
        if snapshot is None:
            await self._send_frame(
                {
                    "type": "error",
                    "error": CONVERSATION_NOT_FOUND,
                    "conversationId": self.conversation_id,
                }
            )
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.snapshot_sent = True
        await self._send_frame(
            {
                "type": SNAPSHOT,
                "conversationId": self.conversation_id,
                "conversation": snapshot.conversation,
            }
        )
        for push in snapshot.pushes:
            await self._send_push(push)
        self.keepalive = asyncio.create_task(self._keep_alive())
        if cluster_mode():
            self.watching = asyncio.create_task(self._keep_watching())

    async def agent_conversation_updated(self, event: dict[str, Any]) -> None:
        """A frame published by a write, as text (live.py); before the snapshot, the snapshot
        already holds it."""
        if self.snapshot_sent:
            await self._send_text(event["text"], UPDATED)

    async def agent_conversation_deleted(self, event: dict[str, Any]) -> None:
        """The conversation was deleted: say so, then close as for an unknown conversation.
        (Before the snapshot, the snapshot finds it gone and does the same.)"""
        if self.snapshot_sent:
            await self._send_frame({"type": store.DELETED, "conversationId": self.conversation_id})
            await self.close(code=CLOSE_NOT_FOUND)

    async def agent_session_push(self, event: dict[str, Any]) -> None:
        """A finished task's push for the live agent; before the snapshot, the pending pushes
        read after it include this one."""
        if self.snapshot_sent:
            await self._send_push(event)

    # --- Helpers ------------------------------------------------------------------------------

    @property
    def _group(self) -> str:
        return store.live_group(self.conversation_id)

    async def _send_push(self, push: dict[str, Any]) -> None:
        if push["deliveryId"] in self.pushes_sent:
            return
        self.pushes_sent.add(push["deliveryId"])
        frame = {key: push[key] for key in ("type", "conversationId", "deliveryId", "event")}
        await self._send_frame(frame)
        metrics.PUSHES.labels("sent").inc()

    async def _send_frame(self, frame: dict[str, Any]) -> None:
        await self._send_text(dumps(frame).decode(), frame["type"])

    async def _send_text(self, text: str, frame_type: str) -> None:
        self.last_sent = asyncio.get_running_loop().time()
        await self.send(text_data=text)
        metrics.LIVE_FRAMES.labels(frame_type).inc()

    async def _keep_alive(self) -> None:
        """Send KEEPALIVE whenever nothing else was sent for KEEPALIVE_SECONDS, until cancelled
        (disconnect) or the socket is gone."""
        loop = asyncio.get_running_loop()
        while True:
            idle = loop.time() - self.last_sent
            if idle >= KEEPALIVE_SECONDS:
                try:
                    await self._send_frame(KEEPALIVE)
                except Exception:  # the socket closed under us; disconnect() follows
                    return
                idle = 0.0
                # A page open on the conversation is a sign its call is alive.
                with contextlib.suppress(StoreUnavailable):
                    await sync_to_async(session_alive, thread_sensitive=False)(
                        conversation_id=self.conversation_id
                    )
            await asyncio.sleep(KEEPALIVE_SECONDS - idle)

    async def _keep_watching(self) -> None:
        """Cluster mode: renew the watch that the snapshot began (store.watched_key), until
        cancelled (disconnect); a lapse stops this conversation's frames for every socket."""
        while True:
            await asyncio.sleep(store.WATCH_LEASE_SECONDS / 3)
            with contextlib.suppress(StoreUnavailable):
                await sync_to_async(store.conversation_watched, thread_sensitive=False)(
                    conversation_id=self.conversation_id
                )

    def _presented_key(self, query: dict[str, list[str]]) -> str | None:
        """The API key from `?apiKey=` or a Sec-WebSocket-Protocol value (browsers cannot set
        headers on a WebSocket), if it is one of AGENT_API_KEYS."""
        if not settings.AGENT_API_KEYS:
            return None
        for candidate in [*query.get("apiKey", ()), *self.scope.get("subprotocols", ())]:
            key = matching_key(candidate)
            if key is not None:
                return key
        return None

    def _refusal(self, query: dict[str, list[str]], key: str | None) -> int | None:
        """The close code that refuses this socket, or None to serve it."""
        if not settings.ELEVENLABS_AGENT_ENABLED:
            return CLOSE_FEATURE_DISABLED
        if not self._origin_allowed():
            return CLOSE_ORIGIN_NOT_ALLOWED
        if settings.AGENT_API_KEYS and key is None:
            return CLOSE_UNAUTHORIZED
        ids = query.get("conversationId") or query.get("id") or [""]
        if not CONVERSATION_ID.pattern.fullmatch(ids[0]):
            return CLOSE_INVALID_ID
        return None

    def _origin_allowed(self) -> bool:
        """A browser page from CORS_ALLOWED_ORIGINS or from this service's own host.

        Clients that send no Origin (not browsers) are not subject to it.
        """
        headers = dict(self.scope["headers"])
        origin = headers.get(b"origin", b"").decode("latin-1")
        if not settings.CORS_ALLOWED_ORIGINS or not origin:
            return True
        same_host = urlsplit(origin).netloc == headers.get(b"host", b"").decode("latin-1")
        return same_host or origin in settings.CORS_ALLOWED_ORIGINS
