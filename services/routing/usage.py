"""How many tokens a request will use, before it is sent.

A heuristic, not a tokenizer: exact counts differ per provider, and
tokenizer libraries fetch their vocabularies at run time, which this gateway
must not do. About four characters a token holds for the European languages
we route, and the estimate only ranks endpoints by price; actual usage comes
from the upstream's answer.
"""

from __future__ import annotations

import math

from services.routing.schemas import ChatCompletionRequest, UsageEstimate

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4  # role and framing tokens OpenAI-style chat formats add


def estimate_usage(request: ChatCompletionRequest, default_output_tokens: int) -> UsageEstimate:
    chars = sum(len(text) for text in request.texts())
    input_tokens = math.ceil(chars / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE * len(request.messages)
    output_tokens = request.max_completion_tokens or request.max_tokens or default_output_tokens
    return UsageEstimate(input_tokens=input_tokens, output_tokens=output_tokens)
