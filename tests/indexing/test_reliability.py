"""Nothing added is ever lost or corrupted: the writer lock, healing after a crash, repair,
export round trips, refused input, and SIGKILL at random points of bulk adds and removes."""
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from docsearch.engine import DocSearch
from docsearch.indexing.library import PENDING_KEY
from docsearch.storage.embedded.backend import VECTORS_NAME
from docsearch.ingest import Article, article_from_record
from docsearch.indexing.lock import WriterLock

from helpers import CORPUS, REPO, run_cli, settings_for


cli = run_cli


def exported(index_dir, corpus=CORPUS) -> str:
    rc, out, err = cli(index_dir, "export", corpus=corpus)
    assert rc == 0, err
    return out


# -- one writer at a time ------------------------------------------------------------------
def test_a_second_writer_waits_then_fails_with_one_line_naming_the_holder(ix, tmp_path):
    f = tmp_path / "n.txt"
    f.write_text("锁测试\n墨西哥近岸外包的新厂房在蒙特雷开工。", encoding="utf-8")
    before = exported(ix)
    lock = WriterLock(ix, 0)
    lock.acquire()
    try:
        t0 = time.monotonic()
        rc, out, err = cli(ix, "add", str(f), env={"DOCSEARCH_LOCK_WAIT_SECONDS": "0.5"})
        waited = time.monotonic() - t0
        assert rc == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
        assert f"another docsearch process is writing to {ix} (pid {os.getpid()}); try again when it finishes" in err
        assert waited >= 0.5
        rc, out, err = cli(ix, "search", "近岸外包", "--json")  # readers are never blocked
        assert rc == 0 and json.loads(out)["results"]
        rc, out, err = cli(ix, "verify", env={"DOCSEARCH_LOCK_WAIT_SECONDS": "0.2"})  # waits for a settled index
        assert rc == 1 and "another docsearch process is writing" in err and not out
    finally:
        lock.release()
    assert exported(ix) == before
    rc, out, err = cli(ix, "add", str(f))
    assert rc == 0 and out.startswith("added "), err


def test_the_lock_is_reentrant_and_exclusive_between_holders(tmp_path):
    a, b = WriterLock(tmp_path, 0), WriterLock(tmp_path, 0)
    with a:
        with a:
            assert not b.try_acquire()
        assert not b.try_acquire()
    assert b.try_acquire()
    b.release()


# -- healing and repair ----------------------------------------------------------------------
def test_a_write_killed_between_database_and_vector_file_is_healed_on_open(fresh):
    # What a crash leaves: the marker, an article committed without its vectors, half a vector file.
    fresh.store.set_meta(PENDING_KEY, "1")
    art = Article(title="半途", text="一篇写入数据库后进程被杀的文章,向量尚未保存。", id="half-1")
    from docsearch.text.chunk import chunk
    from docsearch.text.tokens import passage_tokens
    chunks = chunk(art.text, 800, 50)
    fresh.store.add_articles([(art, chunks, [passage_tokens(c.text) for c in chunks])], "added")
    (fresh.index_dir / ".vectors-abc.tmp").write_bytes(b"partial")
    fresh.close()
    again = DocSearch(fresh.settings)
    assert any("vectors" in h for h in again.healed) and any("unfinished" in h for h in again.healed)
    assert again.verify() == [] and not again.store.get_meta(PENDING_KEY)
    assert not list(again.index_dir.glob(".vectors-*.tmp"))
    again.close()


