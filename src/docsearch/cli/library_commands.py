"""Commands that build, change and check the library: index, add, export, remove, list, show,
verify, repair, migrate, editor-password."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from docsearch.cli.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, CLIError, engine, healed_notes, print_json
from docsearch.config import Settings
from docsearch.storage.factory import describe_location
from docsearch.tools import migrate


# -- commands -----------------------------------------------------------------------------
def _cmd_index(args, settings: Settings) -> int:
    ds = engine(settings, ready=False)
    stats = ds.index(rebuild=args.rebuild)
    n = len(ds.articles())
    print(f"index {settings.index_dir}: {n} articles, {ds.store.passage_count()} passages "
          f"(corpus: {stats['added']} added, {stats['updated']} updated, {stats['removed']} removed, "
          f"{stats['unchanged']} unchanged" + (f"; {stats['rederived']} re-derived" if args.rebuild else "") + ")")
    return EXIT_OK


def _cmd_add(args, settings: Settings) -> int:
    ds = engine(settings)
    overrides = {k: getattr(args, k) for k in ("title", "source", "date", "url")}
    report = ds.add_paths((Path(p) for p in args.paths), overrides)
    if args.json:
        added = []
        for aid in report.added:
            art = ds.article(aid)
            added.append({"article_id": aid, "title": art.title if art else "", "file": report.files.get(aid, ""),
                          "encoding": report.encodings.get(aid, ""), "script": art.script if art else ""})
        print_json({"added": added,
                     "duplicates": [{"what": w, "article_id": a} for w, a in report.duplicates],
                     "refused": [{"what": r.what, "reason": r.reason, "code": r.code} for r in report.refused]})
    else:
        for aid in report.added:
            art = ds.article(aid)
            enc = report.encodings.get(aid)
            print(f"added {aid}\t{art.title if art else ''}" + (f"\t(encoding {enc})" if enc else ""))
        for what, existing in report.duplicates:
            print(f"unchanged: {what} is already in the library as {existing}; nothing added")
    for what, reason, _ in report.refused:
        print(f"docsearch: refused: {reason}" if reason.startswith(what) else f"docsearch: refused: {what}: {reason}",
              file=sys.stderr)
    if len(args.paths) > 1 and not args.json:
        refused = "".join(f"; refused: {r.what}" for r in report.refused)
        print(f"summary: {len(report.added)} added, {len(report.duplicates)} already in the library, "
              f"{len(report.refused)} refused{refused}")
    if report.refused and not report.added and not report.duplicates:
        return EXIT_USAGE
    return EXIT_FAIL if report.refused else EXIT_OK


def _cmd_export(args, settings: Settings) -> int:
    ds = engine(settings)
    if not args.output:
        n = _write_jsonl(ds.export(), sys.stdout)
    else:
        # Written beside the target and renamed, so an interrupted export never leaves half a file.
        target = Path(args.output)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                n = _write_jsonl(ds.export(), fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            raise CLIError(f"cannot write {target}: {exc.strerror or exc}", EXIT_FAIL) from exc
        finally:
            tmp.unlink(missing_ok=True)
    print(f"exported {n} articles" + (f" to {args.output}" if args.output else ""), file=sys.stderr)
    return EXIT_OK


def _write_jsonl(records, fh) -> int:
    n = 0
    for rec in records:
        fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        n += 1
    return n


def _cmd_remove(args, settings: Settings) -> int:
    ds = engine(settings)
    if not ds.remove(args.article_id):
        if any(row.id == args.article_id for row, _ in ds.trash()):
            raise CLIError(f"article {args.article_id!r} is already in the trash (`docsearch trash --empty` "
                           "deletes it for good)", EXIT_FAIL)
        raise CLIError(f"no article with id {args.article_id!r} (see `docsearch list`)", EXIT_FAIL)
    print(f"removed {args.article_id} (moved to the trash: `docsearch restore {args.article_id}` brings it back, "
          "`docsearch trash --empty` deletes it for good)")
    return EXIT_OK


def _cmd_restore(args, settings: Settings) -> int:
    ds = engine(settings)
    if not ds.restore(args.article_id):
        raise CLIError(f"no article with id {args.article_id!r} in the trash (see `docsearch trash`)", EXIT_FAIL)
    art = ds.article(args.article_id)
    print(f"restored {args.article_id}\t{art.title if art else ''}")
    return EXIT_OK


def _cmd_trash(args, settings: Settings) -> int:
    ds = engine(settings)
    if args.empty:
        n = ds.empty_trash()
        if args.json:
            print_json({"deleted": n})
        else:
            print(f"trash emptied: {n} articles deleted for good")
        return EXIT_OK
    items = ds.trash()
    if args.json:
        print_json({"articles": [{**_article_json(row), "removed_at": when} for row, when in items]})
        return EXIT_OK
    for row, when in items:
        print(f"{row.id}\t{when}\t{row.title}  ({row.source or 'no source'})")
    print(f"{len(items)} articles in the trash" + (": `docsearch restore ID` brings one back" if items else ""),
          file=sys.stderr)
    return EXIT_OK


def _article_json(a) -> dict:
    return {"id": a.id, "title": a.title, "source": a.source, "date": a.date, "url": a.url, "script": a.script,
            "original_file": a.original_file, "origin": a.origin, "added_at": a.added_at, "passages": a.passages}


def _cmd_list(args, settings: Settings) -> int:
    ds = engine(settings)
    arts = ds.articles()
    model = {"name": ds.model, "automatic": ds.model_is_automatic}
    if args.json:
        print_json({"articles": [_article_json(a) for a in arts], "model": model})
        return EXIT_OK
    for a in arts:
        print(f"{a.id}\t{a.script}\t{a.date or '-'}\t{a.passages:>4} passages\t{a.title}  ({a.source or 'no source'})")
    how = (f"chosen automatically: the encoder up to {settings.encoder_max_passages:,} passages"
           if ds.model_is_automatic else "set by --model / DOCSEARCH_MODEL")
    print(f"{len(arts)} articles; embedding model {ds.model} ({how})", file=sys.stderr)
    return EXIT_OK


def _cmd_show(args, settings: Settings) -> int:
    ds = engine(settings)
    art = ds.article(args.article_id)
    if art is None:
        raise CLIError(f"no article with id {args.article_id!r} (see `docsearch list`)", EXIT_FAIL)
    paras = ds.article_paragraphs(art.id)
    if args.json:
        print_json({**_article_json(art), "paragraphs": [{"paragraph": n, "text": t} for n, t in paras]})
        return EXIT_OK
    print(f"{art.title}\n{art.source} {art.date}".rstrip())
    for n, t in paras:
        print(f"\n¶{n}  {t}")
    return EXIT_OK


def _cmd_verify(args, settings: Settings) -> int:
    ds = engine(settings, ready=False)
    n_healed = len(ds.healed)
    problems = ds.verify()
    healed_notes(ds.healed[n_healed:])  # a writer that died while verify waited for it
    if problems:
        for p in problems:
            print(f"problem: {p}")
        print(f"verify: {len(problems)} problems in {settings.index_dir}; `docsearch repair` rebuilds "
              "what is derived from the stored articles", file=sys.stderr)
        return EXIT_FAIL
    print(f"verify: ok ({len(ds.articles())} articles, {ds.store.passage_count()} passages, "
          f"keyword index and vectors agree; format {ds.store.get_meta('format_version')}, "
          f"model {ds.model})")
    return EXIT_OK


def _cmd_repair(args, settings: Settings) -> int:
    ds = engine(settings, ready=False)
    n_before = len(ds.articles())
    fixed = ds.repair()
    for f in fixed:
        print(f"fixed: {f}")
    problems = ds.verify()
    for p in problems:
        print(f"problem: {p}")
    if problems:
        print(f"repair: {len(problems)} problems remain in {settings.index_dir}", file=sys.stderr)
        return EXIT_FAIL
    print(f"repair: {'nothing to fix' if not fixed else f'{len(fixed)} fixes'}; "
          f"{len(ds.articles())} articles (before: {n_before}), verify ok")
    return EXIT_OK


def _cmd_migrate(args, settings: Settings) -> int:
    src_settings, dst_settings = migrate.endpoints(settings, args.to)
    source = engine(src_settings, ready=False)
    if source.is_empty():
        raise CLIError(f"no library on the {src_settings.backend} backend to copy "
                       f"({_where(src_settings)})", EXIT_FAIL)
    target = engine(dst_settings, ready=False)
    report = migrate.migrate(source, target)
    for what, why in report.conflicts:
        print(f"docsearch: not copied: {what}: {why}", file=sys.stderr)
    print(f"migrate {_where(src_settings)} -> {_where(dst_settings)}: {len(report.copied)} articles copied, "
          f"{len(report.unchanged)} already there, {len(report.conflicts)} not copied")
    for p in report.problems:
        print(f"problem: {p}")
    print(f"verify on the target: {'ok' if not report.problems else f'{len(report.problems)} problems'} "
          f"({len(target.articles())} articles, {target.store.passage_count()} passages)")
    return EXIT_FAIL if report.problems or report.conflicts else EXIT_OK


def _where(settings: Settings) -> str:
    return describe_location(settings)


def _cmd_editor_password(args, settings: Settings) -> int:
    ds = engine(settings, ready=False)
    if args.clear:
        ds.set_editor_password(None)
        print("editor password removed: everyone using the app may add and remove articles")
        return EXIT_OK
    if sys.stdin.isatty():
        import getpass

        secret = getpass.getpass("new editor password: ")
        if getpass.getpass("again: ") != secret:
            raise CLIError("the two passwords differ; nothing changed")
    else:
        secret = sys.stdin.readline().rstrip("\n")
    if len(secret) < 8:
        raise CLIError("the editor password needs at least 8 characters; nothing changed")
    ds.set_editor_password(secret)
    print("editor password set: adding and removing articles in the app now needs signing in")
    return EXIT_OK


COMMANDS = {"index": _cmd_index, "add": _cmd_add, "export": _cmd_export, "remove": _cmd_remove,
            "restore": _cmd_restore, "trash": _cmd_trash, "list": _cmd_list,
            "show": _cmd_show, "verify": _cmd_verify, "repair": _cmd_repair, "migrate": _cmd_migrate,
            "editor-password": _cmd_editor_password}
