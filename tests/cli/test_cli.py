"""End to end through the installed `docsearch` command, as a user runs it."""
import json
import os
import subprocess
import sys

import pytest

from helpers import REPO, SHARED, run_cli as run


def test_first_use_builds_the_index(tmp_path):
    rc, out, err = run(tmp_path / "new", "list", "--json")
    assert rc == 0, err
    ids = [a["id"] for a in json.loads(out)["articles"]]
    assert ids == ["000_47721d1ce0619f18", "002_0d9808ada31baacb"]


def test_search_json_and_batch(ix):
    rc, out, err = run(ix, "search", "美国对中国超过多少种产品加征了关税?", "-k", "3", "--json")
    r = json.loads(out)
    assert rc == 0 and len(r["results"]) == 3 and r["results"][0]["rank"] == 1
    assert "3000" in r["results"][0]["text"]
    batch = "美國製造業回流的主要來源地是哪裡?\n\n美国制造业回流的主要来源地是哪里?\n"
    rc, out, err = run(ix, "search", "-", "-k", "2", "--json", stdin=batch)
    lines = [json.loads(x) for x in out.splitlines()]
    # One object per input line, blank lines included, in order: a reader can zip them.
    assert [x["query"] for x in lines] == ["美國製造業回流的主要來源地是哪裡?", "", "美国制造业回流的主要来源地是哪里?"]
    assert lines[1]["results"] == [] and "empty" in lines[1]["error"] and "error" not in lines[0]


def test_ask_batch_writes_one_object_per_line_in_order(ix):
    batch = "中西部产业工人年薪大约多少?\n   \n!!!\nWhere do reshored US factories go?\n\n"
    rc, out, err = run(ix, "ask", "-", "-k", "2", "--json", stdin=batch)
    lines = [json.loads(x) for x in out.splitlines()]
    assert rc == 0 and [x["question"] for x in lines] == ["中西部产业工人年薪大约多少?", "   ", "!!!",
                                                          "Where do reshored US factories go?", ""]
    assert [("error" in x) for x in lines] == [False, True, True, False, True]
    assert all(x["answer"] == [] for x in lines if "error" in x)
    rc, out, err = run(ix, "ask", "-", "-k", "1", stdin="\n中西部产业工人年薪大约多少?\n")
    assert rc == 0 and "line 1:" in err and "5萬~6萬美元" in out


def test_remove_moves_to_the_trash_and_restore_brings_it_back(ix):
    aid = "002_0d9808ada31baacb"
    text = json.loads(run(ix, "show", aid, "--json")[1])["paragraphs"]
    rc, out, err = run(ix, "remove", aid)
    assert rc == 0 and f"docsearch restore {aid}" in out
    rc, out, err = run(ix, "trash", "--json")
    items = json.loads(out)["articles"]
    assert [a["id"] for a in items] == [aid] and items[0]["removed_at"] and items[0]["title"]
    assert aid not in run(ix, "list")[1]
    assert run(ix, "show", aid)[0] == 1
    assert all(r["article_id"] != aid for r in json.loads(run(ix, "lookup", "供应链", "--json")[1])["results"])
    assert run(ix, "verify")[0] == 0
    rc, out, err = run(ix, "remove", aid)
    assert rc == 1 and "already in the trash" in err
    rc, out, err = run(ix, "restore", aid)
    assert rc == 0 and out.startswith(f"restored {aid}")
    assert json.loads(run(ix, "show", aid, "--json")[1])["paragraphs"] == text
    assert json.loads(run(ix, "trash", "--json")[1]) == {"articles": []}
    assert run(ix, "restore", aid)[0] == 1
    assert run(ix, "remove", aid)[0] == 0
    rc, out, err = run(ix, "trash", "--empty")
    assert rc == 0 and "1 articles deleted" in out
    assert json.loads(run(ix, "trash", "--json")[1]) == {"articles": []} and run(ix, "verify")[0] == 0


def test_ask_plain_output_marks_the_answer(ix):
    rc, out, err = run(ix, "ask", "中西部产业工人年薪大约多少?", "-k", "2")
    assert rc == 0 and "5萬~6萬美元" in out.split("passages:")[0]
    assert "【" in out


def test_lookup_and_show(ix):
    rc, out, err = run(ix, "lookup", "通胀", "--json")
    d = json.loads(out)
    assert rc == 0 and d["count"] == len(d["results"]) > 0
    assert any("通膨" in m["text"] for r in d["results"] for m in r["matches"])
    rc, out, err = run(ix, "show", "002_0d9808ada31baacb")
    assert rc == 0 and "¶1" in out


def test_lookup_of_several_keywords_counts_each_and_combines_them(ix):
    single = {w: json.loads(run(ix, "lookup", w, "--json")[1]) for w in ("芯片", "墨西哥")}
    rc, out, err = run(ix, "lookup", "芯片", "墨西哥", "--json")
    anyof = json.loads(out)
    assert rc == 0 and anyof["combine"] == "any"
    assert [(k["keyword"], k["passages"]) for k in anyof["per_keyword"]] == [
        (w, single[w]["count"]) for w in ("芯片", "墨西哥")]
    ids = {w: {(r["article_id"], r["paragraph"]) for r in d["results"]} for w, d in single.items()}
    assert {(r["article_id"], r["paragraph"]) for r in anyof["results"]} == ids["芯片"] | ids["墨西哥"]
    allof = json.loads(run(ix, "lookup", "芯片", "墨西哥", "--all", "--json")[1])
    assert allof["combine"] == "all" and 0 < allof["count"] < anyof["count"]
    assert {(r["article_id"], r["paragraph"]) for r in allof["results"]} == ids["芯片"] & ids["墨西哥"]
    rc, out, err = run(ix, "lookup", "芯片", "墨西哥", "--limit", "2")
    assert rc == 0 and "芯片 (" in out and "2 passages" in out


