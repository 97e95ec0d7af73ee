"""``cloudsubmit presets``: the submit presets this user can choose (the show's from
``jobs.presets`` and their own saved from the panel), as ``submit --preset NAME`` takes them."""
from __future__ import annotations

import argparse
import sys

from .output import emit


def register(sub) -> None:
    p = sub.add_parser("presets", help="list the submit presets (the show's and your own) for submit --preset",
                       description="List the named submit presets: the show's (jobs.presets in the studio config) "
                                   "and your own (saved from the panel into <user config dir>/presets/NAME.yaml, "
                                   "which win over a show preset of the same name).")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Every usable preset, then one line per bad preset file on stderr (exit 2 when there is one)."""
    from ..cli import load_cli_config
    from ..presets import load_presets, user_presets_dir

    table = load_presets(load_cli_config(args))
    presets = [table.presets[n] for n in table.names()]
    problems = [exc.message for _name, exc in sorted(table.problems.items())]
    width = max([len(p.name) for p in presets] + [4])
    lines = [f"{'NAME':<{width}}  {'FROM':<6}  SETTINGS"]
    lines += [f"{p.name:<{width}}  {p.scope:<6}  {p.summary()}" for p in presets]
    if not presets:
        lines = [f"no presets yet: save one from the panel (into {user_presets_dir()}), or ship them in jobs.presets"]
    emit(args.json, {"presets": [p.to_dict() for p in presets], "problems": problems}, "\n".join(lines))
    for line in problems:
        print(f"cloudsubmit: error: {line}", file=sys.stderr)
    return 2 if problems else 0
