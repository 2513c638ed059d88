-- One page of the conversation's messages, in append order, and count it as used.
-- own_arg(1): most messages; own_arg(2): 'after', 'before' or '' (from the oldest);
-- own_arg(3): the cursor's messageId.
-- Returns {1, more (1 or 0), message JSON...}; {-1} for an unknown conversation, {-4} for an
-- unknown cursor. Cost: O(page) plus a walk to the page's place in the list, a few list nodes
-- per thousand messages.
if redis.call('EXISTS', conversation) == 0 then
  return {-1}
end
local limit, direction = tonumber(own_arg(1)), own_arg(2)
local total = redis.call('LLEN', messages)
local first, last = 0, limit - 1
if direction ~= '' then
  local position = redis.call('HGET', message_index, own_arg(3))
  if not position then
    return {-4}
  end
  position = tonumber(position)
  if direction == 'after' then
    first, last = position + 1, position + limit
  else
    first, last = math.max(0, position - limit), position - 1
  end
end
local more
if direction == 'before' then
  more = first > 0
else
  more = last < total - 1
end
local page = {1, more and 1 or 0}
if last >= first then
  for _, message in ipairs(redis.call('LRANGE', messages, first, last)) do
    page[#page + 1] = message
  end
end
touch()
return page
