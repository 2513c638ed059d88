// Runs clients/browser/push-relay.js under Node against a real `make serve`, with a fake SDK
// conversation; prints one JSON line per event (tests/test_push_relay.py reads them):
//   {"open": n}                    the relay's n-th socket opened
//   {"relayed": text}              sendContextualUpdate(text) was called
//   {"sent": frame}                the relay sent a frame (its acknowledgements)
//   {"dropped": deliveryId}        with --drop-first-push: the first push's socket was cut
// Usage: node --experimental-websocket relay.mjs <baseUrl> <conversationId> [--drop-first-push]
import { relayPushes } from "../../clients/browser/push-relay.js";

const [baseUrl, conversationId, option] = process.argv.slice(2);
const print = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
let opened = 0;
let dropFirst = option === "--drop-first-push";

// The browser's WebSocket, observed: opens and frames sent are printed; optionally the first
// push is lost with its socket, before the relay sees it.
class ObservedWebSocket extends WebSocket {
  constructor(url) {
    super(url);
    this.addEventListener("open", () => print({ open: ++opened }));
  }
  set onmessage(handler) {
    super.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (dropFirst && frame.type === "agent_session.push") {
        dropFirst = false;
        print({ dropped: frame.deliveryId });
        this.close();
        return;
      }
      handler(message);
    };
  }
  send(data) {
    print({ sent: JSON.parse(data) });
    super.send(data);
  }
}

const relay = relayPushes({
  baseUrl,
  conversationId,
  conversation: { sendContextualUpdate: (text) => print({ relayed: text }) },
  WebSocketImpl: ObservedWebSocket,
  minDelayMs: 50,
});
process.stdin.on("data", () => {}); // the test ends us by closing stdin
process.stdin.on("end", () => {
  relay.close();
  process.exit(0);
});
