"""Page logic of the Streamlit app, run with streamlit's AppTest on a private copy of the seed index."""
import re
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
    # Each answer sentence carries its calibrated confidence.
    shown = [float(x) for x in re.findall(r"置信度 ([01]\.[0-9]{2})", page)]
    assert shown and all(0.0 <= c <= 1.0 for c in shown)
    assert "田纳西州的平均工业电价是多少?" in str(app.query_params["q"])  # shareable URL


def test_english_question_shows_its_translation(app):
    app.text_input(key="question").set_value("What share of US imports came from China in 2022?")
    app.button[0].click().run()
    assert any("进口" in c.value for c in app.caption)
    assert "14.3%" in html_of(app)


def test_a_question_worded_unlike_the_library_says_so_and_is_answered(app):
    app.text_input(key="question").set_value("新冠暴發那一年,美國工廠的產出縮水了多少?")
    app.button[0].click().run()
    assert not app.exception
    caption = next(c.value for c in app.caption if "检索词" in c.value)
    assert "文献库中没有的词" in caption and "缩水" in caption and "按语义排序" in caption
    assert "負增長" in re.sub(r"<[^>]+>", "", html_of(app))


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


# -- issue 16: the app as a research tool -------------------------------------------------------
from docsearch.ui import export  # noqa: E402
from docsearch.responses import REFUSAL_CODES, Refusal  # noqa: E402
from docsearch.ui.library import refusal  # noqa: E402
from docsearch.ui.texts import EXAMPLES, TEXT  # noqa: E402


def url_app(tmp_path, seed_index_dir, monkeypatch, **params):
    """The app opened on a URL with these parameters (a session's first run)."""
    d = tmp_path / "ix"
    shutil.copytree(seed_index_dir, d)
    monkeypatch.setenv("DOCSEARCH_INDEX_DIR", str(d))
    monkeypatch.setenv("DOCSEARCH_CORPUS_DIR", str(CORPUS))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    return at


def qp(at, key):
    """A URL parameter's value as the browser would see it."""
    v = at.query_params[key]
    return v[0] if isinstance(v, list) else v


def ask(at, question):
    at.text_input(key="question").set_value(question)
    [b for b in at.button if b.label in ("提问", "Ask")][0].click().run()
    assert not at.exception


def test_start_page_shows_the_library_and_examples_that_run(app):
    page = html_of(app)
    assert "**2** 篇文章" in page and "文化縱橫" in page and "2024-01-15" in page
    app.button(key="example-2").click().run()
    assert not app.exception
    assert qp(app, "q") == EXAMPLES[2]
    assert '<mark class="ans">' in html_of(app) and 'href="#cite-1"' in html_of(app)


def test_thread_holds_the_current_question_newest_first(app):
    ask(app, "美国制造业回流的主要来源地是哪里?")
    ask(app, "美國製造業就業人數如何變化?" + "很长的问题" * 10)
    history = [m.value for m in app.sidebar.markdown] + [b.label for b in app.sidebar.button]
    assert any("▸ 美國製造業就業人數如何變化?" in h and h.endswith("…**") for h in history)  # current, shortened
    assert "美国制造业回流的主要来源地是哪里?" in [b.label for b in app.sidebar.button]
    assert [e.label for e in app.expander if "美国制造业回流" in e.label]  # the earlier answer in the thread
    app.button(key="hist-1").click().run()  # back to the first question, from the sidebar
    assert "美国制造业回流的主要来源地是哪里?" == app.text_input(key="question").value


@pytest.mark.parametrize("question, key", [("制造业" * 1000, "问题太长"), ("?!。……", "没有可以检索的字词"),
                                           ("<script>", "没有可以检索的字词")])
def test_questions_that_are_not_asked(app, question, key):
    ask(app, question)
    assert any(key in w.value for w in app.warning) and '<mark class="ans">' not in html_of(app)
    assert "q" not in app.query_params


def test_citation_opens_the_reading_view_at_its_paragraph_in_the_same_session(app):
    app.sidebar.radio(key="lang").set_value("en").run()
    ask(app, "田纳西州的平均工业电价是多少?")
    page = html_of(app)
    assert 'href="#cite-1"' in page and 'id="cite-1"' in page
    opener = app.button(key="open-1")
    para = opener.label.rsplit("¶", 1)[1]
    opener.click().run()
    assert not app.exception
    assert f'<p id="para-{para}" class="cited">' in html_of(app) or f'<p id="para-{para}" class="head cited">' in html_of(app)
    assert (qp(app, "page"), qp(app, "lang"), qp(app, "p")) == ("read", "en", para)
    app.button(key="back").click().run()
    assert "6.89" in html_of(app)  # the answer is still there


def test_the_reading_view_opens_at_the_paragraph_of_the_highlighted_sentence(app, seed):
    question = "田纳西州的平均工业电价是多少?"
    app.sidebar.radio(key="lang").set_value("en").run()
    ask(app, question)
    resp = seed.ask(question)
    assert resp.answered
    first = resp.answer[0]
    n = next(i for i, (r, *_) in enumerate(resp.passages, 1) if r.rank == first.passage_rank)
    r = resp.passages[n - 1][0]
    opener = app.button(key=f"open-{n}")
    assert opener.label.rsplit("¶", 1)[1] == str(first.paragraph)
    assert r.paragraph <= first.paragraph <= r.paragraph_end


