import json

import pytest
from hypothesis import given, settings, strategies as st

from docsearch.ingest import IngestError, article_from_text, decode_bytes, parse_front_matter, read_path

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
