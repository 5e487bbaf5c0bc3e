from docsearch.text.chunk import chunk, paragraphs, sentence_spans

ARTICLE = """(一)製造業增加值小幅加速提升

2010—2021年,美國製造業增加值年均增速1.8%。高於危機前的水平。

一個沒有標點的短行
(1)“二战”前的全产业链扩张。
美国在二战前的发展崛起与其在20世纪全球产业链中的全方位扩张密不可分。
"""


def test_offsets_point_into_the_article():
    for c in chunk(ARTICLE, 400, 50):
        assert ARTICLE[c.start:c.end] == c.text


def test_headings_join_the_paragraph_they_introduce():
    cs = chunk(ARTICLE, 400, 50)
    assert cs[0].text.startswith("(一)") and "1.8%" in cs[0].text
    assert (cs[0].paragraph, cs[0].paragraph_end) == (1, 2)
    # an enumerated line ending in a full stop is still a heading
    assert cs[-1].text.startswith("一個沒有標點的短行") or cs[-1].text.startswith("(1)")
    assert "密不可分" in cs[-1].text


def test_long_paragraphs_split_at_sentence_ends():
    para = "".join(f"第{i}句话讲的是供应链韧性的某个方面。" for i in range(60))
    cs = chunk(para, 100, 20)
    assert len(cs) > 5
    assert all(c.text.endswith("。") for c in cs)
    assert all(len(c.text) <= 100 for c in cs)
    assert "".join(c.text for c in cs) == para
    assert all(c.paragraph == 1 for c in cs)


def test_paragraph_numbers_count_non_empty_lines():
    ps = paragraphs("a\n\n  \nb\nc")
    assert [p.number for p in ps] == [1, 2, 3]


def test_sentence_spans_keep_closing_quotes():
    text = "他说:“好。”然后离开了!"
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == ["他说:“好。”", "然后离开了!"]


def test_one_enormous_sentence_is_cut():
    cs = chunk("字" * 1000, 100, 20)
    assert max(len(c.text) for c in cs) <= 200
    assert sum(len(c.text) for c in cs) == 1000


def test_a_long_numbered_section_title_is_still_a_heading():
    title = "(二)從回流來源地看,主要來自亞洲,中國是第一來源國,日本、德國、韓國等製造業企業赴美直接投資步伐加快"
    assert len(title) > 50
    text = f"{title}\n“回岸倡議”機構統計顯示,2010—2022年,從亞洲回岸的企業創造的就業崗位佔72%。\n"
    chunks = chunk(text, 800, 50)
    assert len(chunks) == 1 and chunks[0].paragraph == 1 and chunks[0].paragraph_end == 2
    # ... but a long numbered line that ends a sentence is content
    text2 = title + "。\n下一段。\n"
    assert len(chunk(text2, 800, 50)) == 2
