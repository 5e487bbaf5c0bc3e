"""Page logic of the Streamlit app, run with streamlit's AppTest on a private copy of the seed index."""
import shutil

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from helpers import CORPUS, REPO  # noqa: E402


@pytest.fixture()
def app(tmp_path, seed_index_dir, monkeypatch):
    d = tmp_path / "ix"
    shutil.copytree(seed_index_dir, d)
    monkeypatch.setenv("DOCSEARCH_INDEX_DIR", str(d))
    monkeypatch.setenv("DOCSEARCH_CORPUS_DIR", str(CORPUS))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    return at


def html_of(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_ask_shows_the_answer_with_a_citation(app):
    app.text_input(key="question").set_value("田纳西州的平均工业电价是多少?")
    app.button[0].click().run()
    assert not app.exception
    page = html_of(app)
    assert "6.89" in page and '<mark class="ans">' in page and "[1]" in page
    assert "田纳西州的平均工业电价是多少?" in str(app.query_params["q"])  # shareable URL


def test_english_question_shows_its_translation(app):
    app.text_input(key="question").set_value("What share of US imports came from China in 2022?")
    app.button[0].click().run()
    assert any("进口" in c.value for c in app.caption)
    assert "14.3%" in html_of(app)


def test_lookup_finds_both_vocabularies(app):
    app.sidebar.radio(key="page").set_value("lookup").run()
    app.text_input(key="keyword").set_value("芯片")
    app.button[0].click().run()
    page = html_of(app)
    assert "晶片" in page and "芯片" in page and '<mark class="ans">' in page


def test_display_script_switch_keeps_highlights(app):
    app.sidebar.radio(key="script").set_value("zh-Hans").run()
    app.sidebar.radio(key="page").set_value("lookup").run()
    app.text_input(key="keyword").set_value("歐巴馬")
    app.button[0].click().run()
    page = html_of(app)
    assert '<mark class="ans">欧巴马</mark>' in page and "歐巴馬" not in page


def test_pasted_article_is_searchable_and_its_html_is_escaped(app):
    app.sidebar.radio(key="page").set_value("library").run()
    app.text_input(key="paste_title").set_value("<img src=x onerror=alert(1)>")
    app.text_area(key="paste_text").set_value("高雄港第七貨櫃中心<script>alert(1)</script>每小時可裝卸四十二箱。")
    [b for b in app.button if b.label in ("添加", "Add")][-1].click().run()
    assert not app.exception and any("已添加" in s.value or "Added" in s.value for s in app.success)
    app.sidebar.radio(key="page").set_value("lookup").run()
    app.text_input(key="keyword").set_value("貨櫃中心")
    app.button[0].click().run()
    page = html_of(app)
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "&lt;img src=x onerror=alert" in page and "<img" not in page


def test_read_page_and_english_interface(app):
    app.sidebar.radio(key="lang").set_value("en").run()
    app.sidebar.radio(key="page").set_value("read").run()
    assert not app.exception
    page = html_of(app)
    assert "¶1" in page and "文化縱橫" in "".join(c.value for c in app.caption)


def test_lookup_of_several_keywords_marks_each(app):
    app.sidebar.radio(key="page").set_value("lookup").run()
    app.text_input(key="keyword").set_value("晶片 奥巴马")
    app.button[0].click().run()
    page = html_of(app)
    assert '<mark class="ans">晶片</mark>' in page and '<mark class="ans">歐巴馬</mark>' in page


def test_an_add_while_another_process_writes_shows_the_lock_message(tmp_path, seed_index_dir, monkeypatch):
    import os

    from docsearch.indexing.lock import WriterLock
    d = tmp_path / "ix"
    shutil.copytree(seed_index_dir, d)
    monkeypatch.setenv("DOCSEARCH_INDEX_DIR", str(d))
    monkeypatch.setenv("DOCSEARCH_CORPUS_DIR", str(CORPUS))
    monkeypatch.setenv("DOCSEARCH_LOCK_WAIT_SECONDS", "0.2")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.sidebar.radio(key="page").set_value("library").run()
    at.text_area(key="paste_text").set_value("被锁住时粘贴的文章,不应加入文献库。")
    with WriterLock(d, 0):
        [b for b in at.button if b.label in ("添加", "Add")][-1].click().run()
    assert not at.exception
    assert any(f"pid {os.getpid()}" in e.value and "another docsearch process" in e.value for e in at.error)
    at.sidebar.radio(key="page").set_value("lookup").run()
    at.text_input(key="keyword").set_value("被锁住")
    at.button[0].click().run()
    assert "被锁住时粘贴" not in html_of(at)