def test_repair_rebuilds_everything_derived_and_keeps_every_article(ix):
    rc, out, err = cli(ix, "add", str(REPO / "corpus" / "002_0d9808ada31baacb.md"), "--title", "x")
    before = exported(ix)
    db = sqlite3.connect(ix / "docsearch.sqlite3")
    pids = [r[0] for r in db.execute("SELECT id FROM passages ORDER BY id")]
    db.execute("DELETE FROM passage_fts WHERE rowid IN (?, ?)", pids[-3:-1])
    db.execute("INSERT INTO passage_chars (rowid, chars) VALUES (99999, 'x')")
    first = db.execute("SELECT id FROM articles ORDER BY seq").fetchone()[0]
    db.execute("DELETE FROM passage_fts WHERE rowid IN (SELECT id FROM passages WHERE article_id=?)", (first,))
    db.execute("DELETE FROM passage_chars WHERE rowid IN (SELECT id FROM passages WHERE article_id=?)", (first,))
    db.execute("DELETE FROM passages WHERE article_id=?", (first,))
    db.execute('UPDATE passages SET start = start + 1 WHERE id = ?', (pids[-1],))
    db.commit()
    db.close()
    (ix / VECTORS_NAME).write_bytes(b"not a faiss index")
    rc, out, err = cli(ix, "verify")
    assert rc == 1 and "Traceback" not in err
    for what in ("passage_fts", "passage_chars", f"article {first} has no passages", "offsets", "unreadable (Index type"):
        assert what in out, out
    rc, out, err = cli(ix, "repair")
    assert rc == 0 and "Traceback" not in err, out + err
    assert out.count("fixed: ") >= 4 and "verify ok" in out
    assert exported(ix) == before  # not one article lost or changed
    rc, out, err = cli(ix, "verify")
    assert rc == 0, out
    rc, out, err = cli(ix, "ask", "田纳西州的平均工业电价是多少?", "--json")
    assert rc == 0 and "6.89" in json.loads(out)["answer"][0]["text"]
    rc, out, err = cli(ix, "repair")
    assert rc == 0 and "nothing to fix" in out


def test_a_damaged_keyword_table_is_rebuilt(fresh):
    db = sqlite3.connect(fresh.index_dir / "docsearch.sqlite3")
    db.execute("DELETE FROM passage_fts_data WHERE id > 10")  # FTS5's own pages
    db.commit()
    db.close()
    assert any("passage_fts" in p for p in fresh.verify())
    fixed = fresh.repair()
    assert any("keyword index rebuilt" in f for f in fixed)
    assert fresh.verify() == [] and fresh.search("芯片法案", k=3).results


def test_another_format_version_is_refused_and_left_alone(ix):
    db = sqlite3.connect(ix / "docsearch.sqlite3")
    db.execute("UPDATE meta SET value='99' WHERE key='format_version'")
    db.commit()
    db.close()
    for args in (("search", "芯片"), ("add", str(REPO / "README.md")), ("verify",), ("repair",), ("export",)):
        rc, out, err = cli(ix, *args)
        assert rc == 1 and len(err.strip().splitlines()) == 1 and "format 99" in err, (args, err)
    db = sqlite3.connect(ix / "docsearch.sqlite3")
    assert db.execute("SELECT value FROM meta WHERE key='format_version'").fetchone()[0] == "99"


def test_another_embedding_model_is_never_mixed(ix):
    other = str(REPO / "src" / "docsearch" / "models" / "docsearch-static-zh-en")  # another model setting
    rc, out, err = cli(ix, "--model", other, "verify")
    assert rc == 1 and "docsearch-static-zh-en" in out and other in out
    rc, out, err = cli(ix, "--model", other, "--dense-weight", "0.5", "search", "芯片法案", "--json")
    assert rc == 0 and json.loads(out)["results"]  # re-embedded every passage with it
    rc, out, err = cli(ix, "--model", other, "verify")
    assert rc == 0, out
    rc, out, err = cli(ix, "--model", "multilingual-e5-small", "verify")  # not its own vectors
    assert rc == 1 and other in out
    rc, out, err = cli(ix, "verify")  # "auto" keeps the model the library's vectors were made by
    assert rc == 0 and other in out


