"""Ids in paths, checked before anything is looked up; and the base of every view that has one.

A route under `.../<str:conversation_id>/...` or `tasks/<str:request_id>` gets its id validated
by `PathIdViewSet`, after the feature flag and API key checks and before the handler runs, so
a new route cannot forget it; `documented(..., path_id=...)` publishes the same rule.
"""

import re
from dataclasses import dataclass
from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

ID_CHARACTERS = (
    "1-128 characters of letters, digits, '.', '_' or '-', starting with a letter or digit"
)


@dataclass(frozen=True)
class PathId:
    kwarg: str  # the URL pattern's name for it
    field: str  # its name in error details
    pattern: re.Pattern[str]
    invalid: str  # the error message
    description: str

    def validated(self, value: str) -> str:
        """The id, or a 400 naming the field."""
        if not self.pattern.fullmatch(value):
            raise ValidationError({self.field: [self.invalid]})
        return value

    @property
    def parameter(self) -> OpenApiParameter:
        return OpenApiParameter(
            self.kwarg, str, OpenApiParameter.PATH,
            pattern=self.pattern.pattern, description=self.description,
        )  # fmt: skip


# The contract's id pattern, less the route names `list` and `new`, which are never ids.
CONVERSATION_ID = PathId(
    kwarg="conversation_id",
    field="conversationId",
    pattern=re.compile(r"^(?!(?:list|new)$)[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"),
    invalid=f"Must be {ID_CHARACTERS}, and not 'list' or 'new'.",
    description="Conversation id ('list' and 'new' are routes, never ids)",
)
REQUEST_ID = PathId(
    kwarg="request_id",
    field="requestId",
    pattern=re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"),
    invalid=f"Must be {ID_CHARACTERS}.",
    description="The requestId a tool call answered",
)
PATH_IDS = {path_id.kwarg: path_id for path_id in (CONVERSATION_ID, REQUEST_ID)}


class PathIdViewSet(viewsets.ViewSet):
    """A ViewSet whose path ids (every URL keyword is one of PATH_IDS) are validated after the
    gate and key checks, before the handler."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        for name, value in kwargs.items():
            PATH_IDS[name].validated(value)
