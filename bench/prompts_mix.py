"""A deterministic, realistic mix of chat requests for the load test.

What real apps send, as far as the gateway's cost goes:
- a system prompt that repeats across requests (a handful per app: support
  agent, code assistant, summariser, ...) and a user message that is new
  every time. The detector caches findings per distinct message (an HMAC of
  it), so the system prompts hit that cache after the first request, as they
  would in production, while every user message is distinct and is scanned:
  repeating one text would flatter the figures;
- user messages whose sizes are log-normal with a median of ~1 KB and a
  tail: about 3 % above 8 KB and 0.5 % at the 32 KB cap (a pasted log or
  contract);
- a fifth carrying personal data (names, e-mail addresses, IBANs with valid
  check digits, phone numbers, health terms) in seven languages, the rest
  clean business text (tickets, code questions, meeting notes, reports);
- routing hints that vary a little (purpose, residency, risk tolerance).

``build_mix(n, seed)`` gives the same n requests for the same seed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

MEDIAN_BYTES = 1024
SIGMA = 1.1  # ln-space spread: P(> 8 KB) ~ 3 %
MAX_BYTES = 32 * 1024
MIN_BYTES = 60
AT_CAP_SHARE = 0.005  # requests forced to the 32 KB cap
PERSONAL_SHARE = 0.2
LANGUAGES = ("en", "de", "fr", "it", "es", "nl", "pl")
LANGUAGE_WEIGHTS = (0.45, 0.15, 0.12, 0.08, 0.08, 0.06, 0.06)

SYSTEM_PROMPTS = {
    "customer_support": (
        "You are the customer support assistant of an online retailer. Answer politely and concisely, in the "
        "customer's language. Never promise refunds above the amount on the invoice; escalate disputes to a human "
        "agent. Quote order numbers exactly as given. If the customer is angry, acknowledge it before answering."
    ),
    "coding": (
        "You are a senior software engineer reviewing code and answering programming questions. Prefer small, "
        "tested changes; explain trade-offs briefly; show code in fenced blocks with the language named. "
        "Do not invent APIs: if unsure whether a function exists, say so."
    ),
    "summarisation": (
        "Summarise the text the user gives you in at most five bullet points, then list decisions and open "
        "action items with owners and dates when the text states them. Keep the original language."
    ),
    "translation": (
        "Translate the user's text into English, keeping formatting, numbers and product names unchanged. "
        "Do not add explanations."
    ),
    "analytics": (
        "You help analysts write SQL for a PostgreSQL warehouse (tables: orders, customers, shipments, "
        "refunds). Answer with one query and one sentence on what it returns."
    ),
    "internal_tools": (
        "You are the HR and facilities assistant for employees. Answer questions about policies, leave, "
        "expenses and equipment; point to the intranet page when relevant; never disclose another employee's data."
    ),
}
PURPOSE_WEIGHTS = {"customer_support": 0.35, "coding": 0.2, "summarisation": 0.15, "translation": 0.08,
                   "analytics": 0.1, "internal_tools": 0.12}

# Clean business sentences: no names, no identifiers; numbers and references vary per request.
CLEAN = {
    "en": [
        "The order {n} was shipped on {d} but the tracking page still shows it as pending.",
        "Our build fails on the integration stage since the dependency upgrade to version {v}.",
        "Please summarise the quarterly figures: revenue grew {p} % while logistics costs rose {q} %.",
        "The customer reports that the invoice {n} lists {k} items instead of {j}.",
        "We agreed to move the release to week {w} and to freeze the API until then.",
        "The dashboard query takes {k} seconds on the shipments table; an index on created_at may help.",
        "Ticket {n}: the mobile app crashes when the user rotates the screen on the checkout page.",
        "Action item: update the runbook for the failover of region {r} before the next drill.",
        "The supplier confirmed a delivery window of {k} days for the spare parts of batch {n}.",
        "Refactor the payment module so the retry logic lives in one place and is covered by tests.",
        "Marketing asks for a breakdown of returns by product category for the last {k} months.",
        "The warehouse in zone {r} reported {k} damaged pallets during the night shift.",
    ],
    "de": [
        "Die Bestellung {n} wurde am {d} versandt, ist aber laut Sendungsverfolgung noch nicht angekommen.",
        "Bitte fassen Sie das Protokoll der Sitzung zusammen; der Umsatz stieg um {p} Prozent.",
        "Die Rechnung {n} enthält {k} Positionen statt {j}, bitte prüfen.",
        "Der Build schlägt seit dem Update auf Version {v} in der Integrationsstufe fehl.",
        "Wir verschieben den Release auf Kalenderwoche {w} und frieren die Schnittstelle bis dahin ein.",
    ],
    "fr": [
        "La commande {n} a été expédiée le {d} mais le suivi indique toujours en attente.",
        "Merci de résumer le compte rendu : le chiffre d'affaires a progressé de {p} %.",
        "La facture {n} comporte {k} articles au lieu de {j}, pouvez-vous vérifier ?",
        "La mise en production est reportée à la semaine {w}, l'interface est gelée d'ici là.",
    ],
    "it": [
        "L'ordine {n} è stato spedito il {d} ma il tracciamento risulta ancora in attesa.",
        "Per favore riassumi il verbale: il fatturato è cresciuto del {p} per cento.",
        "La fattura {n} riporta {k} articoli invece di {j}.",
    ],
    "es": [
        "El pedido {n} se envió el {d} pero el seguimiento sigue mostrando pendiente.",
        "Por favor resume el acta: las ventas crecieron un {p} por ciento este trimestre.",
        "La factura {n} incluye {k} artículos en lugar de {j}.",
    ],
    "nl": [
        "Bestelling {n} is op {d} verzonden maar de tracking staat nog op in behandeling.",
        "Vat het verslag samen: de omzet steeg met {p} procent.",
        "De factuur {n} bevat {k} artikelen in plaats van {j}.",
    ],
    "pl": [
        "Zamówienie {n} zostało wysłane {d}, ale śledzenie nadal pokazuje status oczekujący.",
        "Proszę streścić protokół: przychody wzrosły o {p} procent.",
        "Faktura {n} zawiera {k} pozycji zamiast {j}.",
    ],
}
CODE = [
    "```python\ndef total(items):\n    return sum(i.price * i.qty for i in items)  # case {n}\n```",
    "```sql\nSELECT customer_id, count(*) FROM orders WHERE created_at > now() - interval '{k} days' GROUP BY 1;\n```",
    "```\nTraceback (most recent call last):\n  File \"worker.py\", line {k}, in run\nKeyError: 'batch_{n}'\n```",
    "```js\nconst retries = {k}; // job {n}\nfor (let i = 0; i < retries; i++) {{ await send(); }}\n```",
]

FIRST = {"en": ["James", "Emily", "Oliver", "Charlotte"], "de": ["Lukas", "Anna", "Jürgen", "Katharina"],
         "fr": ["Camille", "Julien", "Élodie", "Mathieu"], "it": ["Giulia", "Marco", "Francesca", "Luca"],
         "es": ["Lucía", "Javier", "Carmen", "Alejandro"], "nl": ["Daan", "Sanne", "Pieter", "Lotte"],
         "pl": ["Agnieszka", "Piotr", "Katarzyna", "Tomasz"]}
LAST = {"en": ["Thompson", "Walker", "Harris", "Clarke"], "de": ["Schneider", "Becker", "Hoffmann", "Wagner"],
        "fr": ["Lefebvre", "Moreau", "Garnier", "Rousseau"], "it": ["Ricci", "Colombo", "Esposito", "Romano"],
        "es": ["García", "Fernández", "López", "Martínez"], "nl": ["de Vries", "Janssen", "Bakker", "Visser"],
        "pl": ["Kowalski", "Nowak", "Wiśniewska", "Zieliński"]}
HEALTH = {"en": ["diabetes", "chemotherapy", "depression", "asthma"], "de": ["Diabetes", "Chemotherapie", "Depression", "Bandscheibenvorfall"],
          "fr": ["diabète", "chimiothérapie", "dépression", "asthme"], "it": ["diabete", "chemioterapia", "depressione"],
          "es": ["diabetes", "quimioterapia", "depresión"], "nl": ["diabetes", "chemotherapie", "depressie"],
          "pl": ["cukrzyca", "chemioterapia", "depresja"]}
PERSONAL = {
    "en": ["My name is {name}, you can reach me at {email} or on {phone}.",
           "Please refund to my account {iban}, held by {name}.",
           "{name} has been on sick leave since {d} because of {health}."],
    "de": ["Mein Name ist {name}, erreichbar unter {email} oder {phone}.",
           "Bitte erstatten Sie den Betrag auf mein Konto {iban} (Inhaber {name}).",
           "{name} ist seit dem {d} wegen {health} krankgeschrieben."],
    "fr": ["Je m'appelle {name}, joignable à {email} ou au {phone}.",
           "Merci de rembourser sur mon compte {iban} au nom de {name}.",
           "{name} est en arrêt maladie depuis le {d} à cause d'une {health}."],
    "it": ["Mi chiamo {name}, potete scrivermi a {email} o chiamare il {phone}.",
           "Vi prego di rimborsare sul conto {iban} intestato a {name}."],
    "es": ["Me llamo {name}, pueden escribirme a {email} o llamar al {phone}.",
           "Por favor, reembolsen a la cuenta {iban} a nombre de {name}."],
    "nl": ["Mijn naam is {name}, bereikbaar via {email} of {phone}.",
           "Graag terugstorten op rekening {iban} op naam van {name}."],
    "pl": ["Nazywam się {name}, proszę o kontakt pod {email} lub {phone}.",
           "Proszę o zwrot na konto {iban}, właściciel {name}."],
}
IBAN_COUNTRY = {"en": "DE", "de": "DE", "fr": "FR", "it": "IT", "es": "ES", "nl": "NL", "pl": "PL"}
BBAN_LENGTH = {"DE": 18, "FR": 23, "IT": 23, "ES": 20, "NL": 14, "PL": 24}
PHONE = {"en": "+44 20 {a:04d} {b:04d}", "de": "+49 30 {a:04d}{b:04d}", "fr": "+33 1 {a2} {b2} {c2} {d2}",
         "it": "+39 02 {a:04d} {b:04d}", "es": "+34 91 {a:03d} {b:04d}", "nl": "+31 20 {a:03d} {b:04d}",
         "pl": "+48 22 {a:03d} {b:04d}"}


@dataclass(frozen=True)
class Request:
    body: dict
    personal: bool
    language: str
    user_bytes: int


def iban(rng: random.Random, country: str) -> str:
    """A syntactically valid IBAN (mod-97 check digits) with a random BBAN; NL's starts with a bank code."""
    length = BBAN_LENGTH[country]
    if country == "NL":
        bban = "ABNA" + "".join(rng.choice("0123456789") for _ in range(length - 4))
    else:
        bban = "".join(rng.choice("0123456789") for _ in range(length))
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(digits) % 97
    return f"{country}{check:02d}{bban}"