# -- export ----------------------------------------------------------------------------------
def test_export_then_add_gives_back_the_same_library(ix, tmp_path):
    import docx
    d = docx.Document()
    d.core_properties.title = "報告"
    d.core_properties.author = "研究室"
    d.core_properties.identifier = "https://example.org/r"
    d.add_paragraph("越南與印度承接產能。")
    d.save(tmp_path / "r.docx")
    md = tmp_path / "n.md"
    md.write_text("---\ntitle: 笔记\nurl: https://example.org/n\nauthor: 王\ntext: 头信息里的 text 键\n---\n"
                  "第一段。\n\n第二段。  \n", encoding="utf-8")
    rc, out, err = cli(ix, "add", str(tmp_path / "r.docx"), str(md))
    assert rc == 0, err
    first = exported(ix)
    rc, out, err = cli(ix, "export", "-o", str(tmp_path / "lib.jsonl"))
    assert rc == 0 and (tmp_path / "lib.jsonl").read_text(encoding="utf-8") == first
    recs = [json.loads(line) for line in first.splitlines()]
    assert len(recs) == 4 and recs[3]["extra"] == {"author": "王", "text": "头信息里的 text 键"}
    assert recs[2]["url"] == "https://example.org/r" and recs[2]["source"] == "研究室"
    empty = tmp_path / "empty-corpus"
    empty.mkdir()
    rc, out, err = cli(tmp_path / "new", "add", str(tmp_path / "lib.jsonl"), corpus=empty)
    assert rc == 0 and out.count("added ") == 4, err
    assert exported(tmp_path / "new", corpus=empty) == first
    rc, out, err = cli(tmp_path / "new", "add", str(tmp_path / "lib.jsonl"), corpus=empty)
    assert rc == 0 and out.count("unchanged: ") == 4  # a second import changes nothing


# -- ingestion: encodings, metadata, refusals ----------------------------------------------------
@pytest.mark.parametrize("encoding,expect", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"),
                                             ("utf-16-le", "utf-16-le"), ("gb18030", "gb18030"), ("big5", "big5")])
def test_add_reports_the_encoding_found(ix, tmp_path, encoding, expect):
    text = ("美國製造業回流的成效與啟示\n\n2008年國際金融危機以來,美國不斷加碼推動製造業回流,"
            "墨西哥與越南承接了大量產能。" if encoding != "gb18030" else
            "美国制造业回流的成效与启示\n\n2008年国际金融危机以来,美国不断加码推动制造业回流,墨西哥与越南承接了大量产能。")
    f = tmp_path / "a.txt"
    f.write_bytes(text.encode(encoding))
    rc, out, err = cli(ix, "add", str(f), "--json")
    added = json.loads(out)["added"]
    assert rc == 0 and added[0]["encoding"] == expect and added[0]["file"] == str(f)
    assert added[0]["script"] == ("zh-Hans" if encoding == "gb18030" else "zh-Hant")


def test_flags_override_the_metadata_of_a_file(ix, tmp_path):
    f = tmp_path / "a.md"
    f.write_text("---\ntitle: 原标题\nsource: 原来源\ndate: 2020-01-01\n---\n近岸外包让墨西哥的工业地产供不应求。",
                 encoding="utf-8")
    rc, out, err = cli(ix, "add", str(f), "--title", "新标题", "--source", "新来源", "--date", "2024-05-06",
                       "--url", "https://example.org/a")
    assert rc == 0, err
    aid = out.split()[1]
    arts = {a["id"]: a for a in json.loads(cli(ix, "list", "--json")[1])["articles"]}
    a = arts[aid]
    assert (a["title"], a["source"], a["date"], a["url"]) == ("新标题", "新来源", "2024-05-06", "https://example.org/a")
    two = tmp_path / "two.jsonl"
    two.write_text('{"title": "一", "text": "甲文。"}\n{"title": "二", "text": "乙文。"}\n', encoding="utf-8")
    before = exported(ix)
    rc, out, err = cli(ix, "add", str(two), "--title", "x")
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "title" in err
    assert exported(ix) == before


