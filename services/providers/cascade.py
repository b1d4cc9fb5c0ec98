"""The checks a cascade's first answer must pass before it is returned.

A cascade (the policy's ``quality.cascade``) sends a non-stream request first
to an endpoint one tier below the one the task needs; its answer reaches the
app only if it passes the check the request named, otherwise the gateway
escalates along the plan. Each check is a pure function of the upstream's
chat completion (after placeholders were restored: what the app would get)
that says why the answer fails, or None when it passes. Every choice is
judged (``n`` > 1 returns them all to the app); an answer without choices
fails every check.

- ``json``: the content of each choice parses as JSON (RFC 8259, any value;
  NaN and Infinity are not JSON). A fenced block (three backticks and
  ``json``) fails: douane returns the answer unchanged, so an app that calls
  ``json.loads`` on it would break on an answer the gateway vouched for. A
  tool call carries no content and fails too: use ``not_empty`` with tools.
- ``not_empty``: some content that is not only whitespace, or a tool call.
- ``not_refusal``: not empty, and not a refusal: the message's ``refusal``
  field set, ``finish_reason`` ``content_filter``, or a short answer (under
  300 characters) that opens like a refusal in one of the languages of
  ``refusals.yaml``. A false positive costs an escalation, never a wrong answer.

A check that is not one of these (the policy's output is validated against
the same names, ``policy.validation.CASCADE_CHECKS``) fails: an answer
nothing vouched for is not returned.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REFUSALS_FILE = Path(__file__).with_name("refusals.yaml")
# A refusal is short; a longer answer that opens carefully is still an answer.
REFUSAL_MAX_CHARS = 300
# Around an answer, before its first word: quotes, markdown emphasis, spaces.
_LEADING = " \t\n\"'`*_>«»“”„‚‘’"
# After a stripped apology or connector.
_PUNCTUATION = " ,.!;:-–—…"


@dataclass(frozen=True)
class RefusalOpenings:
    """How refusals begin, per language (data: ``refusals.yaml``)."""

    apologies: tuple[str, ...]  # longest first
    connectors: tuple[str, ...]
    openings: dict[str, tuple[str, ...]]  # language -> openings

    @classmethod
    def load(cls, path: Path = REFUSALS_FILE) -> RefusalOpenings:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))

        def phrases(items: list[str]) -> tuple[str, ...]:
            return tuple(sorted({_normalised(item) for item in items}, key=len, reverse=True))

        return cls(
            apologies=phrases(data["apologies"]),
            connectors=phrases(data["connectors"]),
            openings={language: phrases(items) for language, items in data["openings"].items()},
        )

    def language_of(self, text: str) -> str | None:
        """The language whose refusal ``text`` opens with, or None."""
        opening = _normalised(text)
        for _ in range(2):  # "Sorry. Unfortunately, I can't …"
            stripped = _strip_word(opening, self.apologies)
            if stripped is None:
                break
            opening = _strip_word(stripped, self.connectors) or stripped
        for language, phrases in self.openings.items():
            if any(_starts_with_words(opening, phrase) for phrase in phrases):
                return language
        return None


@functools.cache
def refusal_openings() -> RefusalOpenings:
    """The shipped list, read once (it is package data, not configuration)."""
    return RefusalOpenings.load()


def json_check(completion: Any) -> str | None:
    for label, choice in _labelled_choices(completion):
        content = _content(_message(choice))
        if not content.strip():
            return f"{label} has no content"
        try:
            json.loads(content, parse_constant=_not_json)
        except ValueError:
            return f"{label} does not parse as JSON"
    return _no_choices(completion)


def not_empty_check(completion: Any) -> str | None:
    for label, choice in _labelled_choices(completion):
        message = _message(choice)
        if not _content(message).strip() and not _has_tool_call(message):
            return f"{label} is empty"
    return _no_choices(completion)


def not_refusal_check(completion: Any, refusals: RefusalOpenings | None = None) -> str | None:
    empty = not_empty_check(completion)
    if empty is not None:
        return empty
    refusals = refusals or refusal_openings()
    for label, choice in _labelled_choices(completion):
        message = _message(choice)
        refusal = message.get("refusal")
        if isinstance(refusal, str) and refusal.strip():
            return f"{label} is a refusal (its refusal field is set)"
        if choice.get("finish_reason") == "content_filter":
            return f"{label} is a refusal (finish_reason content_filter)"
        content = _content(message).strip()
        if content and len(content) < REFUSAL_MAX_CHARS and refusals.language_of(content) is not None:
            return f"{label} is a refusal (a short answer that opens like one)"
    return None


CHECKS: dict[str, Callable[[Any], str | None]] = {
    "json": json_check,
    "not_empty": not_empty_check,
    "not_refusal": not_refusal_check,
}


def failure(check: str, completion: Any) -> str | None:
    """Why ``completion`` fails ``check``; None when it passes."""
    run = CHECKS.get(check)
    if run is None:
        return f"{check!r} is not a check this gateway can run"
    return run(completion)


# -- reading a chat completion ---------------------------------------------


def _choices(completion: Any) -> list[dict[str, Any]]:
    choices = completion.get("choices") if isinstance(completion, dict) else None
    return [c for c in choices if isinstance(c, dict)] if isinstance(choices, list) else []


def _labelled_choices(completion: Any) -> list[tuple[str, dict[str, Any]]]:
    choices = _choices(completion)
    if len(choices) == 1:
        return [("the answer", choices[0])]
    return [(f"choice {index}", choice) for index, choice in enumerate(choices)]


def _no_choices(completion: Any) -> str | None:
    return None if _choices(completion) else "the answer has no choices"


def _message(choice: dict[str, Any]) -> dict[str, Any]:
    message = choice.get("message")
    return message if isinstance(message, dict) else {}


def _content(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: their text, in order
        return "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _has_tool_call(message: dict[str, Any]) -> bool:
    tool_calls = message.get("tool_calls")
    return (isinstance(tool_calls, list) and bool(tool_calls)) or isinstance(message.get("function_call"), dict)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


# -- matching refusal openings ---------------------------------------------


def _normalised(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("‘", "'")
    return " ".join(text.split()).lstrip(_LEADING)


def _starts_with_words(text: str, phrase: str) -> bool:
    # Whole words: "ich kann nicht" is not the start of "ich kann nichts dafür, aber …".
    return text.startswith(phrase) and (len(text) == len(phrase) or not text[len(phrase)].isalnum())


def _strip_word(text: str, phrases: tuple[str, ...]) -> str | None:
    """``text`` without the first of ``phrases`` it starts with (and the
    punctuation after it); None when it starts with none."""
    for phrase in phrases:
        if _starts_with_words(text, phrase):
            return text[len(phrase):].lstrip(_PUNCTUATION)
    return None