def _fill(rng: random.Random, template: str) -> str:
    return template.format(
        n=f"{rng.randrange(10**5, 10**7)}", d=f"{rng.randrange(1, 29):02d}.{rng.randrange(1, 13):02d}.2026",
        v=f"{rng.randrange(1, 9)}.{rng.randrange(0, 30)}.{rng.randrange(0, 10)}", p=rng.randrange(1, 40),
        q=rng.randrange(1, 20), k=rng.randrange(2, 500), j=rng.randrange(2, 500), w=rng.randrange(1, 53),
        r=rng.choice("ABCDEFGH") + str(rng.randrange(1, 9)),
    )


def _personal(rng: random.Random, language: str) -> str:
    first, last = rng.choice(FIRST[language]), rng.choice(LAST[language])
    domain = rng.choice(["example.com", "mail.example.org", "example.net"])
    email = f"{first.lower()}.{last.lower().replace(' ', '')}{rng.randrange(1, 99)}@{domain}"
    email = email.encode("ascii", "ignore").decode()
    a, b = rng.randrange(100, 999), rng.randrange(1000, 9999)
    phone = PHONE[language].format(a=a, b=b, a2=f"{rng.randrange(10, 99)}", b2=f"{rng.randrange(10, 99)}",
                                   c2=f"{rng.randrange(10, 99)}", d2=f"{rng.randrange(10, 99)}")
    template = rng.choice(PERSONAL[language])
    return template.format(name=f"{first} {last}", email=email, phone=phone,
                           iban=iban(rng, IBAN_COUNTRY[language]), health=rng.choice(HEALTH[language]),
                           d=f"{rng.randrange(1, 29):02d}.{rng.randrange(1, 13):02d}.2026")


