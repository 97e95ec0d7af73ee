"""OCIO config (``.ocio``) reader: the LUT files a studio config needs beside it.

A show's config on the file server is useless on a cloud node without its ``search_path``
folders (LUTs, CLFs, ICC profiles): colour transforms then fail or, worse, render silently wrong.
OCIO looks files up by name in those folders, so every file in them is listed. The config is
YAML with custom tags, so only the ``search_path`` key is read, line by line."""
from __future__ import annotations

import os
import re
from typing import List

from ..errors import ScanError
from ..paths import expand_vars, normpath, to_posix
from .attributes import split_path_list
from .model import RawRef, ReadContext, ReadResult

_KEY_RE = re.compile(r"^search_path[ \t]*:[ \t]*(.*?)[ \t]*$", re.M)
_ITEM_RE = re.compile(r"^\s+-\s*(.+?)\s*$")


def search_paths(text: str) -> List[str]:
    """Folders of ``search_path``: a string separated like a PATH variable (``:`` or ``;``, a
    drive letter kept whole) or a YAML list."""
    m = _KEY_RE.search(text)
    if not m:
        return []
    inline = m.group(1).strip().strip("\"'")
    if inline:
        return split_path_list(inline)
    out = []
    for line in text[m.end():].lstrip("\r\n").splitlines():
        item = _ITEM_RE.match(line)
        if not item:
            break
        out.append(item.group(1).strip("\"'"))
    return out


def read(path: str, ctx: ReadContext) -> ReadResult:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError as exc:
        raise ScanError(f"{path}: cannot read OCIO config ({exc.strerror or exc})") from None
    if "ocio_profile_version" not in text:
        raise ScanError(f"{path}: not an OCIO config (no ocio_profile_version)")
    base = os.path.dirname(path)
    result = ReadResult()
    for entry in search_paths(text):
        folder = normpath(expand_vars(entry, ctx.env), base)
        if not os.path.isdir(folder):
            result.warnings.append(f"{path}: search_path folder {folder} does not exist")
            continue
        for root, _dirs, files in os.walk(folder):
            for name in sorted(files):
                result.refs.append(RawRef(value=to_posix(os.path.join(root, name)), source=f"{os.path.basename(path)}:search_path",
                                          kind="ocio"))
    return result
