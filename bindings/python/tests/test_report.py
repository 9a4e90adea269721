"""The dataset report (scorecam/dataset/_report.py): its files and, in a headless Chromium, its
counts, class filter, sort, detail view, two runs side by side, and no request leaving file://."""
from __future__ import annotations

import json
import pathlib
import re

import pytest

from browser_helpers import by_testid, cards, choose, open_report, requested_urls, screenshot, start_browser
from dataset_helpers import manifest_rows, ordinary_images, run_cli

CLASSES = (281, 242)  # tabby, boxer: every image gets one card per class


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs over 7 images and a bad file, --metrics, CSKIP 8 and 16."""
    root = tmp_path_factory.mktemp("report")
    ordinary_images(root / "images", 7)
    (root / "images" / "broken.jpg").write_bytes(b"not a picture")
    outs = []
    for cskip in (8, 16):
        out = root / f"cskip{cskip}"
        done = run_cli("explain", root / "images", "-o", out, "--class", *CLASSES, "--metrics", "--cskip", cskip,
                       "--workers", "1", "-q")
        assert done.returncode == 1, done.stderr  # the bad file
        outs.append(out)
    return root, outs


@pytest.fixture(scope="module")
def browser():
    driver = start_browser()
    yield driver
    driver.quit()


def test_the_report_files_name_no_network_address(runs):
    _, (out, _) = runs
    report = out / "report"
    assert sorted(p.name for p in report.iterdir()) == ["data.js", "index.html", "report.css", "report.js"]
    for name in ("index.html", "report.css", "report.js"):
        text = (report / name).read_text()
        # The SVG namespace is a name, not an address the page loads.
        addresses = set(re.findall(r"(?:https?:)?//[\w.-]+\.\w+[^\s\"')]*", text)) - {"http://www.w3.org/2000/svg"}
        assert not addresses, (name, addresses)
    rows = manifest_rows(out)
    for row in rows:
        if row["status"] == "ok":
            for name in [row["thumbnails"]["original"], *row["thumbnails"]["overlays"], *row["thumbnails"]["maps"]]:
                assert (out / name).is_file(), name


@pytest.mark.slow
def test_counts_filter_sort_and_detail_in_chromium(runs, browser):
    _, (out, _) = runs
    rows = manifest_rows(out)
    ok = [row for row in rows if row["status"] == "ok"]
    open_report(browser, out / "report" / "index.html")
    assert by_testid(browser, "count-ok").text == str(len(ok)) == "7"
    assert by_testid(browser, "count-failed").text == str(len(rows) - len(ok)) == "1"
    assert len(cards(browser)) == 2 * len(ok) + 1  # one card per (image, class), one for the bad file

    choose(browser, "filter-class", str(CLASSES[0]))
    shown = cards(browser)
    assert len(shown) == len(ok) and {card.get_attribute("data-class") for card in shown} == {str(CLASSES[0])}

    choose(browser, "filter-class", "")
    choose(browser, "sort", "average_drop:desc")
    drops = [float(card.get_attribute("data-average-drop")) for card in cards(browser)
             if card.get_attribute("data-average-drop")]
    assert len(drops) == 2 * len(ok) and drops == sorted(drops, reverse=True)
    assert "sort=average_drop%3Adesc" in browser.current_url  # the view is in the hash

    first = cards(browser)[0]
    key = first.get_attribute("data-key")
    first.click()
    detail = by_testid(browser, "detail")
    assert detail.is_displayed() and key in by_testid(browser, "detail-title").text
    assert by_testid(browser, "detail-position").text == f"1 / {2 * len(ok) + 1}"
    widths = browser.execute_script(
        "return [...document.querySelectorAll('#detail img')].map(i => i.complete ? i.naturalWidth : -1)")
    assert len(widths) == 3 and all(w > 0 for w in widths), widths  # original, overlay, raw map
    screenshot(browser, "report-detail.png")
    from selenium.webdriver.common.keys import Keys

    browser.find_element("tag name", "body").send_keys(Keys.ARROW_RIGHT)
    assert by_testid(browser, "detail-position").text == f"2 / {2 * len(ok) + 1}"
    second = cards(browser)[1].get_attribute("data-key") + "%7C" + cards(browser)[1].get_attribute("data-rank")
    assert "detail=" + second in browser.current_url
    browser.find_element("tag name", "body").send_keys(Keys.ESCAPE)
    assert not by_testid(browser, "detail").is_displayed()
    choose(browser, "sort", "")
    screenshot(browser, "report.png")

    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors
    urls = requested_urls(browser)
    assert urls and all(u.startswith(("file://", "data:")) for u in urls), [u for u in urls if not u.startswith("file")]


@pytest.mark.slow
def test_two_runs_side_by_side_pair_cards_with_deltas(runs, browser):
    root, (a, b) = runs
    done = run_cli("report", a, b, "-o", root / "compare")
    assert done.returncode == 0, done.stderr
    open_report(browser, root / "compare" / "index.html")
    shown = cards(browser)
    assert len(shown) == 15
    paired = [card for card in shown if card.get_attribute("data-delta-insertion") is not None]
    assert len(paired) == 14
    for card in paired:  # both runs' overlays on the card
        assert len(card.find_elements("css selector", "img")) == 2
    choose(browser, "sort", "delta_insertion:asc")
    deltas = [float(card.get_attribute("data-delta-insertion")) for card in cards(browser)
              if card.get_attribute("data-delta-insertion")]
    assert deltas == sorted(deltas)
    assert not [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert all(u.startswith(("file://", "data:")) for u in requested_urls(browser))


def test_report_command_needs_a_run_directory(tmp_path):
    done = run_cli("report", tmp_path)
    assert done.returncode == 2 and "no manifest.jsonl" in done.stderr


def _comparable(report: pathlib.Path) -> dict:
    """data.js without what differs from run to run: timings and the last run's counts."""
    document = json.loads(report.read_text().split("=", 1)[1].rstrip().rstrip(";"))
    for run in document["runs"]:
        run.pop("last_run")
        run.pop("path")
        run.pop("name")
        run["images"].pop("seconds")
    return document


