-- One page of conversations. Touches nothing it pages.
-- KEYS: 1 the index to page, then 2 by-created-at, 3 by-last-accessed-at, 4 by-message-count,
--       5 by-expiry.
-- ARGV: 1 offset, 2 limit, 3 'asc' or 'desc', 4 the conversation key prefix, 5 the messages
--       key suffix (the page's keys are derived from its ids: fine on one primary, not on
--       Redis Cluster).
-- Returns {total, then each conversation's JSON}.
local clock = redis.call('TIME')
local now_ms = clock[1] * 1000 + math.floor(clock[2] / 1000)
-- Redis expires a key once its clock passes the expiry; drop those ids from every index, so a
-- conversation leaves GET, the pages and the total at the same moment.
local expired = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', '(' .. now_ms)
for _, id in ipairs(expired) do
  for i = 2, 5 do
    redis.call('ZREM', KEYS[i], id)
  end
end
local offset, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local ids
if ARGV[3] == 'desc' then
  ids = redis.call('ZREVRANGE', KEYS[1], offset, offset + limit - 1)
else
  ids = redis.call('ZRANGE', KEYS[1], offset, offset + limit - 1)
end
local page = {redis.call('ZCARD', KEYS[1])}
for _, id in ipairs(ids) do
  page[#page + 1] = conversation_json(ARGV[4] .. id, ARGV[4] .. id .. ARGV[5])
end
return page
