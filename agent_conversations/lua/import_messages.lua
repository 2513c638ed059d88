-- Import a call's transcript: its turns, idempotently by messageId, reconciled with the voice
-- messages the page already stored during the call, and the conversation's new metadata; then
-- one `updated` frame (not one per message).
-- own_arg(1): the metadata JSON as the caller read it ('' for none), own_arg(2): the new
-- metadata JSON, own_arg(3): the call's start as an ISO-8601 timestamp ('' when unknown: no
-- reconciliation); from own_arg(4), four per turn, in time order: messageId, message JSON,
-- its timestamp (ISO-8601), its match key (role, a newline, the text with whitespace collapsed).
-- A turn whose messageId is stored is a duplicate. A turn that matches a `source: voice`
-- message stored since the call's start (same role and text, not yet matched) is one too: that
-- message gains `elevenlabsTurn` (the turn's messageId, which then finds it). Other turns are
-- stored in their place in time among the messages since the call's start.
-- Returns {1, imported, duplicates, refused as full}; {-1} for an unknown conversation, {-3}
-- when the metadata changed since the caller read it (nothing is written: read and try again).
if redis.call('EXISTS', conversation) == 0 then
  return {-1}
end
if (redis.call('HGET', conversation, 'metadata') or '') ~= own_arg(1) then
  return {-3}
end
redis.call('HSET', conversation, 'metadata', own_arg(2))
local call_start = own_arg(3)

-- The messages since the call's start (stored in time order): indexes `first` to `last`.
local stored = {}
local last = tonumber(redis.call('LLEN', messages)) - 1
local first = last + 1
if call_start ~= '' then
  local all = redis.call('LRANGE', messages, 0, -1)
  for i = #all, 1, -1 do
    local message = cjson.decode(all[i])
    local at = type(message.timestamp) == 'string' and message.timestamp or ''
    if at < call_start then
      break
    end
    first = i - 1
    stored[i - 1] = {json = all[i], message = message, at = at}
  end
end

-- The page's voice messages of the call, by match key, oldest first.
local function match_key(message)
  local text = (message.content or ''):gsub('%s+', ' '):gsub('^ ', ''):gsub(' $', '')
  return (message.role or '') .. '\n' .. text
end
local unmatched = {}
for index = first, last do
  local m = stored[index].message
  if m.source == 'voice' and not m.elevenlabsTurn
      and string.sub(m.messageId or '', 1, 3) ~= 'el:' then
    local key = match_key(m)
    unmatched[key] = unmatched[key] or {}
    table.insert(unmatched[key], index)
  end
end

local tally = {[APPENDED] = 0, [DUPLICATE] = 0, [FULL] = 0}
local new_turns = {}
local n = 4
while own_arg(n) do
  local turn_id, turn_json = own_arg(n), own_arg(n + 1)
  local turn_time, turn_key = own_arg(n + 2), own_arg(n + 3)
  local candidates = unmatched[turn_key]
  if redis.call('HEXISTS', message_index, turn_id) == 1 then
    tally[DUPLICATE] = tally[DUPLICATE] + 1
  elseif candidates and #candidates > 0 then
    -- The page stored this turn: it gains the turn's reference, byte for byte otherwise.
    local index = table.remove(candidates, 1)
    local entry = stored[index]
    local json = '{"elevenlabsTurn":' .. cjson.encode(turn_id) .. ',' .. string.sub(entry.json, 2)
    redis.call('LSET', messages, index, json)
    redis.call('HSET', message_index, turn_id, index)
    redis.call('HINCRBY', conversation, 'storedBytes', #json - #entry.json)
    entry.json, entry.message.elevenlabsTurn = json, turn_id
    tally[DUPLICATE] = tally[DUPLICATE] + 1
  elseif call_start == '' then
    local outcome = append_message(turn_id, turn_json)
    tally[outcome] = tally[outcome] + 1
  else
    table.insert(new_turns, {id = turn_id, json = turn_json, time = turn_time})
  end
  n = n + 4
end

-- The turns the page never stored, in their place in time: the messages from the first of
-- them on are written again, merged by timestamp, and indexed where they now are.
if #new_turns > 0 then
  local count = tonumber(redis.call('HGET', conversation, 'messageCount'))
  local stored_bytes = tonumber(redis.call('HGET', conversation, 'storedBytes') or '0')
  local accepted = {}
  for _, turn in ipairs(new_turns) do
    if count >= most_messages or stored_bytes + #turn.json > most_bytes then
      tally[FULL] = tally[FULL] + 1
    else
      count = count + 1
      stored_bytes = stored_bytes + #turn.json
      table.insert(accepted, turn)
    end
  end
  if #accepted > 0 then
    local merged, t = {}, 1
    for index = first, last do
      local entry = stored[index]
      while accepted[t] and accepted[t].time < entry.at do
        table.insert(merged, {json = accepted[t].json, ids = {accepted[t].id}})
        t = t + 1
      end
      table.insert(merged, {
        json = entry.json, ids = {entry.message.messageId, entry.message.elevenlabsTurn},
      })
    end
    while accepted[t] do
      table.insert(merged, {json = accepted[t].json, ids = {accepted[t].id}})
      t = t + 1
    end
    if first == 0 then
      redis.call('DEL', messages)
    else
      redis.call('LTRIM', messages, 0, first - 1)
    end
    for offset, entry in ipairs(merged) do
      redis.call('RPUSH', messages, entry.json)
      for _, message_id in pairs(entry.ids) do
        redis.call('HSET', message_index, message_id, first + offset - 1)
      end
    end
    tally[APPENDED] = #accepted
    redis.call('HSET', conversation, 'messageCount', count, 'storedBytes', stored_bytes)
    index_score(ctx, agent_of_conversation(), 'count', count, id)
  end
end
touch()
publish_update('updated')
return {1, tally[APPENDED], tally[DUPLICATE], tally[FULL]}