def test_copy_citation_and_exports(app, seed):
    ask(app, "田纳西州的平均工业电价是多少?")
    codes = [c.value for c in app.code]
    assert codes and all("第" in c and "段" in c and c.startswith("《") for c in codes)
    resp = seed.ask("田纳西州的平均工业电价是多少?")
    md = export.answer_markdown(resp, TEXT["en"])
    assert md.startswith("# 田纳西州") and "[1]" in md and "> " in md
    assert f"[1] (confidence {resp.answer[0].confidence:.2f})" in md
    import csv
    import io
    import json
    rows = list(csv.DictReader(io.StringIO(export.results_csv(resp).lstrip("\ufeff"))))
    assert rows and rows[0]["cite"] == "1" and rows[0]["article_id"]
    assert json.loads(export.results_json(resp))["passages"]
    assert export.citation_text(TEXT["en"], "T", "", "", 3, 4) == "“T”, unknown source, n.d., ¶3-4."


@pytest.mark.parametrize("params, message", [
    ({"page": "read", "article": "000_47721d1ce0619f18", "p": "abc"}, "不是这篇文章的段落编号"),
    ({"page": "read", "article": "000_47721d1ce0619f18", "p": "9999"}, "不是这篇文章的段落编号"),
    ({"page": "read", "article": "gone-article", "p": "3"}, "文献库里没有编号为“gone\\-article”"),
    ({"page": "nonsense"}, "未知页面"),
    ({"lang": "xx"}, "Unknown interface language"),
    ({"script": "klingon"}, "未知的显示方式"),
    ({"page": "read", "lang": "en", "article": "[x](javascript:alert(1))"}, "The library holds no article"),
])
def test_bad_url_values_get_a_message(tmp_path, seed_index_dir, monkeypatch, params, message):
    at = url_app(tmp_path, seed_index_dir, monkeypatch, **params)
    assert any(message in w.value for w in at.warning), [w.value for w in at.warning]
    assert 'class="cited"' not in html_of(at)
    if params.get("article") not in (None, "000_47721d1ce0619f18"):
        assert '<p id="para-1"' not in html_of(at)  # never silently another article


def test_deep_link_to_a_paragraph(tmp_path, seed_index_dir, monkeypatch):
    at = url_app(tmp_path, seed_index_dir, monkeypatch, page="read", article="000_47721d1ce0619f18", p="32",
                 script="zh-Hans", lang="en")
    page = html_of(at)
    assert '<p id="para-32" class="cited">' in page and "### 美制造业强势回流" in page  # title converts too
    assert at.sidebar.radio(key="lang").value == "en"


def test_lookup_says_what_it_searched(app):
    app.sidebar.radio(key="page").set_value("lookup").run()
    app.text_input(key="keyword").set_value("晶片 回流")
    app.button[0].click().run()
    captions = " ".join(c.value for c in app.caption)
    assert "晶片" in captions and "芯片" in captions
    combine = app.radio(key="lookup_combine")          # several words: OR (the default) or AND
    assert combine.value == "any" and combine.options == ["任一个词(或):列出含有其中任一个词的段落",
                                                          "所有词(且):只列出同时含有每个词的段落"]
    # The count says how the words were combined (the issue asks for look-up counts labelled as such).
    assert "个段落含有其中任一个词" in html_of(app)
    combine.set_value("all").run()
    assert "个段落同时含有每个词" in html_of(app)
    app.text_input(key="keyword").set_value("晶片")
    app.button[0].click().run()
    assert "个段落含有该词" in html_of(app) and not any("词" in d.value.columns for d in app.dataframe)


def test_refusals_name_the_uploaded_file_in_the_interface_language():
    tmp = "/tmp/tmpxyz"
    empty = Refusal(f"{tmp}/empty.txt", f"{tmp}/empty.txt: file is empty", "empty")
    assert refusal(empty, TEXT["zh"], tmp) == "未添加: empty\\.txt: 文件是空的"
    unknown = Refusal(f"{tmp}/a.bin", f"{tmp}/a.bin: something new", "a-code-from-the-future")
    assert refusal(unknown, TEXT["en"], tmp) == "Not added: a\\.bin: a\\.bin: something new"


def test_every_refusal_code_has_words_in_both_languages():
    for lang in ("zh", "en"):
        assert set(REFUSAL_CODES) <= set(TEXT[lang]["reasons"]), lang


