-- Cluster mode: one shard's part of a list page (store.py's conversation_list merges the shards).
-- Touches nothing it pages.
-- KEYS: 1 the shard's index to page (a sort index, or an agent's), 2 the by-expiry index of the
--       same set, then the shard's indexes as in prelude.lua: 3 by-created-at,
--       4 by-last-accessed-at, 5 by-message-count, 6 by-expiry, 7 by-elevenlabs-id,
--       8 elevenlabs-ids, 9 agent-ids.
-- ARGV: 1 how many of the first ids to return (the page's offset + limit: any of them may be
--       on the page), 2 'asc' or 'desc', 3 the shard's per-agent index prefix.
-- Returns {total, expired conversations still indexed (swept at most 1,000 a call, as in
-- list_page.lua), then id, score, id, score, ... in the index's order}.
local ctx = {created = KEYS[3], accessed = KEYS[4], count = KEYS[5], expiry = KEYS[6],
             by_elevenlabs_id = KEYS[7], elevenlabs_ids = KEYS[8], agent_ids = KEYS[9],
             agent_prefix = ARGV[3]}
local unswept = sweep_expired(ctx, KEYS[2], 1000)
local first = tonumber(ARGV[1])
local page = {redis.call('ZCARD', KEYS[1]) - unswept, unswept}
if first > 0 then
  local range = ARGV[2] == 'desc' and 'ZREVRANGE' or 'ZRANGE'
  for _, entry in ipairs(redis.call(range, KEYS[1], 0, first - 1, 'WITHSCORES')) do
    page[#page + 1] = entry
  end
end
return page
