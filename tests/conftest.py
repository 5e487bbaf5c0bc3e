"""Shared fixtures. Everything is real: SQLite, FAISS, jieba, OpenCC and the offline model."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# First calls into OpenCC/jieba load dictionaries; a per-example deadline would only measure that.
hypothesis_settings.register_profile("docsearch", deadline=None, max_examples=100)
hypothesis_settings.load_profile("docsearch")

from docsearch.config import Settings
from docsearch.engine import DocSearch

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
SHARED = REPO.parent / "shared"
BENCH = SHARED / "bench"


def settings_for(index_dir: Path, **kw) -> Settings:
    return Settings(index_dir=index_dir, corpus_dir=kw.pop("corpus_dir", CORPUS), **kw)


@pytest.fixture(scope="session")
def seed_index_dir(tmp_path_factory) -> Path:
    """The shipped corpus, indexed once per test session (read-only for tests)."""
    d = tmp_path_factory.mktemp("seed-index")
    ds = DocSearch(settings_for(d))
    ds.index()
    ds.close()
    return d


@pytest.fixture(scope="session")
def seed(seed_index_dir) -> DocSearch:
    return DocSearch(settings_for(seed_index_dir))


@pytest.fixture()
def fresh(tmp_path, seed_index_dir) -> DocSearch:
    """A private, writable copy of the seed index."""
    d = tmp_path / "index"
    shutil.copytree(seed_index_dir, d)
    ds = DocSearch(settings_for(d))
    yield ds
    ds.close()


def needs_bench():
    return pytest.mark.skipif(not (BENCH / "seed_dev_qa.jsonl").exists(),
                              reason="../shared/bench is not beside the repo")


def run_cli(index_dir, *args, stdin=None, corpus=CORPUS, env=None, timeout=600):
    """The installed command line, as a user runs it: (exit code, stdout, stderr)."""
    cmd = [sys.executable, "-m", "docsearch.cli", "--index-dir", str(index_dir), "--corpus-dir", str(corpus), *args]
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout, cwd=REPO,
                       env={**os.environ, **(env or {})})
    return p.returncode, p.stdout, p.stderr


@pytest.fixture()
def ix(tmp_path, seed_index_dir) -> Path:
    """A private, writable copy of the seed index folder (for the command line)."""
    d = tmp_path / "ix"
    shutil.copytree(seed_index_dir, d)
    return d


# -- backends ---------------------------------------------------------------------------------
# Backend-facing tests run on the embedded engine and on Milvus: Milvus Lite in a temp folder, or
# the server named by DOCSEARCH_MILVUS_URI (each session then uses collections of its own).
MILVUS_SERVER = os.environ.get("DOCSEARCH_MILVUS_URI", "")


def milvus_available() -> bool:
    try:
        import pymilvus  # noqa: F401
        if not MILVUS_SERVER:
            import milvus_lite  # noqa: F401
    except ImportError:
        return False
    return True


needs_milvus = pytest.mark.skipif(not milvus_available(), reason="pymilvus / milvus-lite not installed "
                                  "(pip install -e '.[milvus]')")


def milvus_settings(index_dir: Path, prefix: str = "", **kw) -> Settings:
    """Settings for a Milvus library: the test server if one is named, else Milvus Lite in index_dir."""
    prefix = prefix or f"docsearch_test_{uuid.uuid4().hex[:8]}"
    return settings_for(index_dir, backend="milvus", milvus_uri=MILVUS_SERVER,
                        milvus_collection=prefix, milvus_token=os.environ.get("DOCSEARCH_MILVUS_TOKEN", ""), **kw)


@pytest.fixture(scope="session")
def milvus_seed(tmp_path_factory):
    """The shipped corpus in a Milvus library, indexed once per session."""
    if not milvus_available():
        pytest.skip("pymilvus / milvus-lite not installed (pip install -e '.[milvus]')")
    ds = DocSearch(milvus_settings(tmp_path_factory.mktemp("milvus-seed")))
    ds.index()
    yield ds
    if MILVUS_SERVER:
        ds.backend.drop_library()
    ds.close()


@pytest.fixture(params=["embedded", "milvus"])
def library(request, tmp_path, seed_index_dir) -> DocSearch:
    """The seed library on each backend, writable: tests that change it undo their changes
    (the Milvus one is shared by the session, so it stays fast)."""
    if request.param == "embedded":
        d = tmp_path / "index"
        shutil.copytree(seed_index_dir, d)
        ds = DocSearch(settings_for(d))
        yield ds
        ds.close()
        return
    yield request.getfixturevalue("milvus_seed")
