-- wrk script: one route of the API per run, picked by the ROUTE environment variable.
-- Ids are drawn at random from the conversations that bench/http_bench.py preloads.
local route = os.getenv("ROUTE")
local preloaded = tonumber(os.getenv("PRELOADED") or "10000")
local appendable = tonumber(os.getenv("APPENDABLE") or "1000")
local json = {["Content-Type"] = "application/json"}
local session_body = '{"sessionUrl":"wss://api.elevenlabs.io/v1/convai/conversation?token=bench",'
  .. '"sessionId":"bench-session","transport":"websocket",'
  .. '"sessionPayload":{"wsUrl":"wss://api.elevenlabs.io/v1/convai/conversation?token=bench"}}'
local message_body = '{"role":"user","content":"A voice transcript line from the benchmark.",'
  .. '"source":"voice"}'

-- Each wrk thread has its own Lua state: give each its own random sequence.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function init(args)
  math.randomseed(os.time() * 100 + seed)
end

local function conversation()
  return string.format("/agent-conversations/api/bench-%05d", math.random(0, preloaded - 1))
end

request = function()
  if route == "floor" then
    return wrk.format("GET", "/health")
  elseif route == "register" then
    return wrk.format("POST", conversation() .. "/session", json, session_body)
  elseif route == "status" then
    return wrk.format("GET", conversation() .. "/session")
  elseif route == "new" then
    return wrk.format("POST", "/agent-conversations/api/new")
  elseif route == "append" then
    local path = string.format("/agent-conversations/api/append-%04d/message",
      math.random(0, appendable - 1))
    return wrk.format("POST", path, json, message_body)
  elseif route == "get10" then
    return wrk.format("GET", string.format("/agent-conversations/api/ten-%04d", math.random(0, 999)))
  elseif route == "get" then
    return wrk.format("GET", conversation())
  elseif route == "list" then
    local offset = math.random(0, preloaded - 20)
    return wrk.format("GET", "/agent-conversations/api/list?limit=20&sortBy=createdAt"
      .. "&sortOrder=asc&offset=" .. offset)
  end
  error("unknown ROUTE " .. tostring(route))
end
