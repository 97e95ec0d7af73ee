"""The ``cloudsubmit`` command. Thin: parse, call the library, print, translate errors.

Each sub-command lives in ``cloudsubmit/commands/<module>.py`` with ``register(subparsers)``; the
modules are listed here so ``--help`` shows them all and so each can be owned separately."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import List, Optional

from .errors import EXIT_BAD_INPUT, EXIT_FAILED, CloudSubmitError

COMMAND_MODULES = (
    "cloudsubmit.commands.config",
    "cloudsubmit.commands.scan",
    "cloudsubmit.commands.store",
    "cloudsubmit.commands.transfer",
    "cloudsubmit.commands.jobs",
    "cloudsubmit.commands.demo",
    "cloudsubmit.commands.doctor",
    "cloudsubmit.commands.pool",
    "cloudsubmit.commands.panel",
)


class _Parser(argparse.ArgumentParser):
    """Bad usage is one line naming the problem and where help is, exit 2 (argparse prints two)."""

    def error(self, message: str) -> "None":  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cloudsubmit", description="Send only what a scene needs to the cloud and render it there.")
    parser.add_argument("--config", metavar="FILE", help="studio config file (default: $CLOUDSUBMIT_CONFIG)")
    parser.add_argument(
        "--set", metavar="KEY=VALUE", action="append", default=[], dest="overrides",
        help="override one setting, e.g. --set jobs.chunk=10 (repeatable)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def load_cli_config(args: argparse.Namespace):
    """The layered config for this invocation (``--config`` and ``--set`` on top)."""
    from .config import load_config, parse_override

    overrides = dict(parse_override(item) for item in getattr(args, "overrides", []) or [])
    return load_config(studio_file=getattr(args, "config", None), overrides=overrides)


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(args.func(args) or 0)
    except CloudSubmitError as exc:
        print(f"cloudsubmit: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("cloudsubmit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not a user mistake: one line, traceback on request
        if os.environ.get("CLOUDSUBMIT_DEBUG"):
            raise
        print(f"cloudsubmit: internal error: {type(exc).__name__}: {exc} (set CLOUDSUBMIT_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_FAILED
