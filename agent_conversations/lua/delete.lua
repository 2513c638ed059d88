-- Delete the conversation and everything of it: its keys, own_key(1) its companion record (its
-- session) and own_key(2) its pending pushes, its index entries, its ElevenLabs ids; then tell its
-- subscribers (own_arg(1): the `deleted` frame). Returns 1 if the conversation existed, else 0
-- (whatever was left of it is removed either way).
local existed = redis.call('EXISTS', conversation)
redis.call('DEL', conversation, messages, message_index, own_key(1), own_key(2))
forget_conversation(ctx, id)
publish(own_arg(1))
return existed
