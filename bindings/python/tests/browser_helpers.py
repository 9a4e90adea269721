"""A headless Chromium (Debian's chromium + chromium-driver, driven by Selenium) for the report's
tests: `make test-python` installs both. Every request the page makes is logged, so a test can
check that none leaves file://."""
from __future__ import annotations

import json
import os
import pathlib
import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = pathlib.Path(__file__).resolve().parents[3] / "build" / "report-test"


def start_browser(width: int = 1400, height: int = 1000):
    """A headless Chromium (no display, no sandbox as root, no network use of its own)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as error:
        raise RuntimeError("the report's browser tests need Selenium: make test-python installs it") from error
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        raise RuntimeError("the report's browser tests need Debian's chromium and chromium-driver: "
                           "make test-python installs them")
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-default-apps"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download a driver
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def open_report(browser, index: pathlib.Path, hash_part: str = "") -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(pathlib.Path(index).resolve().as_uri() + hash_part)
    WebDriverWait(browser, 30).until(lambda b: b.execute_script("return document.body.dataset.ready === 'true'"))


def requested_urls(browser) -> list[str]:
    """Every URL the page asked for since the last call (Chromium's network log)."""
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def cards(browser) -> list:
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, "[data-testid=card]")


def by_testid(browser, testid: str):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, f"[data-testid={testid}]")


def choose(browser, testid: str, value: str) -> None:
    """Picks an option of a <select> the way a user does (a change event follows)."""
    from selenium.webdriver.support.ui import Select

    Select(by_testid(browser, testid)).select_by_value(value)


def screenshot(browser, name: str) -> pathlib.Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    browser.save_screenshot(str(path))
    return path
