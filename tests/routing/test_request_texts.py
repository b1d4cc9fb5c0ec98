"""Detection reads every text that reaches the model, not only message
contents: a participant's name and the arguments of earlier tool calls."""

from __future__ import annotations

import json

from services.keys.models import Role
from services.routing.schemas import ChatCompletionRequest

TOOL_CALL_HISTORY = {
    "model": "auto",
    "messages": [
        {"role": "user", "content": "Please send the invoice again."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "send_invoice", "arguments": json.dumps({"to": "jane.doe@example.org"})}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "done"},
        {"role": "user", "name": "support_bot", "content": "Summarise what happened."},
    ],
}


def test_texts_include_names_and_tool_call_arguments():
    texts = ChatCompletionRequest.model_validate(TOOL_CALL_HISTORY).texts()
    assert "support_bot" in texts
    assert json.dumps({"to": "jane.doe@example.org"}) in texts
    assert "Please send the invoice again." in texts and "done" in texts


def test_an_e_mail_only_in_a_tool_call_makes_the_request_personal(gateway, make_key):
    with gateway.client(make_key(Role.app)) as c:
        r = c.post("/v1/route", json=TOOL_CALL_HISTORY)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sensitivity"] == "personal" and body["entities"].get("EMAIL_ADDRESS") == 1
    assert "deepseek-chat" not in [body["route"]["endpoint"], *body["route"]["fallbacks"]]
