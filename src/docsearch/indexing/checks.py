"""`verify` and `repair`: every disagreement between articles, passages, keyword index and
vectors; and the rebuild of what is derived, from the stored article text and metadata, which
repair never changes or drops."""
from __future__ import annotations

from docsearch.errors import BackendError, IndexCorrupt
from docsearch.indexing.corpus import rebuild_keyword_index, rederive
from docsearch.indexing.library import PENDING_KEY, Library


def verify(lib: Library) -> list[str]:
    """Every problem found, one line each (empty: the library is consistent). Waits for a writer
    in another process, so it sees a settled library."""
    with lib.lock, lib.writer:
        if lib.store.get_meta(PENDING_KEY):  # a writer died while we waited
            lib.healed += lib.heal()
        pids = lib.store.passage_ids()
        problems = _keyword_problems(lib, pids)
        orphans = lib.store.orphan_passages()
        if orphans:
            problems.append(f"{len(orphans)} passages belong to no article")
        problems += list(_article_problems(lib).values())
        problems += _vector_problems(lib, pids)[0]
        return problems


def repair(lib: Library) -> list[str]:
    """Rebuild what is derived and damaged; returns what it fixed."""
    with lib.lock, lib.writer:
        fixed: list[str] = []
        damaged = lib.store.integrity_errors()
        if damaged:  # a damaged FTS table cannot even delete rows: rebuild it first
            rebuild_keyword_index(lib)
            fixed.append("keyword index rebuilt (" + "; ".join(damaged) + ")")
        orphans = lib.store.orphan_passages()
        if orphans:
            lib.store.delete_passages(orphans)
            fixed.append(f"dropped {len(orphans)} passages that belonged to no article")
        for aid, why in _article_problems(lib).items():
            rederive(lib, aid)
            fixed.append(f"{why}: passages derived again from its text")
        out_of_step = _keyword_problems(lib, lib.store.passage_ids())
        if out_of_step:
            rebuild_keyword_index(lib)
            fixed.append("keyword index rebuilt (" + "; ".join(out_of_step) + ")")
        problems, rebuild = _vector_problems(lib, lib.store.passage_ids())
        if rebuild:
            lib.drop_vectors()
            lib.store.set_meta("model", "")  # embed everything again with the configured model
            fixed += [f"{p}: embedding every passage again" for p in problems]
        fixed += lib.heal()
        return fixed


def _keyword_problems(lib: Library, pids: list[int]) -> list[str]:
    return list(lib.store.integrity_errors()) + lib.store.keyword_index_problems(pids)


def _article_problems(lib: Library) -> dict[str, str]:
    """Articles whose passages are missing or do not match their text, by id."""
    out: dict[str, str] = {}
    for art, text in lib.store.articles_with_text():
        passages = lib.store.article_passages(art.id)
        if not passages:
            out[art.id] = f"article {art.id} has no passages"
        elif any(text[p.start:p.end] != p.text for p in passages):
            out[art.id] = f"article {art.id}: passage offsets do not match the article text"
    return out


def _vector_problems(lib: Library, pids: list[int]) -> tuple[list[str], bool]:
    """(problems, whether the vector index must be rebuilt rather than brought in step)."""
    if not lib.backend.has_vectors():
        return (["vector file missing"] if pids else []), False
    recorded = lib.store.get_meta("model")
    if recorded != lib.settings.model:
        return [f"vectors were made by model {recorded!r}, settings use {lib.settings.model!r}"], True
    try:
        vec = lib.backend.open_vectors(int(lib.store.get_meta("model_dim") or 0) or None)
    except IndexCorrupt as exc:
        return [f"vector file unreadable ({exc.reason})"], True
    except BackendError as exc:  # e.g. a collection of another dimension
        return [f"vector file unreadable ({IndexCorrupt.unreadable_vectors(str(exc)).reason})"], True
    ids = vec.ids().tolist()
    if len(ids) != len(set(ids)):
        return [f"vectors: {len(ids) - len(set(ids))} passages have more than one vector"], True
    have, want = set(ids), set(pids)
    if have != want:
        return [f"vectors: {len(want - have)} passages without a vector, "
                f"{len(have - want)} vectors without a passage"], False
    return [], False
