-- conversation_json(conversation, messages): the frontend's AgentConversation as JSON text, or
-- false when the conversation does not exist. The one place that shape is built: GET, list
-- pages and live-update frames all use it. Stored messages and metadata are JSON already and
-- go in as they are; optional fields the conversation lacks are left out, never null.
local function conversation_json(conversation, messages)
  local stored = redis.call('HMGET', conversation, 'conversationId', 'createdAt',
                            'lastAccessedAt', 'messageCount', 'agentId', 'metadata')
  if not stored[1] then
    return false
  end
  local parts = {
    '{"conversationId":', cjson.encode(stored[1]),
    ',"messages":[', table.concat(redis.call('LRANGE', messages, 0, -1), ','),
    '],"createdAt":', cjson.encode(stored[2]),
    ',"lastAccessedAt":', cjson.encode(stored[3]),
    ',"messageCount":', stored[4],
  }
  if stored[5] then
    parts[#parts + 1] = ',"agentId":' .. cjson.encode(stored[5])
  end
  if stored[6] then
    parts[#parts + 1] = ',"metadata":' .. stored[6]
  end
  parts[#parts + 1] = '}'
  return table.concat(parts)
end
