import json

import pytest
from hypothesis import given, settings, strategies as st

from docsearch.errors import IngestError
from docsearch.ingest import article_from_text, parse_front_matter, read_path
from helpers import minimal_pdf

TEXT = "美國製造業回流的成效、特點與啟示\n\n2008年國際金融危機以來,美國不斷加碼推動製造業回流。"


def test_front_matter_is_parsed_and_values_may_hold_colons():
    meta, body = parse_front_matter("---\ntitle: 第三期:美国\nsource: 上海\n---\n正文")
    assert meta == {"title": "第三期:美国", "source": "上海"} and body == "正文"


def test_title_from_first_line_without_header():
    art = article_from_text(TEXT, "x.txt")
    assert art.title == "美國製造業回流的成效、特點與啟示"
    assert art.text.startswith("2008年") and art.script == "zh-Hant"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030", "big5"])
def test_common_chinese_encodings_decode(tmp_path, encoding):
    text = TEXT if encoding != "gb18030" else "美国制造业回流的成效、特点与启示\n\n2008年国际金融危机以来,美国不断加码推动制造业回流。"
    if encoding == "big5":
        text = TEXT.replace("、", ",")
    path = tmp_path / "a.txt"
    path.write_bytes(text.encode(encoding))
    [art] = read_path(path, 10**6)
    assert art.text in text and "回流" in art.text.replace("迴", "回")


def test_jsonl_keeps_given_ids(tmp_path):
    path = tmp_path / "a.jsonl"
    rows = [{"id": "a-1", "title": "一", "text": "第一篇。"}, {"title": "二", "text": "第二篇。", "source": "s"}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    arts = read_path(path, 10**6)
    assert arts[0].id == "a-1" and arts[1].id is None and arts[1].source == "s"


@pytest.mark.parametrize("content,reason", [
    (b"", "empty"), (b"\x00\x01\x02\x03binary\x00" * 50, "binary"),
])
def test_bad_files_are_refused_with_their_name(tmp_path, content, reason):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(IngestError, match="bad.txt"):
        read_path(path, 10**6)


def test_missing_unsupported_and_oversized_files(tmp_path):
    with pytest.raises(IngestError, match="no such file"):
        read_path(tmp_path / "none.txt", 10)
    (tmp_path / "a.exe").write_bytes(b"MZ")
    with pytest.raises(IngestError, match="unsupported"):
        read_path(tmp_path / "a.exe", 10)
    (tmp_path / "big.txt").write_text("字" * 100, encoding="utf-8")
    with pytest.raises(IngestError, match="limit"):
        read_path(tmp_path / "big.txt", 10)


def test_bad_jsonl_line_names_the_line(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"title": "x", "text": "ok"}\n{broken\n', encoding="utf-8")
    with pytest.raises(IngestError, match=r"a.jsonl:2"):
        read_path(path, 10**6)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_either_read_or_refused_cleanly(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "f.txt"
    path.write_bytes(data)
    try:
        arts = read_path(path, 10**6)
    except IngestError as exc:
        assert "f.txt" in str(exc)
    else:
        assert arts and all(a.text.strip() for a in arts)


def test_html_main_text_and_metadata(tmp_path):
    page = ("<html><head><title>晶片法案</title><meta property='article:published_time' content='2024-03-01'>"
            "<link rel='canonical' href='https://news.example.com/a/1'><meta property='og:site_name' content='範例新聞'>"
            "</head><body><nav>首頁 | 關於我們 | 聯絡</nav><script>var tracking=1;</script><style>p{}</style>"
            "<article><h1>晶片法案進展</h1><p>美國的晶片法案推動半導體製造回流,2023年相關投資翻了一番,"
            "多個大型項目陸續開工建設。</p><p>台積電在亞利桑那州建廠,但進度因人力短缺而延後。</p></article>"
            "<footer>版權所有</footer></body></html>")
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")
    [art] = read_path(path, 10**6)
    assert "台積電在亞利桑那州建廠" in art.text and "tracking" not in art.text and "p{}" not in art.text
    assert art.title == "晶片法案進展" and art.date == "2024-03-01"
    assert (art.url, art.source, art.encoding) == ("https://news.example.com/a/1", "範例新聞", "utf-8")


def test_docx_paragraphs_and_properties(tmp_path):
    import docx
    d = docx.Document()
    d.core_properties.title = "友岸外包報告"
    d.core_properties.author = "研究室"
    d.add_paragraph("第一段:美國推動友岸外包。")
    d.add_paragraph("第二段:越南與印度承接產能。")
    path = tmp_path / "r.docx"
    d.save(path)
    [art] = read_path(path, 10**6)
    assert art.title == "友岸外包報告" and art.source == "研究室"
    assert art.text.split("\n") == ["第一段:美國推動友岸外包。", "第二段:越南與印度承接產能。"]




def test_pdf_text_layer_lines_become_paragraphs(tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(minimal_pdf(["Reshoring of US manufacturing", "accelerated after 2020.",
                                   "Mexico gained the most."]))
    [art] = read_path(path, 10**6)
    assert "accelerated after 2020." in art.text
    assert "manufacturing accelerated" in art.text  # a broken line is joined back


def test_pdf_without_text_and_broken_files_are_refused(tmp_path):
    (tmp_path / "scan.pdf").write_bytes(minimal_pdf([]))
    with pytest.raises(IngestError, match="no text layer"):
        read_path(tmp_path / "scan.pdf", 10**6)
    (tmp_path / "bad.docx").write_bytes(b"not a zip")
    with pytest.raises(IngestError, match="bad.docx"):
        read_path(tmp_path / "bad.docx", 10**6)


def test_a_one_line_note_is_its_own_text():
    art = article_from_text("墨西哥近岸外包的厂房租金上涨了三成。\n\n", "note.txt")
    assert art.text == "墨西哥近岸外包的厂房租金上涨了三成。" and art.title == art.text



def test_every_refusal_carries_a_known_code(tmp_path):
    from docsearch.responses import REFUSAL_CODES

    cases = {"empty.txt": (b"", "empty"), "nul.txt": (b"ab\x00cd" * 50, "binary"),
             "bad.jsonl": (b'{"text": ', "invalid_json"), "notes.xyz": (b"text", "unsupported")}
    for name, (content, code) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(IngestError) as err:
            read_path(tmp_path / name, 10**6)
        assert err.value.code == code and code in REFUSAL_CODES, name
    with pytest.raises(IngestError) as err:
        read_path(tmp_path / "absent.txt", 10**6)
    assert err.value.code == "missing"
