"""The `docsearch` command line. Presentation only: all work goes through the facade
(docsearch.engine.DocSearch) and the tools; nothing imports this package."""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from typing import Callable

from docsearch.cli import library_commands, query_commands, tool_commands
from docsearch.cli.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, CLIError, error as _error, settings_from
from docsearch.cli.parser import build_parser
from docsearch.config import Settings
from docsearch.errors import DocSearchError, IngestError, QueryError

COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    **library_commands.COMMANDS, **query_commands.COMMANDS, **tool_commands.COMMANDS}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return _run(args)
    except CLIError as exc:
        _error(str(exc))
        return exc.code
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - one clear line, never a traceback
        if os.environ.get("DOCSEARCH_DEBUG"):
            raise
        if isinstance(exc, (QueryError, IngestError)):
            _error(str(exc))
            return EXIT_USAGE
        if isinstance(exc, DocSearchError):
            _error(str(exc))
            return EXIT_FAIL
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            _error("the index is busy (another docsearch is writing to it); try again in a moment")
            return EXIT_FAIL
        _error(f"{type(exc).__name__}: {exc}".splitlines()[0])
        return EXIT_FAIL


def _run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    handler: Callable[[argparse.Namespace, Settings], int] = COMMANDS[args.command]
    return handler(args, settings)
