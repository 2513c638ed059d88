"""What the voice agent says about tasks: short sentences, no JSON, no ids read aloud.

Used by the `task_status` tool (the agent asks) and by the push a finished task sends to the
live agent (it is told): both go into a voice, so a long output is cut at a sentence boundary
and the rest left to the conversation page.
"""

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store sends these sentences in its pushes
    from agent_tasks.store import TaskRecord

OUTPUT_MAX_CHARACTERS = 240
FULL_RESULT = "The full result is in the conversation."
NO_TASKS = "There are no tasks in this conversation yet."
# What a voice should not read out: UUIDs, long hex or digit runs, and the service's own ids.
_IDS = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
    r"|\b(?=[0-9a-f]*\d)[0-9a-f]{16,}\b|\btask:\S+|\b\d{9,}\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def spoken_name(tool_name: str) -> str:
    """`search_code` as a voice says it: search code."""
    return re.sub(r"[_\-.]+", " ", tool_name).strip() or "the task"


def spoken_output(output: str) -> str:
    """An output as a voice can say it: without data or ids, at most OUTPUT_MAX_CHARACTERS, cut
    after a whole sentence (then pointing to the conversation for the rest); '' when nothing
    of it can be spoken."""
    text = output.strip()
    if text[:1] in ("{", "[") or text.startswith("```"):
        return FULL_RESULT  # data, not speech
    text = " ".join(_IDS.sub("", text).split())
    if len(text) <= OUTPUT_MAX_CHARACTERS:
        return text
    head = text[: OUTPUT_MAX_CHARACTERS + 1]
    ends = [match.end() for match in _SENTENCE_END.finditer(head)]
    # After the last whole sentence; one long sentence is cut at a word.
    cut = head[: ends[-1]] if ends else head.rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return f"{cut} {FULL_RESULT}"


def task_sentence(task: "TaskRecord") -> str:
    """One task's state, for a voice."""
    name = spoken_name(task["toolName"])
    if task["status"] == "pending":
        return f"{name} is still running."
    if task["status"] == "completed":
        output = spoken_output(task.get("output", ""))
        return f"{name} is done. {output}".strip()
    reason = spoken_output(task.get("error", ""))
    return f"{name} failed. {reason}".strip()


def tasks_sentence(tasks: Sequence["TaskRecord"]) -> str:
    """Several tasks' states, newest first, for a voice."""
    if not tasks:
        return NO_TASKS
    return " ".join(task_sentence(task) for task in tasks)
