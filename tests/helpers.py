"""Shared test helpers (paths, settings, the CLI as a user runs it, backend availability).
Fixtures live in conftest.py; tests import these by name: `from helpers import ...`."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from docsearch.config import Settings

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
SHARED = REPO.parent / "shared"
BENCH = SHARED / "bench"
DATA = Path(__file__).resolve().parent / "data"


def settings_for(index_dir: Path, **kw) -> Settings:
    return Settings(index_dir=index_dir, corpus_dir=kw.pop("corpus_dir", CORPUS), **kw)


def needs_bench():
    return pytest.mark.skipif(not (BENCH / "seed_dev_qa.jsonl").exists(),
                              reason="../shared/bench is not beside the repo")


def run_cli(index_dir, *args, stdin=None, corpus=CORPUS, env=None, timeout=600):
    """The installed command line, as a user runs it: (exit code, stdout, stderr)."""
    cmd = [sys.executable, "-m", "docsearch.cli", "--index-dir", str(index_dir), "--corpus-dir", str(corpus), *args]
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout, cwd=REPO,
                       env={**os.environ, **(env or {})})
    return p.returncode, p.stdout, p.stderr


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


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with a text layer (Helvetica, ASCII), written by hand."""
    content = "BT /F1 12 Tf 72 720 Td " + " ".join(f"({t}) Tj 0 -16 Td" for t in lines) + " ET"
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            "/Resources << /Font << /F1 5 0 R >> >> >>",
            f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = "%PDF-1.4\n", []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{o}\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n" + "".join(f"{o:010d} 00000 n \n" for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return out.encode("latin-1")


def block_import(monkeypatch, module: str) -> None:
    """Make `import module` (and its submodules) fail for the rest of the test, as on a machine
    without the package."""
    import builtins

    real_import = builtins.__import__

    def guarded(name, *args, **kwargs):
        if name == module or name.startswith(module + "."):
            raise ImportError(f"No module named '{module}'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", guarded)