def test_pdf_and_docx_properties_become_metadata(tmp_path):
    from pypdf import PdfWriter
    from docsearch.ingest import read_path
    from helpers import minimal_pdf
    src = tmp_path / "a.pdf"
    src.write_bytes(minimal_pdf(["Reshoring of US manufacturing accelerated."]))
    w = PdfWriter(clone_from=str(src))
    w.add_metadata({"/Title": "Reshoring", "/Author": "Lab", "/CreationDate": "D:20230405120000Z"})
    w.write(tmp_path / "b.pdf")
    [art] = read_path(tmp_path / "b.pdf", 10**6)
    assert (art.title, art.source, art.date) == ("Reshoring", "Lab", "2023-04-05")


@pytest.mark.parametrize("name,content,reason", [
    ("empty.txt", b"", "empty"), ("blank.md", b"  \n\n ", "empty"),
    ("bin.txt", bytes(range(256)) * 3, "binary"), ("ctl.md", b"title\n" + b"\x01\x02\x03 text \x04\x05" * 50, "binary"),
    ("big.txt", "字".encode() * 400, "limit"), ("bad.html", b"<html><body><script>x</script></body></html>", "no main text"),
    ("bad.pdf", b"%PDF-1.4 garbage", "PDF"), ("bad16.txt", b"\xff\xfe\x00", "utf-16"),
], ids=lambda v: v if isinstance(v, str) and "." in v else "")
def test_refused_input_is_one_line_naming_the_file_and_changes_nothing(ix, tmp_path, name, content, reason):
    f = tmp_path / name
    f.write_bytes(content)
    before = exported(ix)
    rc, out, err = cli(ix, "add", str(f), env={"DOCSEARCH_MAX_FILE_BYTES": "1000"})
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert name in err and reason in err, err
    assert exported(ix) == before


