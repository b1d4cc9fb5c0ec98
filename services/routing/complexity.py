"""How demanding a request looks, from the request alone: a weighted sum of
named signals (size, shape, cue words), the weights and words being data
(config/complexity.yaml). Cheap and explainable on purpose: the policy sees
the level, the score and which signals fired, and decides the quality tier;
an engineer reading a decision can see why.

Cue words are looked for where people put the instruction: the system
prompt, and the opening and the end of the last user message. A pasted
contract full of "liability" is not, by itself, a request to analyse it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from services.routing.schemas import ChatCompletionRequest, ChatMessage

LEVELS = ("simple", "standard", "complex")
# What a size row can measure: characters of all the text, the output asked
# for, the messages, and the figures (numbers) in the instruction: a task
# full of amounts, rates and periods asks for a computation.
SIZES = ("input_chars", "output_tokens", "turns", "figures")
# Characters of the last user message read for cue words, at each end.
INSTRUCTION_CHARS = 400
_FENCE = re.compile(r"```")
# A figure: digits, with thousands and decimal separators of any of our
# languages ("2,400", "1 850", "5,9", "12.000"); "A-1001"-style codes count too.
_FIGURE = re.compile(r"(?<![\w.,])\d+(?:[.,\u00a0 ]\d{3})*(?:[.,]\d+)?(?![)\d])")
_CODE_LINE = re.compile(
    r"^\s*(?:def |class |import |from \S+ import |function |const |let |var |public |private |#include|SELECT |UPDATE |INSERT |"
    r"for \(|if \(|while \(|return |\}|.*[;{]\s*$)",
    re.IGNORECASE,
)


class ComplexityConfigError(Exception):
    """config/complexity.yaml cannot be used; the message says where."""


@dataclass(frozen=True)
class Complexity:
    level: str  # simple | standard | complex
    score: float
    signals: tuple[str, ...]

    def to_policy_input(self) -> dict:
        return {"level": self.level, "score": round(self.score, 2), "signals": list(self.signals)}


@dataclass(frozen=True)
class _Step:
    """Fires when the value is at least `at_least`, or (a row with `below`)
    when it is under `below`: a small output limit says "a short answer"."""

    at_least: float | None
    below: float | None
    weight: float
    name: str

    def fires(self, value: float) -> bool:
        return value >= self.at_least if self.at_least is not None else value < self.below


def _step(row: dict) -> _Step:
    if ("at_least" in row) == ("below" in row):
        raise ValueError(f"size row {row.get('name')!r} needs exactly one of at_least, below")
    at_least, below = row.get("at_least"), row.get("below")
    return _Step(
        None if at_least is None else float(at_least),
        None if below is None else float(below),
        float(row["weight"]),
        str(row["name"]),
    )


@dataclass(frozen=True)
class _CueGroup:
    weight: float
    name: str
    pattern: re.Pattern[str]
    at_least: int  # different cue words needed: one "at most" is not yet a constrained plan

    def fires(self, text: str) -> bool:
        if self.at_least <= 1:
            return self.pattern.search(text) is not None
        found: set[str] = set()
        for match in self.pattern.finditer(text):
            found.add(match.group(0).lower())
            if len(found) >= self.at_least:
                return True
        return False


class ComplexityClassifier:
    def __init__(self, config: dict):
        try:
            levels = config["levels"]
            self._standard_from = float(levels["standard_from"])
            self._complex_from = float(levels["complex_from"])
            self._sizes = {what: [_step(row) for row in steps] for what, steps in config["sizes"].items()}
            shapes = config["shapes"]
            self._code = (float(shapes["code_block"]["weight"]), str(shapes["code_block"]["name"]))
            self._tools = (float(shapes["tools"]["weight"]), str(shapes["tools"]["name"]))
            self._json = (float(shapes["json_output"]["weight"]), str(shapes["json_output"]["name"]))
            questions = shapes["question_count"]
            self._questions = _step(questions)
            self._cues = [
                _CueGroup(
                    float(group["weight"]), f"{name}_cues", _cue_pattern(group["words"]), int(group.get("at_least", 1))
                )
                for name, group in config["cues"].items()
            ]
        except (KeyError, TypeError, ValueError, re.error) as exc:
            raise ComplexityConfigError(f"complexity rules are malformed: {exc!r}") from exc
        unknown = set(self._sizes) - set(SIZES)
        if unknown:
            raise ComplexityConfigError(f"complexity rules: unknown sizes {sorted(unknown)}")

    @classmethod
    def load(cls, path: Path) -> ComplexityClassifier:
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ComplexityConfigError(f"{path}: {exc}") from None
        if not isinstance(config, dict):
            raise ComplexityConfigError(f"{path}: expected a mapping")
        return cls(config)

    def classify(self, request: ChatCompletionRequest, output_tokens: int) -> Complexity:
        score = 0.0
        signals: list[str] = []

        def fire(weight: float, name: str) -> None:
            nonlocal score
            score += weight
            signals.append(name)

        texts = request.texts()
        instruction = _instruction(request.messages)
        values = {
            "input_chars": sum(len(t) for t in texts),
            "output_tokens": output_tokens,
            "turns": len(request.messages),
            "figures": len(_FIGURE.findall(instruction)) if "figures" in self._sizes else 0,
        }
        for what, steps in self._sizes.items():
            for step in steps:
                if step.fires(values[what]):
                    fire(step.weight, step.name)
        if any(_looks_like_code(t) for t in texts):
            fire(*self._code)
        extra = request.model_extra or {}
        if extra.get("tools") or extra.get("functions"):
            fire(*self._tools)
        if _asks_for_json(extra.get("response_format")):
            fire(*self._json)
        if self._questions.fires(instruction.count("?")):
            fire(self._questions.weight, self._questions.name)
        for group in self._cues:
            if group.fires(instruction):
                fire(group.weight, group.name)
        level = "complex" if score >= self._complex_from else "standard" if score >= self._standard_from else "simple"
        return Complexity(level=level, score=score, signals=tuple(signals))


def _cue_pattern(words_by_language: dict) -> re.Pattern[str]:
    alternatives = []
    for words in words_by_language.values():
        for word in words:
            word = str(word).strip().lower()
            if not word:
                continue
            if word.endswith("*"):
                alternatives.append(re.escape(word[:-1]) + r"\w*")
            else:
                alternatives.append(re.escape(word) + r"(?!\w)")
    if not alternatives:
        raise ValueError("a cue group has no words")
    alternatives.sort(key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + ")", re.IGNORECASE)


def _instruction(messages: list[ChatMessage]) -> str:
    """The system prompt(s) and both ends of the last user message."""
    parts = [" ".join(m.texts()) for m in messages if m.role in ("system", "developer")]
    last_user = next((m for m in reversed(messages) if m.role == "user"), None)
    if last_user is not None:
        text = " ".join(last_user.texts())
        parts.append(text if len(text) <= 2 * INSTRUCTION_CHARS else text[:INSTRUCTION_CHARS] + " " + text[-INSTRUCTION_CHARS:])
    return "\n".join(parts)


def _looks_like_code(text: str) -> bool:
    if _FENCE.search(text):
        return True
    lines = [line for line in text.splitlines()[:400] if line.strip()]
    return sum(1 for line in lines if _CODE_LINE.match(line)) >= 3


def _asks_for_json(response_format) -> bool:
    return isinstance(response_format, dict) and response_format.get("type") in ("json_object", "json_schema")
