-- Read the conversation without counting it as used (live-update snapshots).
-- KEYS: the conversation hash, its messages list. Returns its JSON, or false if unknown.
return conversation_json(KEYS[1], KEYS[2])
