"""Live-update sockets in tests: Channels' WebsocketCommunicator on the service's ASGI app."""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing.websocket import WebsocketCommunicator

from elevenlabs_agent.asgi import application
from tests.support import API

WAIT = 2  # seconds a frame may take (they take milliseconds)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run an async scenario, then close the channel layer's Redis connections on its loop."""

    async def scenario_then_flush() -> None:
        try:
            await scenario()
        finally:
            await get_channel_layer().flush()

    async_to_sync(scenario_then_flush)()


def socket(query: str, **kwargs: Any) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"{API}/ws?{query}", **kwargs)


async def frame(communicator: WebsocketCommunicator) -> dict[str, Any]:
    return json.loads(await communicator.receive_from(timeout=WAIT))


async def close_code(communicator: WebsocketCommunicator) -> int:
    """The code of the close that follows an accepted handshake."""
    output = await communicator.receive_output(timeout=WAIT)
    assert output["type"] == "websocket.close"
    return output["code"]


async def subscribed(query: str) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    """A connected socket and its first frame (the snapshot)."""
    communicator = socket(query)
    connected, _ = await communicator.connect(timeout=WAIT)
    assert connected
    return communicator, await frame(communicator)
