"""The console in a real headless browser: Playwright driving Debian's
chromium (/usr/bin/chromium, installed by the test setup: `.ci/run`; never
`playwright install`, which downloads a browser). A missing chromium fails
these tests, it does not skip them.

They log in, filter the log (htmx, then again with JavaScript off), open a
decision and check what is on the page, look at the traffic charts and the
spend against baselines, run the chain check and the DPO's what-if; every
step leaves a screenshot under
test-artifacts/console/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from services.keys.models import Role
from tests.console.conftest import Log, Tickets
from tests.live import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "console"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    assert CHROMIUM.is_file(), (
        f"{CHROMIUM} is missing: the console's browser tests need Debian's chromium "
        "(apt-get install -y chromium; .ci/run installs it)"
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.problems = []  # console errors and CSP refusals: none are expected
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    yield page
    context.close()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Page, base_url: str, key: str, start: str = "/console/decisions") -> None:
    page.goto(base_url + start)
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    page.fill("#key", key)
    page.click("button:has-text('Log in')")


def test_an_auditor_logs_in_filters_the_log_and_opens_a_decision(gateway, log_a: Log, page: Page):
    base = gateway.base_url
    page.goto(base + "/console/decisions")
    expect(page.locator("h1")).to_have_text("Log in")
    page.fill("#key", "dk_k_0000000000000000_" + "A" * 43)
    page.click("button:has-text('Log in')")
    expect(page.get_by_test_id("login-error")).to_contain_text("not valid")
    shot(page, "01-login-refused")
    page.problems.clear()  # the refused login's 401

    page.fill("#key", log_a.keys[Role.auditor])
    page.click("button:has-text('Log in')")
    expect(page).to_have_url(base + "/console/decisions")
    rows = page.locator("#log tbody tr")
    expect(rows).to_have_count(3)
    expect(page.get_by_test_id("who")).to_contain_text(log_a.tenant)
    shot(page, "02-decision-log")

    # Filter through htmx: the table is swapped in place (no navigation) and the URL follows.
    page.evaluate("window.stillTheSamePage = true")
    page.select_option("select[name=sensitivity]", "personal")
    page.click("button:has-text('Filter')")
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"sensitivity=personal"))
    assert page.evaluate("window.stillTheSamePage") is True, "the filter reloaded the page instead of swapping the log"
    expect(rows.first.locator("td").nth(1)).to_have_text("personal")
    shot(page, "03-filtered-personal")

    rows.first.locator("a:has-text('open')").click()
    expect(page).to_have_url(f"{base}/console/decisions/{log_a.personal}")
    expect(page.get_by_test_id("decision-id")).to_have_text(log_a.personal)
    expect(page.get_by_test_id("sensitivity")).to_have_text("personal")
    expect(page.get_by_test_id("findings")).to_contain_text("EMAIL_ADDRESS")
    expect(page.get_by_test_id("findings").locator("tr", has_text="EMAIL_ADDRESS").locator("td").nth(1)).to_have_text("1")
    expect(page.get_by_test_id("policy")).to_contain_text(gateway.runtime.policy.revision)
    candidates = page.get_by_test_id("candidates").locator("tbody tr")
    assert candidates.count() == len(gateway.runtime.catalog.ids)
    eligible = page.locator("[data-testid=candidates] tr.eligible")
    denied = page.locator("[data-testid=candidates] tr.denied")
    assert eligible.count() >= 1 and eligible.count() + denied.count() == candidates.count()
    for i in range(denied.count()):  # every refused endpoint says why
        assert denied.nth(i).locator("li").count() >= 1
    expect(page.get_by_test_id("plan")).not_to_have_text("no endpoint")
    expect(page.get_by_test_id("outcome")).to_contain_text("not forwarded")
    shot(page, "04-decision")
    assert not page.problems, page.problems


def test_next_page_and_the_back_button(gateway, log_a: Log, page: Page):
    log_in(page, gateway.base_url, log_a.keys[Role.auditor])
    page.select_option("select[name=limit]", "25")
    page.goto(gateway.base_url + "/console/decisions?limit=1")
    rows = page.locator("#log tbody tr")
    first = rows.first.get_attribute("data-decision")
    page.click("a.next")
    expect(rows.first).not_to_have_attribute("data-decision", first)
    second = rows.first.get_attribute("data-decision")
    assert [first, second] == [log_a.special, log_a.personal]
    shot(page, "05-second-page")
    page.go_back()
    expect(rows.first).to_have_attribute("data-decision", first)
    assert not page.problems, page.problems


def test_the_console_works_without_javascript(gateway, log_a: Log, chromium: Browser):
    context = chromium.new_context(java_script_enabled=False, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        log_in(page, gateway.base_url, log_a.keys[Role.auditor])
        page.select_option("select[name=sensitivity]", "special")
        page.click("button:has-text('Filter')")
        expect(page).to_have_url(re.compile(r"sensitivity=special"))
        expect(page.locator("#log tbody tr")).to_have_count(1)
        page.click("#log a:has-text('open')")
        expect(page.get_by_test_id("categories")).to_contain_text("special:health")
        shot(page, "06-no-javascript-decision")
        page.goto(gateway.base_url + "/console/verify")
        page.click("button:has-text('Verify now')")
        expect(page.get_by_test_id("verify-status")).to_contain_text("The chains verify")
    finally:
        context.close()


def test_traffic_charts_and_the_chain_check(gateway, log_a: Log, page: Page):
    log_in(page, gateway.base_url, log_a.keys[Role.auditor], start="/console/traffic")
    expect(page).to_have_url(gateway.base_url + "/console/traffic")
    for n in (1, 2, 3):
        chart = page.get_by_test_id(f"chart-{n}")
        expect(chart.locator("svg rect").first).to_be_visible()
        expect(chart.locator("h2")).to_contain_text("(3 decisions)")
    shot(page, "07-traffic")

    page.click("nav >> text=Chain")
    expect(page.get_by_test_id("verify-result")).to_contain_text("Not verified yet")
    page.evaluate("window.stillTheSamePage = true")
    page.click("button:has-text('Verify now')")
    expect(page.get_by_test_id("verify-status")).to_contain_text("The chains verify")
    assert page.evaluate("window.stillTheSamePage") is True
    shot(page, "08-verified")
    assert not page.problems, page.problems


def test_the_spend_page_against_three_baselines(gateway, tickets: Tickets, page: Page):
    log_in(page, gateway.base_url, tickets.keys[Role.auditor], start="/console/spend")
    expect(page).to_have_url(gateway.base_url + "/console/spend")
    expect(page.locator("nav a[aria-current=page]")).to_have_text("Spend")
    expect(page.get_by_test_id("spent")).to_have_text("$1.399")
    # The defaults are ticked (the cheapest and the dearest); tick gpt-4o too and show.
    picker = page.get_by_test_id("baseline-picker")
    expect(picker.locator("input:checked")).to_have_count(2)
    picker.locator("input[value=gpt-4o]").check()
    page.click("button:has-text('Show')")
    expect(page).to_have_url(re.compile(r"baseline=gpt-4o"))
    baselines = page.get_by_test_id("baselines")
    for endpoint, cost in (("deepseek-chat", "$0.465"), ("gpt-4o", "$4.25"), ("claude-opus-4", "$30.00")):
        expect(baselines.locator(f"tr[data-baseline='{endpoint}'] td.cost")).to_have_text(cost)
    expect(baselines.locator("tr[data-baseline='gpt-4o'] td.saving")).to_have_text("$2.851")
    chart = page.get_by_test_id("spend-chart")
    expect(chart.locator("h2")).to_contain_text("against deepseek-chat")
    expect(chart.locator("svg rect")).to_have_count(4)
    expect(chart.locator("svg rect").first).to_be_visible()
    shot(page, "11-spend")
    assert not page.problems, page.problems


def test_a_dpo_sees_the_policy_and_runs_a_what_if(gateway, log_a: Log, page: Page):
    log_in(page, gateway.base_url, log_a.keys[Role.dpo], start="/console/policy")
    expect(page.get_by_test_id("revision")).to_have_text(gateway.runtime.policy.revision)
    expect(page.get_by_test_id("modules").locator("li")).to_have_count(len(gateway.runtime.policy.modules))
    expect(page.locator("nav")).not_to_contain_text("Decisions")  # a DPO has no auditor pages
    # A wrong directory: the error shows in place, and the form still works after it.
    page.fill("input[name=candidate]", "/no/such/policy")
    page.click("button:has-text('Replay')")
    expect(page.get_by_test_id("whatif")).to_contain_text("not a directory")
    page.fill("input[name=candidate]", str(ROOT / "policies"))
    page.fill("input[name=since]", "1d")
    page.click("button:has-text('Replay')")
    expect(page.get_by_test_id("whatif-summary")).to_contain_text("replayed 3 recorded decisions")
    expect(page.get_by_test_id("whatif-summary")).to_contain_text("0 would route elsewhere")
    shot(page, "09-policy-what-if")
    page.goto(gateway.base_url + "/console/decisions")
    expect(page.get_by_test_id("error")).to_contain_text("403")
    shot(page, "10-dpo-refused-the-log")
    assert not [p for p in page.problems if "403" not in p and "400" not in p], page.problems
