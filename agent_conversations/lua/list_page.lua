-- One page of conversations, all of them or one agent's. Touches nothing it pages.
-- KEYS: 1 the index to page (a global sort index or an agent's), 2 the by-expiry index of the
--       same set, then the global indexes as in prelude.lua: 3 by-created-at,
--       4 by-last-accessed-at, 5 by-message-count, 6 by-expiry, 7 by-elevenlabs-id,
--       8 elevenlabs-ids, 9 agent-ids.
-- ARGV: 1 offset, 2 limit, 3 'asc' or 'desc', 4 the conversation key prefix, 5 the messages
--       key suffix (the page's keys are derived from its ids: fine on one primary, not on
--       Redis Cluster), 6 how many bytes of messages this call may assemble, 7 the per-agent
--       index prefix.
-- Returns {total, expired conversations still indexed (the caller calls again while there
-- are: each call sweeps at most 1,000), then per conversation of the page: its JSON; or its
-- id, when assembling it too would pass the byte budget (the caller reads those one call
-- each, so that no call keeps Redis busy for long); or false if it is gone}.
local ctx = {created = KEYS[3], accessed = KEYS[4], count = KEYS[5], expiry = KEYS[6],
             by_elevenlabs_id = KEYS[7], elevenlabs_ids = KEYS[8], agent_ids = KEYS[9],
             agent_prefix = ARGV[7]}
local unswept = sweep_expired(ctx, KEYS[2], 1000)
local offset, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local ids
if ARGV[3] == 'desc' then
  ids = redis.call('ZREVRANGE', KEYS[1], offset, offset + limit - 1)
else
  ids = redis.call('ZRANGE', KEYS[1], offset, offset + limit - 1)
end
-- Expired conversations are not counted, swept or not (every index of a set holds the same ids).
local page = {redis.call('ZCARD', KEYS[1]) - unswept, unswept}
local budget = tonumber(ARGV[6])
for _, id in ipairs(ids) do
  local conversation = ARGV[4] .. id
  -- Conversations written before storedBytes was kept count as over the budget.
  local size = tonumber(redis.call('HGET', conversation, 'storedBytes') or budget + 1)
  if size > budget then
    page[#page + 1] = {id}
  else
    budget = budget - size
    page[#page + 1] = conversation_json(conversation, conversation .. ARGV[5])
  end
end
return page