@pytest.mark.slow
def test_a_resumed_runs_report_equals_a_fresh_runs(tmp_path):
    images = ordinary_images(tmp_path / "images", 4)
    common = ["--metrics", "--cskip", "8", "--workers", "1", "-q"]
    assert run_cli("explain", *images[:2], "-o", tmp_path / "resumed", *common).returncode == 0
    assert run_cli("explain", *images, "-o", tmp_path / "resumed", *common).returncode == 0
    assert run_cli("explain", *images, "-o", tmp_path / "fresh", *common).returncode == 0
    resumed, fresh = (_comparable(tmp_path / name / "report" / "data.js") for name in ("resumed", "fresh"))
    assert resumed == fresh and resumed["runs"][0]["counts"]["ok"] == 4
    for name in sorted(p.name for p in (tmp_path / "fresh" / "thumbs").iterdir()):
        assert (tmp_path / "resumed" / "thumbs" / name).read_bytes() == (tmp_path / "fresh" / "thumbs" / name).read_bytes()


def test_an_older_run_without_thumbnails_gets_them(runs, tmp_path):
    """Rows written before thumbnails existed: `report` makes them from the image and the overlays."""
    import shutil

    _, (out, _) = runs
    old = tmp_path / "old"
    shutil.copytree(out, old)
    shutil.rmtree(old / "thumbs")
    shutil.rmtree(old / "report")
    rows = manifest_rows(old)
    (old / "manifest.jsonl").write_text("".join(json.dumps({k: v for k, v in row.items() if k != "thumbnails"}) + "\n"
                                                for row in rows))
    done = run_cli("report", old)
    assert done.returncode == 0, done.stderr
    for row in rows:
        if row["status"] == "ok":
            assert (old / row["thumbnails"]["original"]).is_file()
            for name in row["thumbnails"]["overlays"]:
                assert (old / name).is_file()