def test_add_remove_verify(ix, tmp_path):
    f = tmp_path / "note.md"
    f.write_text("---\ntitle: 测试\nsource: 手写\n---\n墨西哥近岸外包的厂房租金上涨了三成。", encoding="utf-8")
    rc, out, err = run(ix, "add", str(f))
    assert rc == 0 and out.startswith("added ")
    aid = out.split()[1]
    rc, out, err = run(ix, "add", str(f))
    assert rc == 0 and "already in the library as " + aid in out
    rc, out, err = run(ix, "remove", aid)
    assert rc == 0
    rc, out, err = run(ix, "verify")
    assert rc == 0, out + err


def test_search_can_reread_its_best_passages_as_ask_does(ix):
    question = "哪些国家的企业把工厂搬回美国最多?"
    rc, out, err = run(ix, "search", question, "-k", "8", "--json")
    plain = [r["passage_id"] for r in json.loads(out)["results"]]
    rc, out, err = run(ix, "search", question, "-k", "3", "--rerank", "5", "--json")
    reread = json.loads(out)["results"]
    assert rc == 0, err
    assert [r["rank"] for r in reread] == [1, 2, 3] and {r["passage_id"] for r in reread} <= set(plain)
    rc, out, err = run(ix, "ask", question, "-k", "3", "--json")
    assert [p["passage_id"] for p in json.loads(out)["passages"]] == [r["passage_id"] for r in reread]
    rc, out, err = run(ix, "ask", question, "-k", "3", "--rerank", "0", "--json")
    assert [p["passage_id"] for p in json.loads(out)["passages"]] == plain[:3]


@pytest.mark.parametrize("args, why", [(("search", "晶片", "--rerank", "-2"), "expected 0 or more, not -2"),
                                       (("ask", "晶片", "--rerank", "many"), "expected a whole number, not 'many'")])
def test_a_bad_rerank_count_is_a_usage_error(ix, args, why):
    rc, out, err = run(ix, *args)
    assert rc == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].endswith(f"argument --rerank: {why}")


@pytest.mark.parametrize("args", [("search", ""), ("search", 'AND OR "'), ("lookup", "  "), ("remove", "nope"),
                                  ("add", "/no/such/file.txt"), ("search", "x" * 100_000)])
def test_bad_input_is_one_clean_line(ix, args):
    rc, out, err = run(ix, *args)
    assert "Traceback" not in err
    if rc != 0:
        assert len(err.strip().splitlines()) == 1 and err.startswith("docsearch:")


def test_a_batch_add_keeps_good_files_and_lists_refused(ix, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("好文章\n供应链韧性需要备链。", encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01" * 100)
    rc, out, err = run(ix, "add", str(good), str(bad))
    assert rc == 1 and "added" in out and "bad.txt" in err


@pytest.mark.skipif(not (SHARED / "checks" / "contract.py").exists(), reason="../shared/checks not present")
def test_cli_contract(tmp_path):
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    p = subprocess.run([sys.executable, str(SHARED / "checks" / "contract.py"),
                        "--docsearch", f"{sys.executable} -m docsearch.cli"],
                       capture_output=True, text=True, timeout=1200, cwd=REPO, env=env)
    assert p.returncode == 0, p.stdout[-2000:]
    assert p.stdout.strip().splitlines()[-1].endswith(" 0 failed")


def test_an_unreachable_hub_model_is_one_clear_error(tmp_path):
    rc, out, err = run(tmp_path / "ix", "--model", "BAAI/bge-m3", "index")
    assert rc == 1 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "BAAI/bge-m3" in err and "huggingface-cli download" in err


def test_english_question_shows_its_translation(ix):
    rc, out, err = run(ix, "ask", "What share of US imports came from China in 2022?", "-k", "3")
    assert rc == 0 and "translated: imports -> 进口" in out
    assert "14.3%" in out.split("passages:")[0]


def test_bench_reports_latency(ix):
    rc, out, err = run(ix, "bench", "--queries", "20")
    assert rc == 0 and "search: median" in out and "ask: median" in out and "without re-reading" in out


def test_calibrate_abstain_refuses_a_gate_beyond_the_decline_budget(tmp_path):
    code, out, err = run(tmp_path / "ix", "calibrate-abstain", "--gate-declined", "0.5", "--dry-run")
    assert code == 2 and "--gate-declined" in err and "Traceback" not in err


def test_ask_says_when_a_question_is_far_from_the_library(ix):
    code, out, _ = run(ix, "ask", "红烧肉怎么做才能肥而不腻?", "-k", "2")
    assert code == 0 and "far from everything it holds" in out
    code, out, _ = run(ix, "ask", "红烧肉怎么做才能肥而不腻?", "-k", "2", "--json")
    doc = json.loads(out)
    assert doc["answered"] is False and doc["off_topic"] is True and doc["answer"] == [] and doc["passages"]