def _size(rng: random.Random) -> int:
    if rng.random() < AT_CAP_SHARE:
        return MAX_BYTES
    return max(MIN_BYTES, min(MAX_BYTES, int(rng.lognormvariate(math.log(MEDIAN_BYTES), SIGMA))))


def _user_message(rng: random.Random, language: str, purpose: str, size: int, personal: bool) -> str:
    sentences: list[str] = []
    total = 0
    pool = CLEAN[language]
    while total < size:
        if purpose in ("coding", "analytics") and rng.random() < 0.25:
            piece = _fill(rng, rng.choice(CODE))
        else:
            piece = _fill(rng, rng.choice(pool))
        sentences.append(piece)
        total += len(piece.encode()) + 1
    if personal:
        for _ in range(rng.choice((1, 1, 2, 3))):
            sentences.insert(rng.randrange(len(sentences) + 1), _personal(rng, language))
    text = " ".join(sentences)
    return text.encode()[:size].decode("utf-8", "ignore") if not personal else text


def _routing(rng: random.Random, purpose: str) -> dict:
    hints = {"purpose": purpose}
    if rng.random() < 0.3:
        hints["residency"] = "eu"
    hints["risk_tolerance"] = rng.choices(("low", "medium", "high"), (0.2, 0.6, 0.2))[0]
    if rng.random() < 0.2:
        hints["latency_budget_ms"] = rng.choice((1500, 3000, 10000))
    return hints


