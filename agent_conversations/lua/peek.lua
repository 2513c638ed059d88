-- Read the conversation without counting it as used (a list page's conversation too large to
-- assemble with the rest, store.py's `conversation_list`).
-- KEYS: the conversation hash, its messages list. Returns its JSON, or false if unknown.
return conversation_json(KEYS[1], KEYS[2])
