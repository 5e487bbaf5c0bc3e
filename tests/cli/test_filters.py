"""Filters on search, ask and lookup from the command line: by article id, source and date range
(undated articles are left out of a dated range); bad values are one-line usage errors."""
from __future__ import annotations

import json

from helpers import run_cli

DATED = "002_0d9808ada31baacb"      # 上海公平贸易, 2024-01-15
UNDATED = "000_47721d1ce0619f18"    # 文化縱橫, no date


def _articles(out: str, key: str = "results") -> set[str]:
    return {r["article_id"] for r in json.loads(out)[key]}


def test_search_by_article_id_and_source(ix):
    rc, out, _ = run_cli(ix, "search", "美国制造业回流", "-k", "10", "--article", UNDATED, "--json")
    assert rc == 0 and _articles(out) == {UNDATED}
    assert json.loads(out)["filters"]["articles"] == [UNDATED]
    rc, out, _ = run_cli(ix, "search", "美国制造业回流", "-k", "10", "--source", "公平贸易", "--json")
    assert rc == 0 and _articles(out) == {DATED}


def test_a_date_range_leaves_out_undated_articles(ix):
    rc, out, _ = run_cli(ix, "ask", "美国制造业回流的成效如何?", "--since", "2024-01-01", "--until", "2024-12-31", "--json")
    assert rc == 0 and _articles(out, "passages") <= {DATED} and json.loads(out)["passages"]
    rc, out, _ = run_cli(ix, "search", "美国制造业回流", "--until", "2023-12-31", "--json")
    assert rc == 0 and json.loads(out)["results"] == []


def test_lookup_takes_the_same_filters(ix):
    rc, out, _ = run_cli(ix, "lookup", "芯片", "--article", DATED, "--json")
    assert rc == 0
    hits = json.loads(out)
    assert {h["article_id"] for h in hits.get("hits", hits.get("results", []))} <= {DATED}


def test_bad_filter_values_are_one_line_errors(ix):
    for args in (("--article", "no-such-article"), ("--since", "2024-13-01"), ("--until", "yesterday")):
        rc, out, err = run_cli(ix, "search", "芯片", *args)
        assert rc != 0 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (args, err)
