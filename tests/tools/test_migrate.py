"""`migrate`: a library copied between the embedded engine and Milvus, both ways, losslessly."""
import json
import os
import shutil
import subprocess
import sys
import uuid

from docsearch.engine import DocSearch
from docsearch.ingest import Article
from docsearch.tools.migrate import migrate

from helpers import CORPUS, MILVUS_SERVER, REPO, milvus_settings, needs_milvus, settings_for


# On a shared test server, collections of this session's own.
ENV = {"DOCSEARCH_MILVUS_COLLECTION": f"docsearch_migrate_{uuid.uuid4().hex[:8]}"}


def _library(ds: DocSearch) -> list[tuple]:
    """Everything a library must keep: each article's row (minus derived counts) and its text."""
    out = []
    for a in ds.articles():
        out.append((a.id, a.title, a.source, a.date, a.url, a.script, a.original_file, a.origin, a.added_at,
                    a.content_hash, a.extra, a.passages, ds.article_text(a.id)))
    return out


@needs_milvus
def test_migrate_both_ways_is_lossless_and_idempotent(tmp_path, seed_index_dir):
    shutil.copytree(seed_index_dir, tmp_path / "a")
    a = DocSearch(settings_for(tmp_path / "a"))
    extra = Article(title="带元数据的文章", text="第一段讲芯片。\n第二段讲 Good Jobs First 的报告。", id="meta-1",
                    source="某刊", date="2024-05-06", url="https://example.org/x", original_file="x.md",
                    extra={"author": "张三", "tags": "芯片"})
    assert a.add_articles([extra]).added == ["meta-1"]
    m = DocSearch(milvus_settings(tmp_path / "m"))
    try:
        report = migrate(a, m)
        assert report.copied == [r[0] for r in _library(a)] and not report.conflicts and report.problems == []
        assert _library(m) == _library(a)
        q = "田纳西州的平均工业电价是多少?"
        assert m.ask(q).answer[0].text == a.ask(q).answer[0].text
        again = migrate(a, m)
        assert again.copied == [] and len(again.unchanged) == 3

        b = DocSearch(settings_for(tmp_path / "b"))
        back = migrate(m, b)
        assert len(back.copied) == 3 and back.problems == []
        assert _library(b) == _library(a)
        assert b.store.get_meta("corpus_synced") is not None   # first use will not re-import corpus/
        assert [(h.article_id, h.matches) for h in b.lookup("芯片").results] == \
               [(h.article_id, h.matches) for h in a.lookup("芯片").results]

        # Same id, other content on the target: reported, never overwritten.
        a.delete("meta-1")
        a.add_articles([Article(title="同号不同文", text="完全不同的内容。", id="meta-1")])
        clash = migrate(a, m)
        assert clash.copied == [] and [c[0] for c in clash.conflicts] == ["meta-1"]
        assert m.article_text("meta-1") == extra.text
    finally:
        if MILVUS_SERVER:
            m.drop_library()
        m.close()


def run(*args):
    cmd = [sys.executable, "-m", "docsearch.cli", "--corpus-dir", str(CORPUS), *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO, env={**os.environ, **ENV})
    return p.returncode, p.stdout, p.stderr


@needs_milvus
def test_migrate_command(tmp_path, seed_index_dir):
    shutil.copytree(seed_index_dir, tmp_path / "a")
    lite = str(tmp_path / "lib" / "milvus.db") if not MILVUS_SERVER else MILVUS_SERVER
    opts = ["--milvus-uri", lite]
    rc, out, err = run("--index-dir", str(tmp_path / "a"), *opts, "migrate", "--to", "milvus")
    assert rc == 0, err
    assert "2 articles copied, 0 already there, 0 not copied" in out and "verify on the target: ok" in out
    rc, out, err = run("--index-dir", str(tmp_path / "a"), *opts, "migrate", "--to", "milvus")
    assert rc == 0 and "0 articles copied, 2 already there" in out, out + err
    # And back, into a new embedded library.
    rc, out, err = run("--index-dir", str(tmp_path / "b"), *opts, "migrate", "--to", "embedded")
    assert rc == 0 and "2 articles copied" in out, out + err
    rc, out, err = run("--index-dir", str(tmp_path / "b"), "list", "--json")
    assert [a["id"] for a in json.loads(out)["articles"]] == ["000_47721d1ce0619f18", "002_0d9808ada31baacb"]
    rc, out, err = run("--index-dir", str(tmp_path / "empty"), "migrate", "--to", "embedded",
                       "--milvus-uri", str(tmp_path / "none.db"))
    assert rc == 1 and err.strip().splitlines()[-1].startswith("docsearch: error: no library on the milvus backend")
    if MILVUS_SERVER:
        DocSearch(milvus_settings(tmp_path / "a", prefix=ENV["DOCSEARCH_MILVUS_COLLECTION"])).drop_library()
