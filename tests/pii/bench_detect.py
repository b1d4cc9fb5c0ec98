"""Timing of Detector.detect(): median of 50 runs after warm-up.

Run: .venv/bin/python tests/pii/bench_detect.py   (not collected by pytest)
"""

import statistics
import time

from services.pii import build_detector
LONG = ("Hi, I'm preparing the quarterly review for our customer support team and need help. "
"Last week Maria Rossi from our Milan office escalated a ticket from a customer, Jean Dupont, "
"who wrote to support@example.fr and later called +33 1 42 68 53 00 about a failed payment. "
"His card ending 4111 1111 1111 1111 was declined twice, and he asked us to refund to IBAN "
"DE89370400440532013000 instead. He mentioned he is undergoing chemotherapy and could not visit a branch. "
"The logs show the requests came from 192.168.1.10 between 14:00 and 15:30 on 3 March 2024. "
"Our HTTP health check endpoint returned 200 throughout, so the cluster was healthy; the failure "
"was in the payment provider's API, which timed out after 30 seconds. Please draft: (1) a short, "
"empathetic reply to the customer explaining the delay and the next steps, without promising a date; "
"(2) an internal summary for the engineering team describing the incident timeline, the likely root "
"cause, and what monitoring we should add; and (3) three bullet points for the quarterly review about "
"what we learned. Keep the tone professional, avoid jargon in the customer reply, and make sure the "
"internal summary references the relevant ticket number (SUP-48213) and the on-call engineer, Tomasz Nowak. "
"For context, our SLA promises a first response within 4 hours and a resolution within 2 business days "
"for payment issues. We handled 1,284 tickets this quarter, 7% more than last quarter, with a median "
"first response of 2.1 hours. One more thing: the customer asked whether we store his phone number and "
"e-mail address outside the EU, and whether our chatbot vendor can see his messages. Please add a short, "
"plain-language paragraph to the reply that explains where support data is processed, how long we keep it, "
"and how he can ask for a copy or for deletion, citing the relevant GDPR articles in a footnote. Thanks!")
SHORT = "What is the capital of Portugal?"
print("long prompt:", len(LONG.encode()), "bytes")
t = time.perf_counter(); d = build_detector(); print(f"build_detector: {time.perf_counter()-t:.2f}s")
print(d.detect([LONG]).to_policy_input())
for name, text in [("~2KB", LONG), ("short", SHORT)]:
    for _ in range(5): d.detect([text])
    runs = []
    for _ in range(50):
        t = time.perf_counter(); d.detect([text]); runs.append((time.perf_counter()-t)*1000)
    runs.sort()
    print(f"{name}: median {statistics.median(runs):.1f} ms, p95 {runs[47]:.1f} ms, min {runs[0]:.1f} ms")
