"""End to end in a real headless Chromium (Debian's package) against `streamlit run app.py`.

Skipped where /usr/bin/chromium or playwright is missing; .ci/run installs both. Screenshots go to
test-artifacts/.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import CORPUS, REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed")
playwright = pytest.importorskip("playwright.sync_api")
ARTIFACTS = REPO / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, seed_index_dir):
    d = tmp_path_factory.mktemp("browser") / "ix"
    shutil.copytree(seed_index_dir, d)
    port = _free_port()
    env = {**os.environ, "DOCSEARCH_INDEX_DIR": str(d), "DOCSEARCH_CORPUS_DIR": str(CORPUS)}
    log = open(d.parent / "streamlit.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
                             "--server.port", str(port), "--server.address", "127.0.0.1"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + (d.parent / "streamlit.log").read_text()[-2000:])
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()
    server_log = (d.parent / "streamlit.log").read_text()
    assert "Traceback" not in server_log, server_log[-3000:]


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    pg = browser.new_page(viewport={"width": 1280, "height": 1800})
    yield pg
    pg.close()


def settled(page, selector: str, timeout: int = 60_000) -> None:
    """Wait for `selector`, then for the script run to finish: Streamlit streams elements, so the
    first one appearing does not mean the page is complete."""
    page.wait_for_selector(selector, timeout=timeout)
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout)


def test_ask_shows_a_cited_passage(server, page):
    page.goto(f"{server}/?page=ask&q={quote('田纳西州的平均工业电价是多少?')}")
    settled(page, "mark.ans")
    body = page.inner_text("body")
    assert "6.89" in body and "[1]" in body
    assert "~" in body  # 5萬~6萬: corpus text is shown as written, never as markdown
    assert page.locator("del, s").count() == 0
    page.screenshot(path=str(ARTIFACTS / "ask.png"), full_page=True)


def test_lookup_highlights_every_occurrence(server, page):
    page.goto(f"{server}/?page=lookup&kw={quote('芯片')}")
    settled(page, "mark.ans")
    marks = page.locator("mark.ans").all_inner_texts()
    assert set(marks) <= {"芯片", "晶片"} and "晶片" in marks
    page.screenshot(path=str(ARTIFACTS / "lookup.png"), full_page=True)


def test_upload_then_find_and_html_is_escaped(server, page, tmp_path):
    f = tmp_path / "upload-test.md"
    f.write_text("---\ntitle: 上傳測試<img src=x onerror=alert(1)>\n---\n"
                 "高雄港第七貨櫃中心<script>window.pwned=1</script>每小時可裝卸四十二箱。", encoding="utf-8")
    page.goto(f"{server}/?page=library")
    page.wait_for_selector("input[type=file]", state="attached", timeout=60_000)
    page.set_input_files("input[type=file]", str(f))
    page.get_by_role("button", name="添加上传的文件").click()
    settled(page, "text=已添加", timeout=120_000)
    page.screenshot(path=str(ARTIFACTS / "library-added.png"), full_page=True)
    page.goto(f"{server}/?page=lookup&kw={quote('貨櫃中心')}")
    settled(page, "mark.ans")
    body = page.inner_text("body")
    assert "<script>window.pwned=1</script>" in body  # shown as text
    assert page.evaluate("window.pwned") is None        # never run
    page.screenshot(path=str(ARTIFACTS / "escaped.png"), full_page=True)
