"""How demanding a request looks, from the request alone: a weighted sum of
named signals (size, shape, cue words), the weights and words being data
(services/routing/complexity.yaml). Cheap and explainable on purpose: the policy sees
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
# Characters of each text looked at for lines of code.
CODE_CHARS = 8000
_TOKEN = re.compile(r"\w+")
# A figure: digits, with thousands and decimal separators of any of our
# languages ("2,400", "1 850", "5,9", "12.000"); "A-1001"-style codes count
# too, list markers such as "(1)" do not.
_FIGURE = re.compile(r"(?<![\w.,])\d+(?:[.,\u00a0 ]\d{3})*(?:[.,]\d+)?(?![)\d])")
_CODE_LINE = re.compile(
    r"^\s*(?:def |class |import |from \S+ import |function |const |let |var |public |private |#include|SELECT |UPDATE |INSERT |"
    r"for \(|if \(|while \(|return |\}|.*[;{]\s*$)",
    re.IGNORECASE,
)


DEFAULT_RULES_PATH = Path(__file__).with_name("complexity.yaml")

class ComplexityConfigError(Exception):
    """The complexity rules cannot be used; the message says where."""


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
    at_least: int  # different cue words needed: one "at most" is not yet a constrained plan


@dataclass(frozen=True)
class _Cue:
    group: int
    word: str  # as written in the rules
    rest: tuple[str, ...]  # the tokens after the first one
    prefix: bool  # the last token may go on ("analyse*")


class _CueIndex:
    """Every cue word of every group, looked up token by token: one pass over
    the instruction whatever the number of words (a regular expression of a
    few hundred alternatives costs a millisecond on a long request)."""

    def __init__(self, groups: list[tuple[str, dict]]):
        """groups: (name, {language: [word, ...]}) in the rules' order."""
        self._exact: dict[str, list[_Cue]] = {}
        self._stems: dict[str, list[_Cue]] = {}
        for group, (name, words_by_language) in enumerate(groups):
            count = 0
            for words in words_by_language.values():
                for word in words:
                    word = str(word).strip().lower()
                    prefix = word.endswith("*")
                    tokens = _TOKEN.findall(word[:-1] if prefix else word)
                    if not tokens:
                        if word:
                            raise ValueError(f"cue group {name!r}: word {word!r} has no letters or digits")
                        continue
                    count += 1
                    if prefix and len(tokens) == 1:
                        self._stems.setdefault(tokens[0], []).append(_Cue(group, word, (), True))
                    else:
                        self._exact.setdefault(tokens[0], []).append(_Cue(group, word, tuple(tokens[1:]), prefix))
            if not count:
                raise ValueError(f"cue group {name!r} has no words")
        self._stem_lengths = sorted({len(stem) for stem in self._stems})

    def matches(self, text: str) -> dict[int, set[str]]:
        """Group index -> the different cue words of it found in text."""
        found: dict[int, set[str]] = {}
        tokens = _TOKEN.findall(text.lower())
        stems_of: dict[str, list[_Cue]] = {}
        for i, token in enumerate(tokens):
            for cue in self._exact.get(token, ()):
                if self._rest_matches(cue, tokens, i + 1):
                    found.setdefault(cue.group, set()).add(cue.word)
            cues = stems_of.get(token)
            if cues is None:
                cues = stems_of[token] = [
                    cue
                    for length in self._stem_lengths
                    if length <= len(token)
                    for cue in self._stems.get(token[:length], ())
                ]
            for cue in cues:
                found.setdefault(cue.group, set()).add(cue.word)
        return found

    @staticmethod
    def _rest_matches(cue: _Cue, tokens: list[str], start: int) -> bool:
        if start + len(cue.rest) > len(tokens):
            return False
        last = len(cue.rest) - 1
        for j, want in enumerate(cue.rest):
            got = tokens[start + j]
            if not (got.startswith(want) if cue.prefix and j == last else got == want):
                return False
        return True


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
                _CueGroup(float(group["weight"]), f"{name}_cues", int(group.get("at_least", 1)))
                for name, group in config["cues"].items()
            ]
            self._index = _CueIndex([(name, group["words"]) for name, group in config["cues"].items()])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ComplexityConfigError(f"complexity rules are malformed: {exc!r}") from exc
        unknown = set(self._sizes) - set(SIZES)
        if unknown:
            raise ComplexityConfigError(f"complexity rules: unknown sizes {sorted(unknown)}")

    @classmethod
    def load(cls, path: Path | None = None) -> ComplexityClassifier:
        """The rules at ``path``; None: the ones shipped with douane."""
        path = path or DEFAULT_RULES_PATH
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
            "figures": len(_FIGURE.findall(_instruction(request.messages, with_end=False))) if "figures" in self._sizes else 0,
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
        found = self._index.matches(instruction)
        for i, group in enumerate(self._cues):
            if len(found.get(i, ())) >= group.at_least:
                fire(group.weight, group.name)
        level = "complex" if score >= self._complex_from else "standard" if score >= self._standard_from else "simple"
        return Complexity(level=level, score=score, signals=tuple(signals))


def _instruction(messages: list[ChatMessage], *, with_end: bool = True) -> str:
    """The system prompt(s) and the last user message, only its opening (and,
    ``with_end``, its end) when it is long: where people put the instruction.
    Without the end it is where a task's own figures are (the figures of a
    pasted report are the report's, not the task's)."""
    parts = [" ".join(m.texts()) for m in messages if m.role in ("system", "developer")]
    last_user = next((m for m in reversed(messages) if m.role == "user"), None)
    if last_user is not None:
        text = " ".join(last_user.texts())
        if len(text) > 2 * INSTRUCTION_CHARS:
            text = text[:INSTRUCTION_CHARS] + (" " + text[-INSTRUCTION_CHARS:] if with_end else "")
        parts.append(text)
    return "\n".join(parts)


def _looks_like_code(text: str) -> bool:
    if "```" in text:
        return True
    lines = [line for line in text[:CODE_CHARS].splitlines() if line.strip()]
    return sum(1 for line in lines if _CODE_LINE.match(line)) >= 3


def _asks_for_json(response_format) -> bool:
    return isinstance(response_format, dict) and response_format.get("type") in ("json_object", "json_schema")