def test_a_batch_summary_lists_the_refused_files(ix, tmp_path):
    (tmp_path / "good.txt").write_text("好文章\n供应链韧性需要备链和多元采购。", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    rc, out, err = cli(ix, "add", str(tmp_path / "good.txt"), str(tmp_path / "empty.txt"), str(tmp_path / "none.md"))
    assert rc == 1 and out.count("added ") == 1
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("summary: 1 added, 0 already in the library, 2 refused")
    assert "empty.txt" in summary and "none.md" in summary


# -- SIGKILL at random points -----------------------------------------------------------------------
KILL_TRIALS = int(os.environ.get("DOCSEARCH_KILL_TRIALS", "20"))
N_ARTICLES = 60


def _bulk(path, n):
    recs = []
    for i in range(n):
        paras = [f"第{i}篇第{j}段:墨西哥近岸外包项目{i * 10 + j}号的投资为{i + j}亿美元,"
                 f"越南电子组装线{j}期产能扩张了{i}成。" for j in range(5)]
        rec = {"title": f"批量文章{i}", "text": "\n".join(paras), "source": "kill test"}
        if i % 2 == 0:
            rec["id"] = f"bulk-{i}"
        recs.append(rec)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    return [article_from_record(r, "x") for r in recs]


def _start(index_dir, corpus, *args):
    # Small indexing batches (each its own transaction), so a kill can land between two of them
    # and the next run has to resume a half-done bulk add.
    env = {**os.environ, "DOCSEARCH_INDEX_BATCH_PASSAGES": "10"}
    return subprocess.Popen([sys.executable, "-m", "docsearch.cli", "--index-dir", str(index_dir),
                             "--corpus-dir", str(corpus), *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _article_count(ix) -> int:
    try:
        db = sqlite3.connect(f"file:{ix / 'docsearch.sqlite3'}?mode=ro", uri=True, timeout=1)
        try:
            return db.execute("SELECT count(*) FROM articles").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_bulk_add_and_remove_killed_at_random_points(tmp_path):
    """Each trial: `add` of N articles (or a `remove`) in a subprocess, SIGKILL at a random
    moment, then `docsearch verify` must pass at once and every article must be whole or absent.
    Trials continue on the same index, so each add resumes the one killed before it. Kinds of
    trial in turn: kill an add after a random delay from the start, or at a random moment once
    its articles are being committed; kill a remove; kill `index --rebuild`."""
    rng = random.Random(int(os.environ.get("DOCSEARCH_KILL_SEED", "20251130")))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    bulk = tmp_path / "bulk.jsonl"
    expected = {a.ensure_id(): a for a in _bulk(bulk, N_ARTICLES)}
    ix = tmp_path / "ix"
    t0 = time.monotonic()
    assert _start(ix, corpus, "add", str(bulk)).wait(120) == 0  # how long a whole run takes here
    full = time.monotonic() - t0
    stats = {"trials": 0, "faults": 0, "mid_batch": 0, "healed": 0, "removes": 0, "rebuilds": 0, "lost": 0}
    present = set(expected)
    for trial in range(KILL_TRIALS):
        kind = ("start", "storing", "remove", "start", "storing", "rebuild")[trial % 6]
        if kind == "remove" and present:
            victim = rng.choice(sorted(present))
            proc = _start(ix, corpus, "remove", victim)
            time.sleep(rng.uniform(0, 0.6))
            stats["removes"] += 1
        elif kind == "rebuild" and present:  # re-derives every article, one transaction each
            proc = _start(ix, corpus, "index", "--rebuild")
            time.sleep(rng.uniform(0, full))
            stats["rebuilds"] += 1
        else:
            kind = "start" if kind in ("remove", "rebuild") else kind
            if len(present) == N_ARTICLES:
                shutil.rmtree(ix)  # start over so that there is something to add
                present = set()
            proc = _start(ix, corpus, "add", str(bulk))
            if kind == "start":
                time.sleep(rng.uniform(0, full * 1.1))
            else:  # wait for the first commit, then a little longer: the window of the store loop
                while proc.poll() is None and _article_count(ix) <= len(present):
                    time.sleep(0.002)
                time.sleep(rng.uniform(0, 0.1))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            stats["faults"] += 1
        rc = proc.wait(60)
        assert rc in (0, -signal.SIGKILL), proc.stderr.read()
        proc.stderr.close()
        rc, out, err = cli(ix, "verify", corpus=corpus)
        assert rc == 0, f"trial {trial} ({kind}): verify after the kill: {out}{err}"
        stats["healed"] += "interrupted write" in err
        ds = DocSearch(settings_for(ix, corpus_dir=corpus))
        now = set()
        for aid, art in expected.items():
            row = ds.article(aid)
            if row is None:
                assert not ds.store.article_passages(aid)
                stats["lost"] += aid in present and kind != "remove"  # (a rebuild must keep them all)
                continue
            assert ds.article_text(aid) == art.text and row.title == art.title and row.passages == 5
            now.add(aid)
        if kind in ("start", "storing") and 0 < len(now - present) < N_ARTICLES - len(present):
            stats["mid_batch"] += 1
        assert ds.search("近岸外包项目", k=3).results or not now
        trashed = {row.id for row, _ in ds.trash()}   # a removed article waits in the trash, whole
        assert trashed <= set(expected) and not trashed & now
        ds.close()
        if trashed:  # emptied, so that the next add can bring it in again
            assert cli(ix, "trash", "--empty", corpus=corpus)[0] == 0
        present = now
        stats["trials"] += 1
    rc, out, err = cli(ix, "add", str(bulk), corpus=corpus)  # a last run completes the set
    assert rc == 0 and "Traceback" not in err
    ds = DocSearch(settings_for(ix, corpus_dir=corpus))
    assert {a.id for a in ds.articles()} == set(expected) and ds.verify() == []
    ds.close()
    print(f"\nkill test: {json.dumps(stats)}; full run {full:.2f}s")
    assert stats["lost"] == 0 and stats["faults"] >= KILL_TRIALS // 2 and stats["mid_batch"] > 0
