"""Detection latency: douane's build_detector() next to Presidio's default
AnalyzerEngine (configured as in eval/baselines.py), same texts, same run.

Prints figures, asserts nothing:
- one text of about 200 B, 2 KB and 32 KB (UTF-8): p50 / p99 per system, and
  how many times faster douane is. The 2 KB and 32 KB texts come twice: one
  customer's paragraph repeated (a ticket thread about one person: douane's
  name model reads a person's name once and finds its other mentions), and a
  different customer, order and date in every paragraph (every name must be
  read by the model). Both systems get the same texts, call by call in turns;
- a 20-turn conversation where, as in the gateway, the detector receives the
  whole history every turn (texts = all messages so far): the cost of turns
  10 and 20 against the cost of their new messages alone (thread CPU time,
  both timed in each round, the median of the rounds' ratios), and the cost
  of the whole conversation.

`--part sizes` or `--part conversation` runs one half.

douane's detector keeps an HMAC-keyed cache of the messages it has scanned,
so every timed text is made unique (see fresh()); the conversation is timed
cold (nothing seen before) and warm (earlier turns detected first, as in the
gateway). Presidio has no cache: its cold and warm figures are the same.

Run: `.venv/bin/python bench/pii_detection.py` (no database, no network).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _p in (str(ROOT), str(ROOT / "eval")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from baselines import build_presidio_analyzer, no_network, presidio_entities  # noqa: E402

from services.pii import build_detector  # noqa: E402

# Work-like prose with a few identifiers, repeated to size.
PARAGRAPH = (
    "Hi team, please summarise the ticket below and draft a reply. Customer Jane Whitfield "
    "(jane.whitfield@northwind.example) wrote on 3 March that order 88-1234 arrived damaged; "
    "she asks for a refund to DE89 3704 0044 0532 0130 00 and can be reached on +44 20 7946 0958. "
    "Our health check was green all day, so the failure was in the carrier's API, which timed out "
    "after 30 seconds. Keep the tone friendly, avoid jargon, and mention the SLA of two business days. "
)
USER_TURN = (
    "Turn {n}: thanks. Now rewrite the part about the refund for customer {name}, who called again "
    "from +49 151 2345678{d} and says the parcel for order 88-12{n:02d} is still missing. Keep it short "
    "and check the tone against our style guide; the previous draft was too formal for a retail customer."
)
ASSISTANT_TURN = (
    "Here is a shorter version. Dear {name}, we are sorry that your parcel has not arrived yet. We have "
    "opened a claim with the carrier and will refund the amount within two business days if it is not "
    "found. You do not need to do anything else; we will write to you as soon as we hear back from them."
)
NAMES = ["Peter Müller", "Anna Kowalska", "Luca Bianchi", "Sofie Jansen", "Claire Martin"]
# For the texts with a new person in every paragraph: names douane's given-name
# list does not hold, so only the NER model can find them (its costly case).
GIVEN = ["Jane", "Ngozi", "Kwame", "Hiroshi", "Aroha", "Amara", "Keanu", "Leilani", "Mei"]
FAMILY = ["Whitfield", "Okafor", "Mensah", "Tanaka", "Ngata", "Diallo", "Kahale", "Akana", "Chen"]


def text_of(size: int, varied: bool = False) -> str:
    """About ``size`` bytes of PARAGRAPH, repeated as it is (one customer's
    ticket thread) or, with ``varied``, with a different customer, order and
    date in every paragraph (no two name windows alike)."""
    if varied:
        paragraphs = []
        for n in range(size // len(PARAGRAPH) + 1):
            # 81 different people before the first comes back.
            given, family = GIVEN[n % len(GIVEN)], FAMILY[(n + n // len(GIVEN)) % len(FAMILY)]
            paragraphs.append(
                PARAGRAPH.replace("Jane Whitfield", f"{given} {family}")
                .replace("jane.whitfield", f"{given.lower()}.{family.lower()}")
                .replace("3 March", f"{n % 28 + 1} March")
                .replace("88-1234", f"88-{1000 + n}")
            )
        text = "".join(paragraphs)
    else:
        text = PARAGRAPH * (size // len(PARAGRAPH) + 1)
    text = text.encode()[:size].decode(errors="ignore")
    return text[: text.rfind(" ")] if " " in text else text


_counter = itertools.count()


def fresh(text: str) -> str:
    """The text with a unique ticket reference in front: douane's detector
    remembers messages it has seen (HMAC-keyed cache), so a timing loop over
    the same text would measure cache hits, not detection."""
    return f"Ref T{next(_counter):07d}. {text}"


def conversation(turns: int = 20) -> list[list[str]]:
    """histories[k-1] = the texts the detector receives at user turn k; every
    call builds a conversation no detector has seen yet."""
    messages: list[str] = []
    histories = []
    for n in range(1, turns + 1):
        name = NAMES[n % len(NAMES)]
        messages.append(fresh(USER_TURN.format(n=n, name=name, d=n % 10)))
        histories.append(list(messages))
        messages.append(fresh(ASSISTANT_TURN.format(name=name)))
    return histories


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def timed(fn: Callable[[], object], n: int, warmup: int = 3, setup: Callable[[], object] | None = None) -> list[float]:
    """Wall time of fn() in ms; setup(), if given, runs untimed before each call
    and its result is passed to fn."""
    out = []
    for i in range(warmup + n):
        arg = setup() if setup else None
        start = time.perf_counter()
        fn(arg) if setup else fn()  # type: ignore[call-arg]
        if i >= warmup:
            out.append((time.perf_counter() - start) * 1000)
    return out


def compared(
    systems: dict[str, Callable[[list[str]], object]], make_texts: Callable[[], list[str]], n: int, warmup: int = 3
) -> dict[str, list[float]]:
    """Wall time in ms of each system on the same new texts, call by call in
    turns (the order swapped every round), so a busy machine slows both alike."""
    out: dict[str, list[float]] = {name: [] for name in systems}
    names = list(systems)
    for i in range(warmup + n):
        texts = make_texts()
        for name in names if i % 2 else reversed(names):
            start = time.perf_counter()
            systems[name](texts)
            if i >= warmup:
                out[name].append((time.perf_counter() - start) * 1000)
    return out


def row(label: str, samples: dict[str, list[float]]) -> float:
    """Print one line; return how many times faster douane is (p50)."""
    d, p = samples["douane"], samples["presidio"]
    d50, p50 = statistics.median(d), statistics.median(p)
    print(
        f"{label:<46} n={len(d):>3}  douane p50 {d50:8.2f} p99 {pct(d, 99):8.2f}   "
        f"presidio p50 {p50:8.2f} p99 {pct(p, 99):8.2f}   douane faster {p50 / d50:5.1f}x"
    )
    return p50 / d50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("all", "sizes", "conversation"), default="all",
                        help="time only the single texts or only the 20-turn conversation")
    part = parser.parse_args().part
    with no_network() as attempts:
        started = time.perf_counter()
        detector = build_detector()
        built_douane = time.perf_counter() - started
        started = time.perf_counter()
        analyzer = build_presidio_analyzer()
        built_presidio = time.perf_counter() - started
        systems: dict[str, Callable[[list[str]], object]] = {
            "douane": detector.detect,
            "presidio": lambda texts: presidio_entities(analyzer, texts),
        }
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; times in ms")
        print(f"build: douane {built_douane:.2f} s, presidio {built_presidio:.2f} s")
        print()

        # The targets: 2 KB at least 10x faster than Presidio, 32 KB at least 5x.
        targets = {2_000: 10.0, 32_000: 5.0}
        speedups: list[tuple[str, float, float]] = []
        for size, n in ((200, 200), (2_000, 100), (32_000, 20)) if part in ("all", "sizes") else ():
            for varied in (False, True) if size in targets else (False,):
                text = text_of(size, varied)
                label = f"one new text, {len(text.encode())} B" + (", new person per paragraph" if varied else "")
                speedup = row(label, compared(systems, lambda text=text: [fresh(text)], n))
                if size in targets:
                    speedups.append((label, speedup, targets[size]))
            hit = timed(lambda: detector.detect([text]), n)
            print(f"{'':<46}        douane, the same text again (cache hit): p50 {statistics.median(hit):.3f} ms")
        print()

        print("20-turn conversation: the detector gets the whole history each turn")
        print("  warm = turns 1..k-1 were detected first, as the gateway would have; cold = nothing seen before")
        turn_costs: list[tuple[int, float]] = []
        for turn in (10, 20) if part in ("all", "conversation") else ():
            def warmed(turn: int = turn) -> list[str]:
                histories = conversation(20)
                for earlier in histories[: turn - 1]:
                    detector.detect(earlier)
                return histories[turn - 1]

            size = sum(len(t.encode()) for t in conversation(20)[turn - 1])
            # What is new in the request of turn k: the assistant's previous reply
            # (douane has not seen it as input yet) and the user's new question.
            # Each round builds two conversations alike but for their ticket
            # references: the whole history of one (warm: its earlier turns
            # detected first) and the two new messages of the other are timed
            # in the same round, the order swapped every round, so both see
            # the same texts' cost and the same machine.
            new_alone: dict[str, list[float]] = {"douane": [], "presidio": []}
            warm: dict[str, list[float]] = {"douane": []}
            for i in range(3 + 40):
                history = warmed()
                alone = conversation(20)[turn - 1][-2:]
                calls = [("douane", new_alone, alone), ("presidio", new_alone, alone), ("douane", warm, history)]
                for name, into, texts in calls if i % 2 else reversed(calls):
                    # CPU time of this thread (detection runs in the caller's
                    # thread): what another process does meanwhile is not counted.
                    start = time.thread_time()
                    systems[name](texts)
                    if i >= 3:
                        into[name].append((time.thread_time() - start) * 1000)
            cold = {name: timed(lambda h, f=f: f(h), 10, warmup=1, setup=lambda: conversation(20)[turn - 1])
                    for name, f in systems.items()}
            warm["presidio"] = cold["presidio"]
            row(f"turn {turn}: its 2 new messages alone", new_alone)
            row(f"turn {turn}: history cold, {2 * turn - 1} msgs {size} B", cold)
            row(f"turn {turn}: history warm (douane cache)", warm)
            # douane's ratio is the median of the rounds' own ratios (each round
            # times both in a row), which a slow stretch of the machine moves
            # less than a ratio of two medians; presidio's has no pairs.
            ratio = statistics.median(w / a for w, a in zip(warm["douane"], new_alone["douane"]))
            seen = warmed()[:-2]
            detector.detect(seen)
            cached = timed(lambda seen=seen: detector.detect(seen), 200)
            print(f"{'':<46}        douane: turn {turn} costs {ratio:5.2f}x its new messages alone "
                  f"(the {len(seen)} messages seen before: {statistics.median(cached):.3f} ms)")
            turn_costs.append((turn, ratio))
            ratio = statistics.median(cold["presidio"]) / statistics.median(new_alone["presidio"])
            print(f"{'':<46}        presidio: turn {turn} costs {ratio:5.2f}x its new messages alone")
        if part == "all":
            totals = {name: timed(lambda hs, f=f: [f(h) for h in hs], 3, warmup=1, setup=lambda: conversation(20))
                      for name, f in systems.items()}
            row("whole conversation (20 detect calls)", totals)
        print()
        print("issue targets (p50, same texts, same run):")
        for label, speedup, target in speedups:
            verdict = "met" if speedup >= target else "MISSED"
            print(f"  {label:<46} douane {speedup:5.1f}x faster than Presidio (target >= {target:.0f}x): {verdict}")
        for turn, ratio in turn_costs:
            # Looking up the messages seen before costs something (an HMAC and a
            # dict lookup each, ~3 us), so the ratio is judged at one decimal.
            verdict = "met" if round(ratio, 1) <= 1.0 else "MISSED"
            print(f"  {f'turn {turn}, history warm':<46} douane costs {ratio:4.2f}x its new messages "
                  f"(target <= 1.0x, at one decimal): {verdict}")
    if attempts:
        print(f"WARNING: {len(attempts)} network connection attempts were blocked")


if __name__ == "__main__":
    main()
