"""POST /agent-tools (ElevenLabs calls a server tool), POST /callback (cursor-runner reports
back), GET /tasks/{requestId}."""

from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from agent_conversations import store as conversations
from agent_tasks import speech, store
from agent_tasks.permissions import WebhookSecretRequired
from agent_tasks.serializers import (
    CallbackAnswer,
    CallbackInput,
    TaskState,
    TaskStatusAnswer,
    TaskStatusArgs,
    ToolCallAnswer,
    ToolCallInput,
)
from elevenlabs_agent.asgi_http import waits_on_another_service
from elevenlabs_agent.cursor_runner import Dispatch, dispatch
from elevenlabs_agent.encoding import dumps
from elevenlabs_agent.errors import (
    ConversationFull,
    ConversationNotFound,
    SessionNotFound,
    TaskNotFound,
)
from elevenlabs_agent.ids import REQUEST_ID, PathIdViewSet
from elevenlabs_agent.openapi import documented
from elevenlabs_agent.permissions import FeatureEnabled
from elevenlabs_agent.views import public_base_url

DISPATCH_FAILED = "cursor-runner did not accept the task"
# A finished task is retried at most this often when a concurrent writer changes it first.
_FINISH_ATTEMPTS = 3


def _prompt(tool_name: str, tool_args: dict) -> str:
    """cursor-runner's instruction: the tool's own `prompt` argument, else a sentence naming the
    tool and its arguments."""
    prompt = tool_args.get("prompt")
    if isinstance(prompt, str) and prompt.strip():
        return prompt
    return f"Run the tool {tool_name} with these arguments: {dumps(tool_args).decode()}"


class WebhookViewSet(viewsets.ViewSet):
    """Routes called by other services, with WEBHOOK_SECRET instead of AGENT_API_KEYS."""

    authentication_classes: list[type] = []
    permission_classes = [FeatureEnabled, WebhookSecretRequired]


@waits_on_another_service  # cursor-runner, up to CURSOR_RUNNER_TIMEOUT_SECONDS
class ToolCallViewSet(WebhookViewSet):
    @documented(
        ToolCallAnswer | TaskStatusAnswer,
        400, 404, 409, 413, 415, 502,
        request=ToolCallInput,
        summary="A server-tool call from the voice agent: start the task in cursor-runner",
    )  # fmt: skip
    def create(self, request: Request) -> Response:
        body = ToolCallInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        conversation_id = data.get("conversation_id")
        if conversation_id is None:
            conversation_id = conversations.conversation_id_for(elevenlabs_id=data["session_id"])
            if conversation_id is None:
                raise SessionNotFound
        tool_name, tool_args = data["tool_name"], data["tool_args"]
        if tool_name == TASK_STATUS:
            return Response(task_status(conversation_id, tool_args))
        try:
            started = store.task_start(
                conversation_id=conversation_id, tool_name=tool_name, tool_args=tool_args
            )
        except store.ConversationGone:
            raise ConversationNotFound from None
        except store.ConversationFull:
            raise ConversationFull from None
        request_id = started.task.record["requestId"]
        outcome = dispatch(
            request_id=request_id,
            prompt=_prompt(tool_name, tool_args),
            conversation_id=conversation_id,
            callback_url=f"{public_base_url(request)}/callback",
        )
        name = speech.spoken_name(tool_name)
        # No answer in time still counts as started: the work may be running, and its callback
        # completes the task.
        if outcome is Dispatch.REFUSED and store.task_refused(
            started=started, error=DISPATCH_FAILED
        ):
            failed: ToolCallAnswer = {
                "ok": False,
                "say": f"Sorry, I could not start {name} right now.",
                "result": {"requestId": request_id, "status": "failed"},
            }
            return Response(failed, status=status.HTTP_502_BAD_GATEWAY)
        answer: ToolCallAnswer = {
            "ok": True,
            "say": f"I have started {name}. I will tell you when it is done.",
            "result": {"requestId": request_id, "status": "processing"},
        }
        return Response(answer)


# The server tool the agent calls to hear how its tasks went (the pull alternative to pushes:
# docs/agent-setup.md). Answered at once, nothing dispatched.
TASK_STATUS = "task_status"
# What the agent's model gets of an output (the voice gets far less: speech.py).
RESULT_OUTPUT_MAX_CHARACTERS = 2000


def task_status(conversation_id: str, tool_args: dict) -> TaskStatusAnswer:
    """The named task, or the conversation's latest ones, for the agent; the finished ones
    count as told, so their pushes are not delivered too."""
    args = TaskStatusArgs(data=tool_args)
    args.is_valid(raise_exception=True)
    request_id = args.validated_data.get("requestId")
    if request_id is None:
        tasks = store.recent_tasks(conversation_id=conversation_id)
    else:
        named = store.task_get(request_id=request_id)
        if named is None or named.record["conversationId"] != conversation_id:
            raise TaskNotFound
        tasks = [named.record]
    finished = [task["requestId"] for task in tasks if task["status"] != "pending"]
    store.tasks_told(conversation_id=conversation_id, request_ids=finished)
    states = [_task_state(task) for task in tasks]
    return {"ok": True, "say": speech.tasks_sentence(tasks), "result": {"tasks": states}}


def _task_state(task: store.TaskRecord) -> TaskState:
    state: TaskState = {
        "requestId": task["requestId"],
        "status": "processing" if task["status"] == "pending" else task["status"],
        "toolName": task["toolName"],
    }
    if "output" in task:
        state["output"] = task["output"][:RESULT_OUTPUT_MAX_CHARACTERS]
    if "error" in task:
        state["error"] = task["error"][:RESULT_OUTPUT_MAX_CHARACTERS]
    return state


class CallbackViewSet(WebhookViewSet):
    @documented(
        CallbackAnswer,
        400, 404, 413, 415,
        request=CallbackInput,
        summary="cursor-runner reports a task's end (idempotent by requestId)",
    )  # fmt: skip
    def create(self, request: Request) -> Response:
        body = CallbackInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        succeeded = data["success"]
        result = data.get("output") if succeeded else data.get("error", data.get("output"))
        for _ in range(_FINISH_ATTEMPTS):
            task = store.task_get(request_id=data["requestId"])
            if task is None:
                raise TaskNotFound
            record = task.record
            answer: CallbackAnswer = {
                "success": True,
                "requestId": record["requestId"],
                "conversationId": record["conversationId"],
                "status": record["status"],
            }
            if record["status"] != "pending":
                return Response({**answer, "duplicate": True})  # still a CallbackAnswer
            try:
                finished = store.task_finish(task=task, succeeded=succeeded, result=result)
            except store.ConversationGone:
                raise ConversationNotFound from None
            if finished is not None:
                return Response({**answer, "status": finished["status"]})
        raise TaskNotFound  # unreachable in practice: the task changed under every attempt


class TaskViewSet(PathIdViewSet):
    @documented(store.TaskRecord, 404, path_id=REQUEST_ID, summary="A task started by a tool call")
    def retrieve(self, request: Request, request_id: str) -> Response:
        task = store.task_get(request_id=request_id)
        if task is None:
            raise TaskNotFound
        return Response(task.record)
