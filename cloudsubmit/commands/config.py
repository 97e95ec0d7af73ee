"""``cloudsubmit config``: print the resolved settings and where they came from, so a TD can see
which layer won without reading code."""
from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser("config", help="show the resolved configuration and its sources")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..cli import load_cli_config

    cfg = load_cli_config(args)
    if args.json:
        print(json.dumps({"sources": cfg.sources, "config": cfg.snapshot()}, indent=2, ensure_ascii=False))
        return 0
    import yaml

    print("# sources: " + " < ".join(cfg.sources))
    print(yaml.safe_dump(cfg.snapshot(), sort_keys=True, allow_unicode=True).rstrip())
    return 0
