// Relays what this service pushes for the live voice agent (a finished task's result, as
// `agent_session.push` frames on the conversation's live-update socket) into the agent, with
// the ElevenLabs SDK's `conversation.sendContextualUpdate(text)`; then acknowledges each push.
// A plain ES module without dependencies or a build step: docs/frontend.md shows the lines a
// frontend adds, docs/live-updates.md the frames.

const PUSH = "agent_session.push";
const ACK = "agent_session.ack";
// Close codes after which a new connection cannot do better: invalid id, refused key,
// origin not allowed, unknown conversation.
const FINAL_CLOSE_CODES = new Set([4400, 4401, 4403, 4404]);

/** The live-update socket's URL for a conversation, from the service's base URL. */
export function socketUrl(baseUrl, conversationId, apiKey) {
  const url = new URL("/agent-conversations/api/ws", baseUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : url.protocol === "http:" ? "ws:" : url.protocol;
  url.searchParams.set("conversationId", conversationId);
  if (apiKey) url.searchParams.set("apiKey", apiKey);
  return url.toString();
}

/**
 * Relay the conversation's pushes to the voice agent until `close()` is called.
 *
 * Each push is relayed once, however often it arrives (the service offers an unacknowledged
 * push again on every new connection), and acknowledged once relayed. A dropped socket
 * reconnects with exponential backoff and jitter.
 */
export function relayPushes({
  baseUrl,
  conversationId,
  conversation,
  apiKey,
  WebSocketImpl = globalThis.WebSocket,
  minDelayMs = 250,
  maxDelayMs = 5000,
  onRelay,
  onError,
}) {
  const relayed = new Set();
  const url = socketUrl(baseUrl, conversationId, apiKey);
  let socket = null;
  let attempt = 0;
  let timer = null;
  let stopped = false;

  function connect() {
    const current = new WebSocketImpl(url);
    socket = current;
    current.onopen = () => {
      attempt = 0;
    };
    current.onmessage = (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return; // not a frame of ours
      }
      if (frame && frame.type === PUSH) relay(current, frame);
    };
    current.onclose = (event) => {
      if (socket === current) socket = null;
      if (stopped || FINAL_CLOSE_CODES.has(event.code)) return;
      attempt += 1;
      const backoff = Math.min(minDelayMs * 2 ** (attempt - 1), maxDelayMs);
      timer = setTimeout(connect, backoff * (0.5 + Math.random() / 2));
    };
    current.onerror = (event) => onError?.(event);
  }

  function relay(current, frame) {
    const { deliveryId, event } = frame;
    if (typeof deliveryId !== "string") return;
    if (!relayed.has(deliveryId)) {
      const text = event && typeof event.text === "string" ? event.text : "";
      try {
        if (text) conversation.sendContextualUpdate(text);
      } catch (error) {
        onError?.(error); // not acknowledged: the service offers it again on reconnection
        return;
      }
      relayed.add(deliveryId);
      onRelay?.(frame);
    }
    current.send(JSON.stringify({ type: ACK, deliveryId }));
  }

  connect();
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      socket?.close(1000);
    },
  };
}
