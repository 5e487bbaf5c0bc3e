"""Sense ranking: a query word's Chinese candidates chosen by meaning, not every dictionary sense."""
from docsearch.retrieval.query import analyze
from docsearch.text import senses
from docsearch.text.translate import translate


def alternatives(text: str) -> dict[str, tuple[str, ...]]:
    return {g.source: g.alternatives for g in translate(text)}


def searched(text: str) -> set[str]:
    return {a for g in translate(text) for a in g.alternatives}


def test_moving_factories_is_relocation_not_emotion():
    got = searched("Why are US companies moving factories to Mexico?")
    assert not got & {"感动", "动人", "煽情", "感人"}
    assert got & {"迁厂", "外迁", "转移", "搬迁"} and "墨西哥" in got


def test_phrases_match_in_dictionary_form():
    assert "外迁" in searched("Which firms moved production abroad?")
    assert alternatives("relocating factories")["relocating factories"][0] == "迁厂"


def test_companies_are_firms_not_army_companies():
    got = alternatives("How many companies were listed in 2009?")["companies"]
    assert "公司" in got and "连队" not in got and "连" not in got


def test_function_words_add_no_single_character_noise():
    for q in ("Where did they go?", "What do they do there?", "Where does the money go to?"):
        assert [g for g in translate(q) if g.source != "money"] == [], q
    q = analyze("Where did the companies go?", 500)
    assert not {"去", "于", "走", "行"} & set(q.words)


def test_supply_chain_resilience():
    got = alternatives("supply chain resilience in semiconductors")
    assert got["supply chain"] == ("供应链",) and "韧性" in got["resilience"]


def test_main_sense_ranks_first():
    assert alternatives("interceptions")["interceptions"][0] == "拦截"
    assert alternatives("minutes")["minutes"][0] == "分钟"
    assert alternatives("the year he died")["died"][0] in ("死亡", "死", "去世")
    assert "威严" not in alternatives("in August")["august"]


def test_capitalized_names_are_not_stripped_to_other_words():
    got = alternatives("How old was Peyton Manning?")
    assert "manning" not in got            # not "man" + ing
    assert "美洲豹" in alternatives("the Panthers defense").get("panthers", ()) or \
        "黑豹" in alternatives("the Panthers defense").get("panthers", ())


def test_other_senses_far_below_the_best_are_dropped():
    pool = senses.candidates("companies")
    best = max(pool.values())
    kept, _shares = senses.choose(pool)
    assert kept == tuple(z for z, s in sorted(pool.items(), key=lambda t: -t[1])
                         if s >= senses.KEEP_RATIO * best)[:senses.MAX_ALTERNATIVES]


def test_word_forms():
    f = [w for w, _ in senses.forms("interceptions")]
    assert "interception" in f and "intercept" in f
    assert senses.base("factories") == "factory" and senses.base("moving") == "move"


def test_irregular_and_superlative_forms():
    assert "发现" in alternatives("the fossils that were found")["found"]
    assert "写" in alternatives("Who wrote the poem?")["wrote"]
    assert alternatives("the richest man")["richest"][0] in ("富有", "富")
    assert alternatives("the third richest man")["third"] == ("第三",)


def test_verb_forms_prefer_verb_senses():
    got = alternatives("Which king issued this declaration?")["issued"]
    assert got[0] in ("发表", "颁布", "发出", "发布") and "期" not in got


def test_alternatives_carry_their_share_of_the_best_sense():
    team, = [g for g in translate("the team") if g.source == "team"]
    assert team.shares[0] == 1.0 and list(team.shares) == sorted(team.shares, reverse=True)
    assert all(senses.KEEP_RATIO <= s <= 1.0 for s in team.shares)
    assert team.share(team.alternatives[-1]) == team.shares[-1] and team.share("不在其中") == 1.0
    glossary, = translate("reshoring")
    assert glossary.shares == () and glossary.share(glossary.alternatives[0]) == 1.0


def test_particle_verbs_are_translated_by_their_gloss():
    """CC-CEDICT glosses 属于 as "to belong to": the verb alone is looked up under that gloss."""
    got = alternatives("What share of workers belong to a union, and what does it depend on?")
    assert "属于" in got["belong"] and "取决于" in got["depend"]
    assert "比作" in alternatives("What does the author liken the scramble to?")["liken"]
