"""OpenAPI description of the routes, built from the same TypedDicts the views return."""

from typing import Any, NotRequired, TypedDict

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import resolve_type_hint
from drf_spectacular.utils import OpenApiResponse, extend_schema

from elevenlabs_agent.ids import PathId


class ErrorEnvelope(TypedDict):
    """Every error: one human sentence, plus per-field messages for validation errors."""

    success: bool
    error: str
    details: NotRequired[dict[str, Any]]
    message: NotRequired[str]  # feature disabled
    enabled: NotRequired[bool]  # feature disabled
    active: NotRequired[bool]  # no active session


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents ApiKeyAuthentication as a bearer token (X-API-Key carries the same key)."""

    target_class = "elevenlabs_agent.authentication.ApiKeyAuthentication"
    name = "bearer"

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[str]]]:
        # The live configuration: without AGENT_API_KEYS the key is optional (`{}`).
        required: dict[str, list[str]] = {self.name: []}
        return [required] if settings.AGENT_API_KEYS else [required, {}]

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Needed once AGENT_API_KEYS is set; `X-API-Key: <key>` works too.",
        }


_ERRORS = {
    400: "Invalid input (the error names the field)",
    401: "API keys are configured and none valid was sent (or, from ElevenLabs: key refused)",
    403: "ElevenLabs denied access to the agent",
    404: "Not found",
    408: "Request body not received in time",
    409: "Conversation is full (CONVERSATION_MAX_MESSAGES, CONVERSATION_MAX_BYTES)",
    413: "Request body too large",
    415: "Body is not application/json",
    422: "ElevenLabs rejected the request",
    429: "Too many requests (API_THROTTLE_RATE); see Retry-After",
    502: "ElevenLabs could not be reached or answered badly",
    503: "Feature disabled, or storage unavailable (with Retry-After)",
    504: "ElevenLabs did not answer in time",
}
_EVERY_GATED_ROUTE = (401, 429, 503)


def schema_of(hint: Any) -> dict[str, Any]:
    """The JSON schema of a TypedDict (or any type hint) the views return."""
    return resolve_type_hint(hint)


def documented(
    ok: Any, *errors: int, gated: bool = True, path_id: PathId | None = None, **kwargs: Any
) -> Any:
    """extend_schema with the 200 body and every error code the route can answer; `path_id`
    adds that path parameter and its 400 (PathIdViewSet enforces it)."""
    codes = sorted({*errors, *(_EVERY_GATED_ROUTE if gated else ()), *((400,) if path_id else ())})
    if path_id is not None:
        kwargs["parameters"] = [path_id.parameter, *kwargs.get("parameters", ())]
    error = schema_of(ErrorEnvelope)
    responses = {200: OpenApiResponse(schema_of(ok))}
    responses |= {code: OpenApiResponse(error, description=_ERRORS[code]) for code in codes}
    return extend_schema(responses=responses, **kwargs)
