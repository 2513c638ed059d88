-- Delete the conversation and everything of it: its keys, own_key(1) its pending pushes,
-- own_key(2) (if given) its companion record (its session), its index entries, its ElevenLabs
-- ids; then tell its subscribers (own_arg(1): the `deleted` frame). Returns 1 if the
-- conversation existed, else 0 (whatever was left of it is removed either way).
before_writing(redis.call('HGET', ctx.agent_ids, id) or nil)
local existed = redis.call('EXISTS', conversation)
redis.call('DEL', conversation, messages, message_index, own_key(1))
if own_key(2) then
  redis.call('DEL', own_key(2))
end
forget_conversation(ctx, id)
publish(own_arg(1))
return existed
