"""The custom workflow end to end through the console in a real headless Chromium (Playwright).

Debian's ``chromium`` package drives it (``/usr/bin/chromium``); Playwright's own browser
download is never used. Skipped with the reason when chromium or the ``playwright`` package is
missing. Screenshots land in ``test-artifacts/console/``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import TEST_SETTINGS, custom_schema, write_custom_csvs
from tests.contract.server import RunningServer

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TERMINAL = ("ACTIVE", "CREATE FAILED", "CREATE STOPPED")

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install chromium) — console browser tests skipped",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install playwright)"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(
        tmp_path_factory.mktemp("console") / "data", settings=TEST_SETTINGS
    ).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
    except Exception as exc:  # a chromium too old or too new for this playwright
        playwright.stop()
        pytest.skip(f"cannot launch {CHROMIUM} through playwright: {exc}")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def wait_for_status(page: Any, arn: str, timeout: float = 60) -> str:
    """Reload until the badge of ``arn`` shows a terminal status (console.js also refreshes)."""
    deadline = time.time() + timeout
    while True:
        status = str(page.locator(f'.badge[data-arn="{arn}"]').first.inner_text()).strip()
        if status in TERMINAL or time.time() > deadline:
            return status
        page.wait_for_timeout(500)
        page.reload()


def test_custom_workflow_through_the_console(
    server: RunningServer, page: Any, tmp_path: Path
) -> None:
    base = server.url + "/console"
    arn = "arn:aws:personalize:us-east-1:123456789012"
    page.goto(base)
    assert page.locator("h1").inner_text() == "Dataset groups"
    shot(page, "01-dataset-groups-empty")

    # Dataset group.
    page.click("text=Create dataset group")
    page.fill("#name", "movies")
    page.check("input[name=domain][value='']")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Dataset group created.")
    assert page.locator("h1").inner_text() == "movies"

    # Interactions dataset through the schema editor: first a broken schema, shown inline.
    page.click("text=Create Interactions dataset")
    page.fill("#schema", '{"type": "record", "name": "Interactions", "fields": []}')
    page.click("button:has-text('Create dataset')")
    error = page.locator(".field-error")
    assert "InvalidInputException" in error.inner_text()
    shot(page, "02-schema-error-inline")
    page.fill("#schema", custom_schema("interactions"))
    page.fill("#schemaName", "movies-interactions-v2")
    page.click("button:has-text('Create dataset')")
    page.wait_for_selector("text=Interactions dataset created.")
    page.click("text=Create Items dataset")
    page.fill("#schema", custom_schema("items"))
    page.click("button:has-text('Create dataset')")
    page.wait_for_selector("text=Items dataset created.")

    # Imports of small CSVs written by the test.
    paths = write_custom_csvs(tmp_path / "csv")
    for kind in ("interactions", "items"):
        page.click("text=Import data")
        page.select_option("#datasetArn", f"{arn}:dataset/movies/{kind.upper()}")
        page.fill("#jobName", f"movies-{kind}")
        page.fill("#dataLocation", str(paths[kind]))
        page.click("button:has-text('Start import')")
        page.wait_for_selector("text=Import job created.")
    job_arn = f"{arn}:dataset-import-job/movies-interactions"
    assert page.locator(f'.badge[data-arn="{job_arn}"]').count() == 1
    assert wait_for_status(page, job_arn) == "ACTIVE"
    assert wait_for_status(page, f"{arn}:dataset-import-job/movies-items") == "ACTIVE"
    shot(page, "03-group-after-imports")

    # A filter: a syntax error first, then a good one.
    page.click("text=Create filter")
    page.fill("#filterExpression", "EXCLUDE ItemID WHERE")
    page.click("button:has-text('Create filter')")
    assert "InvalidInputException" in page.locator(".field-error").inner_text()
    page.fill("#filterExpression", 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")')
    page.click("button:has-text('Create filter')")
    page.wait_for_selector("text=Filter created.")

    # Event tracker.
    page.click("text=Create event tracker")
    page.click("button:has-text('Create event tracker')")
    page.wait_for_selector("text=Event tracker created.")

    # Solution, and a version.
    page.click("#solutions >> text=Create solution")
    page.select_option("#recipe", "aws-user-personalization")
    page.fill("#name", "movies-up")
    page.click("button:has-text('Create solution')")
    page.wait_for_selector("text=Solution created.")
    page.click("button:has-text('Create solution version')")
    page.wait_for_selector("text=Training started.")
    version_arn = page.locator("td .badge[data-arn]").first.get_attribute("data-arn")
    assert wait_for_status(page, version_arn, timeout=90) == "ACTIVE"
    shot(page, "04-solution")

    page.click("nav >> text=Data insights")
    assert page.locator("svg.chart").count() == 4
    assert page.locator("svg.chart rect").count() > 10  # the imported data, charted
    shot(page, "05-insights")

    _deploy_and_test(page, base)

    page.goto(base + "/dataset-groups/movies/events")
    page.wait_for_selector("#live-events")
    page.wait_for_selector("#live-events tbody tr >> text=u1")  # the tester's PutEvents
    shot(page, "07-live-events")


def _deploy_and_test(page: Any, base: str) -> None:
    """Deploy a campaign, use the recommendation tester and send an event from it."""
    page.goto(base + "/dataset-groups/movies/campaigns/create")
    page.fill("#name", "movies-campaign")
    page.click("button:has-text('Create campaign')")
    page.wait_for_selector("text=Campaign created.")
    campaign = page.locator("#campaigns .badge[data-arn]").first.get_attribute("data-arn")
    assert wait_for_status(page, campaign) == "ACTIVE"
    page.goto(base + "/dataset-groups/movies/tester")
    page.fill("#userId", "u1")
    page.click("button:has-text('Get recommendations')")
    page.wait_for_selector(".results, .alert.error, .alert.warn")
    shot(page, "06-tester")
    assert page.locator(".results tbody tr").count() > 0, page.locator(".alert").all_inner_texts()
    assert page.locator("#eventItemId").count() == 1
    page.click("button:has-text('Send event')")
    page.wait_for_selector("text=After the event")
    shot(page, "06-tester-after-event")
