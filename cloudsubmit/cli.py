"""The ``cloudsubmit`` command. Thin: parse, call the library, print, translate errors.

Each sub-command lives in ``cloudsubmit/commands/<module>.py`` with ``register(subparsers)``; the
modules are listed here so ``--help`` shows them all and so each can be owned separately."""
from __future__ import annotations

import argparse
import difflib
import importlib
import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence

from .errors import EXIT_BAD_INPUT, EXIT_FAILED, CloudSubmitError

COMMAND_MODULES = (
    "cloudsubmit.commands.config",
    "cloudsubmit.commands.scan",
    "cloudsubmit.commands.store",
    "cloudsubmit.commands.transfer",
    "cloudsubmit.commands.jobs",
    "cloudsubmit.commands.presets",
    "cloudsubmit.commands.demo",
    "cloudsubmit.commands.doctor",
    "cloudsubmit.commands.pool",
    "cloudsubmit.commands.panel",
)


class UsageError(CloudSubmitError):
    """Bad command-line usage (a typo'd flag, a missing argument): exit 2."""

    exit_code = EXIT_BAD_INPUT


class _Parser(argparse.ArgumentParser):
    """Bad usage is one line naming the problem and where help is, exit 2 (argparse prints two).
    The error is raised, not printed here, so ``main`` can honour ``--json``."""

    def error(self, message: str) -> "None":  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message} (see: {self.prog} --help)")


def _layer_flags(parser: argparse.ArgumentParser, dest_prefix: str = "") -> None:
    """``--config`` and ``--set`` before or after the sub-command (``cloudsubmit submit --set ...``)."""
    parser.add_argument("--config", metavar="FILE", dest=f"{dest_prefix}config",
                        default=None if not dest_prefix else argparse.SUPPRESS,
                        help="studio config file (default: $CLOUDSUBMIT_CONFIG)")
    parser.add_argument(
        "--set", metavar="KEY=VALUE", action="append", dest=f"{dest_prefix}overrides",
        default=[] if not dest_prefix else argparse.SUPPRESS,
        help="override one setting, e.g. --set jobs.chunk=10 (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="cloudsubmit", description="Send only what a scene needs to the cloud and render it there.")
    parser.add_argument("--version", action="version", version=f"cloudsubmit {__version__}")
    _layer_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for child in set(sub.choices.values()):
        _add_layer_flags_below(child)
    return parser


def _add_layer_flags_below(parser: argparse.ArgumentParser) -> None:
    """Every sub-command (and ``index verify`` below ``index``) takes ``--config``/``--set`` too,
    under their own names so they add to the top-level ones rather than replace them."""
    if "--set" not in parser._option_string_actions:
        _layer_flags(parser, "sub_")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                _add_layer_flags_below(child)


def load_cli_config(args: argparse.Namespace):
    """The layered config for this invocation (``--config`` and ``--set`` on top; given after the
    sub-command they win over the same flags given before it)."""
    from .config import load_config, parse_override

    items = list(getattr(args, "overrides", []) or []) + list(getattr(args, "sub_overrides", []) or [])
    overrides = dict(parse_override(item) for item in items)
    studio = getattr(args, "sub_config", None) or getattr(args, "config", None)
    return load_config(studio_file=studio, overrides=overrides)


def _subparser(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.ArgumentParser:
    """The deepest sub-command parser ``argv`` names (``index verify``), else ``parser``."""
    current = parser
    for word in argv:
        subs = [a for a in current._actions if isinstance(a, argparse._SubParsersAction)]
        if subs and word in subs[0].choices:
            current = subs[0].choices[word]
    return current


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """``parse_args`` whose "unrecognized arguments" error names the sub-command, suggests the
    nearest flag it has and points to that sub-command's ``--help``."""
    args, extra = parser.parse_known_args(argv)
    if not extra:
        return args
    owner = _subparser(parser, argv)
    flags = [f for f in owner._option_string_actions if f.startswith("--")]
    first = extra[0].split("=", 1)[0]
    close = difflib.get_close_matches(first, flags, n=1, cutoff=0.6) if first.startswith("-") else []
    hint = f" (did you mean {close[0]}?)" if close else ""
    word = "argument" if len(extra) == 1 else "arguments"
    raise UsageError(f"{owner.prog}: error: unrecognized {word}: {' '.join(extra)}{hint} "
                     f"(see: {owner.prog} --help)")


def _report(exc: CloudSubmitError, as_json: bool, prefix: str = "cloudsubmit: error: ") -> int:
    """One line on stderr; under ``--json`` also one JSON object on stdout, so a script reading
    stdout always gets a document."""
    text = exc.message if isinstance(exc, UsageError) else prefix + exc.message
    print(text, file=sys.stderr)
    if as_json:
        doc: Dict[str, Any] = exc.to_dict()
        doc["error"] = text if isinstance(exc, UsageError) else exc.message
        try:
            sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
        except UnicodeEncodeError:
            sys.stdout.write(json.dumps(doc) + "\n")
    return exc.exit_code


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    parser = build_parser()
    try:
        args = _parse(parser, argv)
    except UsageError as exc:
        return _report(exc, as_json)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    as_json = bool(getattr(args, "json", False))
    try:
        return int(args.func(args) or 0)
    except CloudSubmitError as exc:
        return _report(exc, as_json)
    except KeyboardInterrupt:
        print("cloudsubmit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not a user mistake: one line, traceback on request
        if os.environ.get("CLOUDSUBMIT_DEBUG"):
            raise
        return _report(CloudSubmitError(f"{type(exc).__name__}: {exc} (set CLOUDSUBMIT_DEBUG=1 for details)"),
                       as_json, "cloudsubmit: internal error: ")
