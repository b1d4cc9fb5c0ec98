"""How much a chat request may carry: messages, and text per message and in
all. The limits are the gateway's settings, so they are checked here, once
the body is parsed and before detection reads a character of it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.gateway.deps import RuntimeDep
from services.gateway.errors import DouaneError
from services.routing.schemas import ChatCompletionRequest
from services.settings import Settings


class LimitExceeded(DouaneError):
    """The request carries more messages or text than this gateway accepts."""

    status_code = 422
    type = "limit_exceeded"


def _refuse(setting: str, limit: int, actual: int, what: str, loc: list) -> LimitExceeded:
    return LimitExceeded(
        f"{what}: {actual} is over this gateway's limit of {limit} ({setting})",
        details={"limit": setting, "max": limit, "actual": actual, "loc": loc},
    )


def check_limits(request: ChatCompletionRequest, settings: Settings, *, loc: tuple = ("body",)) -> None:
    """Refuse (422) the first limit the request is over. Characters are
    counted over every text detection reads (``ChatMessage.texts``)."""
    if len(request.messages) > settings.max_messages:
        raise _refuse(
            "DOUANE_MAX_MESSAGES", settings.max_messages, len(request.messages), "too many messages", [*loc, "messages"]
        )
    total = 0
    for index, message in enumerate(request.messages):
        size = sum(len(text) for text in message.texts())
        if size > settings.max_message_chars:
            raise _refuse(
                "DOUANE_MAX_MESSAGE_CHARS",
                settings.max_message_chars,
                size,
                f"message {index} is too long (characters)",
                [*loc, "messages", index],
            )
        total += size
    if total > settings.max_total_chars:
        raise _refuse(
            "DOUANE_MAX_TOTAL_CHARS",
            settings.max_total_chars,
            total,
            "the messages are too long together (characters)",
            [*loc, "messages"],
        )


def limited_request(body: ChatCompletionRequest, runtime: RuntimeDep) -> ChatCompletionRequest:
    check_limits(body, runtime.settings)
    return body


# A chat request body within the gateway's limits. Routes take it after their
# key, so a caller without a valid key hears 401, not how big its body was.
LimitedChatRequest = Annotated[ChatCompletionRequest, Depends(limited_request)]
