"""End to end in a real headless Chromium (Debian's package) against `streamlit run app.py`.

Skipped where /usr/bin/chromium or playwright is missing; .ci/run installs both. Screenshots go to
test-artifacts/.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from docsearch.ui.texts import EXAMPLES
from helpers import CORPUS, REPO

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


def _start_app(d: Path):
    """`streamlit run app.py` on the library in d; returns (url, process, log file)."""
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
    return url, proc, log


def _stop_app(d: Path, proc, log) -> None:
    proc.terminate()
    proc.wait(timeout=20)
    log.close()
    server_log = (d.parent / "streamlit.log").read_text()
    assert "Traceback" not in server_log, server_log[-3000:]


@pytest.fixture(scope="module")
def server(tmp_path_factory, seed_index_dir):
    d = tmp_path_factory.mktemp("browser") / "ix"
    shutil.copytree(seed_index_dir, d)
    url, proc, log = _start_app(d)
    yield url
    _stop_app(d, proc, log)


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
    assert page.get_by_text("Deploy").count() == 0  # .streamlit/config.toml: viewer toolbar
    body = page.inner_text("body")
    assert "6.89" in body and "[1]" in body
    assert "~" in body  # 5萬~6萬: corpus text is shown as written, never as markdown
    assert page.locator("del, s").count() == 0
    page.screenshot(path=str(ARTIFACTS / "ask.png"), full_page=True)


def test_citation_opens_the_reading_view_at_the_paragraph(server, page):
    page.goto(f"{server}/?page=ask&lang=en&q={quote('美国制造业回流的主要来源地是哪里?')}")
    settled(page, "mark.ans")
    page.locator("sup.cite a").first.click()  # [1] jumps to its passage on the page
    assert page.evaluate("location.hash") == "#cite-1"
    button = page.get_by_role("button", name=re.compile(r"Read the article at ¶\d+")).first
    para = int(re.search(r"¶(\d+)", button.inner_text()).group(1))
    button.click()
    settled(page, f"#para-{para}.cited")
    page.wait_for_function(f"""() => {{ const r = document.getElementById('para-{para}').getBoundingClientRect();
                                        return r.top >= 0 && r.bottom <= window.innerHeight; }}""", timeout=10_000)
    assert "page=read" in page.url and "lang=en" in page.url and f"p={para}" in page.url
    assert "Read" in page.inner_text("section[data-testid=stSidebar]")  # still in English
    page.screenshot(path=str(ARTIFACTS / "read-cited.png"))
    page.get_by_role("button", name="← Back to the answer").click()
    settled(page, "mark.ans")
    assert "美国制造业回流的主要来源地是哪里?" in page.inner_text("body")  # the thread survived


def test_deep_link_scrolls_to_a_far_paragraph(server, page):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{server}/?page=read&article=000_47721d1ce0619f18&p=32&script=zh-Hans")
    settled(page, "#para-32.cited")
    page.wait_for_function("""() => { const r = document.getElementById('para-32').getBoundingClientRect();
                                      return r.top >= 0 && r.bottom <= window.innerHeight; }""", timeout=10_000)
    assert page.evaluate("document.querySelector('[data-testid=stMain]').scrollTop") > 1000
    page.screenshot(path=str(ARTIFACTS / "read-deep-link.png"))


@pytest.mark.parametrize("query, message", [
    ("page=read&p=abc&article=000_47721d1ce0619f18", "不是这篇文章的段落编号"),
    ("page=read&article=no-such-article&p=3", "文献库里没有编号为"),
    ("page=nonsense", "未知页面"),
    ("lang=xx", "Unknown interface language"),
    ("page=read&article=%3Cscript%3Ewindow.pwned%3D1%3C/script%3E", "文献库里没有编号为"),
])
def test_hostile_urls_get_a_message(server, page, query, message):
    page.goto(f"{server}/?{query}")
    settled(page, f"text={message}")
    body = page.inner_text("body")
    assert "Traceback" not in body and "Error" not in body
    assert page.evaluate("window.pwned") is None
    assert page.locator("p.cited").count() == 0


def test_example_question_runs_on_click(server, page):
    page.goto(f"{server}/")
    settled(page, "text=试试这些问题")
    page.get_by_role("button", name=EXAMPLES[2]).wait_for()
    page.wait_for_timeout(500)  # widgets draw after the script run ends
    page.screenshot(path=str(ARTIFACTS / "start-page.png"), full_page=True)
    page.get_by_role("button", name=EXAMPLES[2]).click()
    settled(page, "mark.ans")
    assert "q=What" in page.url
    # The example's answer is the sentence with the figures asked for.
    assert "14.3%" in page.locator("mark.ans").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "ask-english.png"), full_page=True)


def test_hostile_question_gets_a_prompt(server, page):
    page.goto(f"{server}/")
    settled(page, "text=试试这些问题")
    page.get_by_label("输入问题(简体、繁體或英文)").fill("<script>?!。</script>")
    page.get_by_role("button", name="提问", exact=True).click()
    settled(page, "text=没有可以检索的字词")
    assert page.locator("mark.ans").count() == 0 and page.evaluate("window.pwned") is None


def test_lookup_shows_the_forms_searched(server, page):
    page.goto(f"{server}/?page=lookup&kw={quote('晶片 回流')}")
    settled(page, "mark.ans")
    body = page.inner_text("body")
    # Two words: the count says it counts passages holding either of them.
    assert "晶片" in body and "芯片" in body and "或" in body and "个段落含有其中任一个词" in body


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
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    page.goto(f"{server}/?page=library")
    page.wait_for_selector("input[type=file]", state="attached", timeout=60_000)
    page.set_input_files("input[type=file]", [str(f), str(empty)])
    settled(page, "text=添加上传的文件")
    page.get_by_label("来源").first.fill("上傳測試來源")
    page.get_by_label("日期").first.fill("2024-03-01")
    page.get_by_label("网址").fill("https://example.org/upload-test")
    page.get_by_label("日期").first.press("Enter")
    settled(page, "text=添加上传的文件")
    page.get_by_role("button", name="添加上传的文件").click()
    settled(page, "text=已添加", timeout=120_000)
    body = page.inner_text("body")
    assert "未添加: empty.txt: 文件是空的" in body and "/tmp" not in body  # no server paths
    assert page.locator("[data-testid=stFileUploaderFile]").count() == 0  # the box was emptied
    assert "Deploy" not in body and "Upload" not in body  # uploader texts in the interface language
    page.screenshot(path=str(ARTIFACTS / "library-added.png"), full_page=True)
    page.goto(f"{server}/?page=lookup&kw={quote('貨櫃中心')}")
    settled(page, "mark.ans")
    body = page.inner_text("body")
    assert "<script>window.pwned=1</script>" in body  # shown as text
    assert page.evaluate("window.pwned") is None        # never run
    page.screenshot(path=str(ARTIFACTS / "escaped.png"), full_page=True)
    page.get_by_role("button", name=re.compile("阅读全文")).first.click()
    settled(page, "p.cited")
    caption = page.inner_text("[data-testid=stCaptionContainer]")
    assert "上傳測試來源" in caption and "2024-03-01" in caption and "example.org/upload-test" in caption


# -- readers and editors ----------------------------------------------------------------------
# Every frame the page sends on Streamlit's WebSocket is recorded; while window.__hold is set,
# frames are recorded but not sent, so an editor's click can be captured without taking effect.
_RECORD_FRAMES = """
const send = WebSocket.prototype.send;
window.__frames = [];
WebSocket.prototype.send = function (data) {
  window.__ws = this;
  window.__frames.push(Array.from(new Uint8Array(data.buffer ? data.buffer.slice(data.byteOffset,
                                  data.byteOffset + data.byteLength) : data)));
  if (window.__hold) return;
  return send.call(this, data);
};
"""
SECRET = "editor secret for the browser test"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, seed_index_dir):
    """A second app server whose library has an editor credential."""
    from docsearch import access
    from docsearch.engine import DocSearch

    from helpers import settings_for

    d = tmp_path_factory.mktemp("guarded") / "ix"
    shutil.copytree(seed_index_dir, d)
    ds = DocSearch(settings_for(d))
    access.set_credential(ds.store, SECRET)
    ds.close()
    url, proc, log = _start_app(d)
    yield url, d
    _stop_app(d, proc, log)


def _article_ids(index_dir) -> list[str]:
    from docsearch.engine import DocSearch

    from helpers import settings_for

    ds = DocSearch(settings_for(index_dir))
    try:
        return [a.id for a in ds.articles()]
    finally:
        ds.close()


def test_a_reader_cannot_remove_even_by_replaying_an_editors_messages(guarded, browser):
    url, index_dir = guarded
    before = _article_ids(index_dir)
    victim = before[0]
    editor = browser.new_page(viewport={"width": 1280, "height": 1800})
    reader = browser.new_page(viewport={"width": 1280, "height": 1800})
    try:
        for pg in (editor, reader):
            pg.add_init_script(_RECORD_FRAMES)
            pg.goto(f"{url}/?page=library")
            settled(pg, "text=编辑登录")
        # The reader sees no add/remove controls.
        assert reader.get_by_role("button", name="删除").count() == 0
        assert reader.locator("input[type=file]").count() == 0
        # The editor signs in, ticks the confirmation, and clicks Remove with the frame held back.
        editor.get_by_label("编辑密码").fill(SECRET)
        editor.get_by_role("button", name="登录").click()
        settled(editor, "text=已作为编辑登录")
        editor.locator("[data-testid=stSelectbox] input").click()
        editor.get_by_role("option").first.click()
        settled(editor, "text=确认删除(文章移入回收站,可恢复)")
        editor.get_by_text("确认删除(文章移入回收站,可恢复)").click()
        settled(editor, "text=确认删除(文章移入回收站,可恢复)")
        editor.wait_for_timeout(500)
        editor.evaluate("window.__hold = true")
        n = editor.evaluate("window.__frames.length")
        editor.get_by_role("button", name="删除").click()
        editor.wait_for_function(f"window.__frames.length > {n}")
        frame = editor.evaluate("window.__frames[window.__frames.length - 1]")
        # Replayed on the reader's own connection: nothing is removed.
        reader.evaluate("f => window.__ws.send(new Uint8Array(f))", frame)
        reader.wait_for_timeout(3000)
        settled(reader, "text=编辑登录")
        assert _article_ids(index_dir) == before
        assert "已移入回收站" not in reader.inner_text("body")
        # The same frame on the editor's connection does remove it: the replay was a real one.
        editor.evaluate("f => { window.__hold = false; window.__ws.send(new Uint8Array(f)); }", frame)
        settled(editor, "text=已移入回收站", timeout=60_000)
        assert victim not in _article_ids(index_dir)
        reader.screenshot(path=str(ARTIFACTS / "reader-replay.png"), full_page=True)
    finally:
        editor.close()
        reader.close()
