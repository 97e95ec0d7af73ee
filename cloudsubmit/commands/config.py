"""``cloudsubmit config``: print the resolved settings and, per key, the layer that set it, so a
TD can see which layer won without reading code."""
from __future__ import annotations

import argparse
import json
from typing import Any, Dict, Iterator, Tuple


def register(sub) -> None:
    p = sub.add_parser("config", help="show the resolved configuration and where each setting came from")
    p.add_argument("key", nargs="?", help="one dotted key or section, e.g. jobs.place (default: everything)")
    p.add_argument("--json", action="store_true", help="print one JSON object: sources, config, origins")
    p.set_defaults(func=run)


def leaves(data: Any, prefix: str = "") -> Iterator[Tuple[str, Any]]:
    """``(dotted key, value)`` for every setting; an empty mapping is a value of its own."""
    if isinstance(data, dict) and data:
        for key in sorted(data, key=str):
            yield from leaves(data[key], f"{prefix}{key}.")
    else:
        yield prefix[:-1], data


def run(args: argparse.Namespace) -> int:
    from ..cli import load_cli_config
    from ..errors import ConfigError
    from .output import write, write_json

    cfg = load_cli_config(args)
    data: Any = cfg.snapshot()
    if args.key:
        data = cfg.get(args.key, _ABSENT)
        if data is _ABSENT:
            raise ConfigError(f"config: unknown key {args.key}")
        data = {args.key: _clean(data)}
    rows = list(leaves(data))
    origins: Dict[str, str] = {key: cfg.origin(key) for key, _v in rows}
    if args.json:
        write_json({"sources": cfg.sources, "config": data, "origins": origins}, indent=2)
        return 0
    write("# sources, lowest first: " + " < ".join(cfg.sources))
    width = max((len(k) for k, _v in rows), default=0)
    for key, value in rows:
        write(f"{key:<{width}}  {json.dumps(value, ensure_ascii=False)}  # {origins[key]}")
    return 0


_ABSENT = object()


def _clean(value: Any) -> Any:
    from ..config import without_secrets

    return without_secrets(value)
