#!/bin/sh
# make demo-callback: a tool call becomes a pending message, then a completed one, and what the
# agent hears of it by pull (the task_status tool) and by push (the browser's relay).
# Runs `make run` (embedded store) and a fake cursor-runner on spare ports, then drives them
# with curl the way ElevenLabs and cursor-runner would. Needs curl.
set -eu
PORT=${DEMO_PORT:-8765}
RUNNER_PORT=${DEMO_RUNNER_PORT:-8766}
SECRET=demo-webhook-secret
BASE=http://127.0.0.1:$PORT
API=$BASE/agent-conversations/api

# Each in a session of its own, so that the exit trap stops it whole (make, granian, workers).
setsid .venv/bin/python demo/fake_cursor_runner.py "$RUNNER_PORT" "$SECRET" &
RUNNER=$!
PORT=$PORT WEBHOOK_SECRET=$SECRET CURSOR_RUNNER_URL=http://127.0.0.1:$RUNNER_PORT \
  setsid make -s run >/tmp/elevenlabs-agent-demo.log 2>&1 &
SERVER=$!
trap 'kill -- -$RUNNER -$SERVER 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf "$BASE/health" >/dev/null && break; sleep 0.1; done
curl -sf "$BASE/health" >/dev/null || { echo "make run did not start: /tmp/elevenlabs-agent-demo.log"; exit 1; }

step() { printf '\n== %s\n' "$1"; }
messages() {
  curl -s "$API/$CONVERSATION" | .venv/bin/python -c 'import json, sys
for m in json.load(sys.stdin)["messages"]:
    print("  %-52s %-10s %s" % (m["messageId"], m["status"], m["content"]))'
}

step "The browser registers its voice session (ElevenLabs call id: el-call-1)"
CONVERSATION=$(curl -s -X POST "$API/new" -H 'Content-Type: application/json' -d '{}' |
  .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["conversationId"])')
curl -s -X POST "$API/$CONVERSATION/session" -H 'Content-Type: application/json' \
  -d '{"sessionUrl": "wss://api.elevenlabs.io/v1/convai/conversation", "sessionId": "el-call-1"}'
echo

step "ElevenLabs calls the tool webhook with its call id"
curl -s -X POST "$BASE/agent-tools" -H 'Content-Type: application/json' \
  -H "X-Webhook-Secret: $SECRET" \
  -d '{"tool_name": "run_tests", "tool_args": {"prompt": "Run the test suite"}, "session_id": "el-call-1"}'
echo

step "The conversation now (the task is pending)"
messages

step "The agent asks how its task is going (the task_status tool): pull"
said() { .venv/bin/python -c 'import json, sys; print("  the agent hears:", json.load(sys.stdin)["say"])'; }
curl -s -X POST "$BASE/agent-tools" -H 'Content-Type: application/json' \
  -H "X-Webhook-Secret: $SECRET" -d '{"tool_name": "task_status", "session_id": "el-call-1"}' | said

step "cursor-runner works for a few seconds, then calls /callback"
sleep 4
messages

step "What the browser relays to the agent (clients/browser/push-relay.js): push"
.venv/bin/python - "$PORT" "$CONVERSATION" <<'PY'
import json, sys
from websockets.sync.client import connect
port, conversation = sys.argv[1:]
with connect(f"ws://127.0.0.1:{port}/agent-conversations/api/ws?conversationId={conversation}") as socket:
    socket.recv(timeout=5)  # the snapshot
    push = json.loads(socket.recv(timeout=5))  # the pending push, after the snapshot
    print("  the agent hears:", push["event"]["text"])
PY

step "The agent asks again: told once (the push is not acknowledged yet, so pull answers it)"
curl -s -X POST "$BASE/agent-tools" -H 'Content-Type: application/json' \
  -H "X-Webhook-Secret: $SECRET" -d '{"tool_name": "task_status", "session_id": "el-call-1"}' | said
echo "  (pulling settled the push: a relay connecting now gets nothing more)"