def test_remove_starts_with_nothing_chosen_and_resets_the_confirmation(app):
    app.sidebar.radio(key="page").set_value("library").run()
    assert app.selectbox(key="remove_pick").value is None
    assert app.button(key="remove_button").disabled
    app.selectbox(key="remove_pick").set_value("002_0d9808ada31baacb").run()
    app.checkbox(key="remove_confirm").check().run()
    assert not app.button(key="remove_button").disabled
    app.button(key="remove_button").click().run()
    assert not app.exception and any("已移入回收站" in s.value for s in app.success)
    assert app.selectbox(key="remove_pick").value is None and not app.checkbox(key="remove_confirm").value
    assert app.button(key="remove_button").disabled


def test_library_table_headers_follow_the_interface_language(app):
    app.sidebar.radio(key="page").set_value("library").run()
    assert "标题" in list(app.dataframe[0].value.columns)


def test_a_question_on_another_subject_says_it_is_far_from_the_library(app, seed):
    app.text_input(key="question").set_value("红烧肉怎么做才能肥而不腻?")
    app.button[0].click().run()
    assert not app.exception
    assert any("离库中的内容都比较远" in w.value for w in app.warning)
    assert not any("<sup class=\"cite\">" in m.value for m in app.markdown)
    assert not any('class="ans"' in m.value for m in app.markdown)   # no sentence marked as its answer
    # Exported, it stays declined: the warning, then the passages as related reading.
    md = export.answer_markdown(seed.ask("红烧肉怎么做才能肥而不腻?"), TEXT["en"])
    assert "far from everything it holds" in md and f"## {TEXT['en']['related']}" in md
    assert f"## {TEXT['en']['passages']}" not in md


def test_a_question_the_library_cannot_answer_says_so(app):
    app.text_input(key="question").set_value("日本的养老金制度如何运作?")
    app.button[0].click().run()
    assert not app.exception
    assert any("没有可靠的答案" in w.value for w in app.warning)
    assert not any("<sup class=\"cite\">" in m.value for m in app.markdown)   # no answer sentences
    assert any(s.value == "相关段落" for s in app.subheader)


def test_remove_goes_to_the_trash_and_restore_brings_it_back(app):
    app.sidebar.radio(key="page").set_value("library").run()
    victim = "002_0d9808ada31baacb"
    app.selectbox(key="remove_pick").set_value(victim).run()
    app.checkbox(key="remove_confirm").check().run()
    app.button(key="remove_button").click().run()
    assert not app.exception
    assert app.selectbox(key="remove_pick").value is None and not app.checkbox(key="remove_confirm").value
    assert victim not in [r for r in app.dataframe[0].value.iloc[:, 0]]
    app.button(key=f"restore-{victim}").click().run()
    assert not app.exception
    assert victim in [r for r in app.dataframe[0].value.iloc[:, 0]]
    assert any("已恢复" in s.value for s in app.success)


def test_filters_narrow_answers_and_lookups(app):
    app.sidebar.radio(key="page").set_value("lookup").run()
    app.multiselect(key="f_articles").set_value(["002_0d9808ada31baacb"]).run()
    app.text_input(key="keyword").set_value("芯片")
    app.button[0].click().run()
    assert not app.exception
    page = html_of(app)
    assert "大变局" in page and "美製造業強勢回流" not in page
    app.text_input(key="f_source").set_value("不存在的来源").run()
    assert not app.exception and "美製造業強勢回流" not in html_of(app)


def test_several_lookup_words_combine_with_or_or_and(app):
    app.sidebar.radio(key="page").set_value("lookup").run()
    app.text_input(key="keyword").set_value("芯片 墨西哥")
    app.button[0].click().run()
    assert not app.exception
    any_count = len([m for m in app.markdown if "¶" in m.value or "第" in m.value])
    assert app.radio(key="lookup_combine").value == "any"
    # Each word's own count beside the union's: the union is at least the larger, at most the sum.
    words = next(d.value for d in app.dataframe if "词" in d.value.columns)
    assert list(words["词"]) == ["芯片 / 晶片", "墨西哥"] or list(words["词"]) == ["晶片 / 芯片", "墨西哥"]
    union = int(re.search(r"\*\*(\d+)\*\* 个段落含有其中任一个词", html_of(app)).group(1))
    assert max(words["段落数"]) <= union <= sum(words["段落数"])
    app.radio(key="lookup_combine").set_value("all").run()
    assert not app.exception
    both = [m.value for m in app.markdown if '<mark class="ans">' in m.value]
    assert all(("芯片" in v or "晶片" in v) and "墨西哥" in v for v in both)
    assert len(both) < any_count


def test_a_character_split_off_a_longer_term_is_not_marked_on_its_own():
    from docsearch.ui.answer import highlight_terms

    assert highlight_terms(["占", "比", "占比", "美国", "进口", "美国"]) == ["占比", "美国", "进口"]
    assert highlight_terms(["铜", "价格"]) == ["铜", "价格"]
    assert highlight_terms(["欧洲央行", "在", "2022", "年", "加息"]) == ["欧洲央行", "2022", "2022年", "加息"]
    # A unit after a number is marked with its number, not in every year the article names.
    assert highlight_terms(["2022", "年", "美国", "时薪"]) == ["2022", "2022年", "美国", "时薪"]
    assert highlight_terms(["年", "增速"]) == ["年", "增速"]
