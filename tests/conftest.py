"""Shared fixtures. Everything is real: SQLite, FAISS, Milvus Lite, jieba, OpenCC and the offline
model. Helpers that tests import by name are in helpers.py.

Slow suites (kill trials, the scale benchmark, the browser, Milvus) carry the `slow` marker, set
here by module or by backend: `pytest -m "not slow"` is the fast run."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# First calls into OpenCC/jieba load dictionaries; a per-example deadline would only measure that.
hypothesis_settings.register_profile("docsearch", deadline=None, max_examples=100)
hypothesis_settings.load_profile("docsearch")

from docsearch.engine import DocSearch  # noqa: E402
from helpers import MILVUS_SERVER, milvus_available, milvus_settings, settings_for  # noqa: E402

SLOW_MODULES = ("ui/test_browser.py", "tools/test_scale.py")


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        path = Path(str(item.fspath)).as_posix()
        on_milvus = "milvus" in item.name.lower() or "milvus" in getattr(item, "fixturenames", ())
        if path.endswith(SLOW_MODULES) or on_milvus or "milvus_seed" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


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


@pytest.fixture()
def ix(tmp_path, seed_index_dir) -> Path:
    """A private, writable copy of the seed index folder (for the command line)."""
    d = tmp_path / "ix"
    shutil.copytree(seed_index_dir, d)
    return d


@pytest.fixture(scope="session")
def milvus_seed(tmp_path_factory):
    """The shipped corpus in a Milvus library, indexed once per session."""
    if not milvus_available():
        pytest.skip("pymilvus / milvus-lite not installed (pip install -e '.[milvus]')")
    ds = DocSearch(milvus_settings(tmp_path_factory.mktemp("milvus-seed")))
    ds.index()
    yield ds
    if MILVUS_SERVER:
        ds.drop_library()
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