def build_mix(n: int, seed: int = 7) -> list[Request]:
    """``n`` requests, each user message distinct; the same list for the same seed."""
    rng = random.Random(seed)
    purposes, weights = zip(*PURPOSE_WEIGHTS.items())
    seen: set[str] = set()
    requests: list[Request] = []
    while len(requests) < n:
        purpose = rng.choices(purposes, weights)[0]
        language = rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0]
        personal = rng.random() < PERSONAL_SHARE
        message = _user_message(rng, language, purpose, _size(rng), personal)
        if message in seen:
            continue
        seen.add(message)
        body = {
            "model": "auto",
            "messages": [{"role": "system", "content": SYSTEM_PROMPTS[purpose]}, {"role": "user", "content": message}],
            "max_tokens": rng.choice((128, 256, 512)),
            "routing": _routing(rng, purpose),
        }
        requests.append(Request(body, personal, language, len(message.encode())))
    return requests


def describe(requests: list[Request]) -> str:
    sizes = sorted(r.user_bytes for r in requests)
    n = len(sizes)
    above_8k = sum(s > 8192 for s in sizes) / n
    at_cap = sum(s >= MAX_BYTES - 64 for s in sizes) / n
    personal = sum(r.personal for r in requests) / n
    languages = {lang: sum(r.language == lang for r in requests) for lang in LANGUAGES}
    return (
        f"{n} requests: user message bytes p50 {sizes[n // 2]}, p90 {sizes[int(n * 0.9)]}, p99 {sizes[int(n * 0.99)]}, "
        f"max {sizes[-1]}; {above_8k:.1%} above 8 KB, {at_cap:.1%} at 32 KB; {personal:.0%} with personal data; "
        f"{len(SYSTEM_PROMPTS)} system prompts reused; languages {languages}"
    )


if __name__ == "__main__":
    mix = build_mix(18000)
    print(describe(mix))
    for r in mix[:3]:
        print(r.body["routing"], r.body["messages"][1]["content"][:300])
