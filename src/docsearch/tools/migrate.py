"""Copy a library between backends (embedded <-> Milvus), losslessly and idempotently.

Every article keeps its id, metadata (title, source, date, url, script, original file, origin,
time added, extra fields) and full text; passages, keyword fields and vectors are derived again
on the target by the same code, so the target answers exactly as a library built there would.
An article already on the target with the same content is skipped, so a re-run copies nothing
twice; one with the same id but other content is reported and left alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from docsearch.config import Settings
from docsearch.engine import DocSearch, ProgressFactory
from docsearch.ingest import Article

# Articles embedded and stored per round: bounds memory on a large library.
BATCH = 200


@dataclass
class MigrateReport:
    copied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[tuple[str, str]] = field(default_factory=list)   # (article id or title, why)
    problems: list[str] = field(default_factory=list)                # verify on the target


def endpoints(settings: Settings, to: str) -> tuple[Settings, Settings]:
    """(source, target) settings: the source is the library on the other backend, found with the
    same options (the index folder for embedded, the Milvus URI / collection for Milvus)."""
    source = "milvus" if to == "embedded" else "embedded"
    return replace(settings, backend=source), replace(settings, backend=to)


def migrate(source: DocSearch, target: DocSearch, progress: ProgressFactory | None = None) -> MigrateReport:
    report = MigrateReport()
    rows = source.articles()
    bar = (progress or source.progress)(len(rows), "copying")
    for i in range(0, len(rows), BATCH):
        todo: dict[str, list[Article]] = {}
        times: dict[str, str] = {}
        for row in rows[i:i + BATCH]:
            have = target.article(row.id)
            if have is not None:
                if have.content_hash == row.content_hash:
                    report.unchanged.append(row.id)
                else:
                    report.conflicts.append((row.id, "the target has another article with this id"))
                continue
            text = source.article_text(row.id) or ""
            todo.setdefault(row.origin, []).append(Article(
                title=row.title, text=text, id=row.id, source=row.source, date=row.date, url=row.url,
                script=row.script, original_file=row.original_file, extra=dict(row.extra)))
            times[row.id] = row.added_at
        for origin, arts in todo.items():
            added = target.add_articles(arts, origin=origin, added_at=times)
            report.copied.extend(added.added)
            report.conflicts.extend((what, f"the target holds the same content as article {dup}")
                                    for what, dup in added.duplicates)
            report.conflicts.extend((r.what, r.reason) for r in added.refused)
        bar.update(len(rows[i:i + BATCH]))
    bar.close()
    synced = source.store.get_meta("corpus_synced")
    if synced and target.store.get_meta("corpus_synced") is None:
        # The corpus folder was synced into the source: the copy must not re-import it on first use.
        target.store.set_meta("corpus_synced", synced)
    target.sync_vectors()
    report.problems = target.verify()
    return report
