"""Writes Houdini scenes for tests the way Houdini lays them out: a cpio archive ("odc" headers,
or the HouNC/HouLC headers of .hipnc/.hiplc) holding .variables, .start, .OPfallbacks and, per
node, .init/.def/.parm/.chn records in Houdini's own text formats (compare with the real files in
../shared/real-scenes)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from cloudsubmit.scan.cpio import name_hash

Value = Union[str, float, int, Tuple[str, str]]   # ("ch", value) components are channel-driven


def odc_record(name: str, body: bytes) -> bytes:
    raw = name.encode("utf-8") + b"\0"
    head = "070707%06o%06o%06o%06o%06o%06o%06o%011o%06o%011o" % (
        0, 1, 0o100666, 0, 0, 1, 0, 1634398062, len(raw), len(body))
    return head.encode("ascii") + raw + body


def limited_record(name: str, body: bytes, magic: bytes = b"HouNC") -> bytes:
    raw = name.encode("utf-8")
    head = "10336%05x%09x%09x" % ((len(raw) + 1) ^ 0xBAD, 1634398062, len(body) ^ name_hash(raw))
    return magic + b"\x1a" + head.encode("ascii") + raw + b"\0" + body


class Quoted(str):
    """A menu token or toggle ("off", "polymesh"): Houdini always quotes those."""


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"')     # new lines stay as they are, as in real snippets


def _string(v: str) -> str:
    """As Houdini saves a string parameter: bare when it has no white space (quotes escaped, so
    `chs(\\"../x\\")` is one word), quoted when it has white space, is empty or is a menu token."""
    if isinstance(v, Quoted) or not v or any(c.isspace() for c in v) or v in ("on", "off"):
        return '"' + _escape(v) + '"'
    return _escape(v)


def _component(v: Value) -> str:
    if isinstance(v, tuple):
        return f"[ {v[0]}\t{v[1]} ] "
    if isinstance(v, (int, float)):
        return str(v)
    return _string(v)


MIME_BOUNDARY = "HOUDINIMIMEBOUNDARY0xD3ADD339-0x00000F49-0x56B122C9-0x00000001HOUDINIMIMEBOUNDARY"


def text_hip(records: List[Tuple[str, str]]) -> bytes:
    """Records in the MIME layout Houdini writes for text (tests/fixtures/real/houdini_usd/
    sidefxlabs_3d_facebook_image/Contents.mime): header, one part per record, closing delimiter."""
    out = [f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="{MIME_BOUNDARY}"\n\n']
    for name, body in records:
        out.append(f'--{MIME_BOUNDARY}\nContent-Disposition: attachment; filename="{name}"\n'
                   f"Content-Type: text/plain\n\n{body}\n")
    out.append(f"--{MIME_BOUNDARY}--\n")
    return "".join(out).encode("utf-8")


def parm_text(parms: Dict[str, Union[Value, List[Value]]]) -> str:
    lines = ["{", "version 0.8"]
    for name, value in parms.items():
        comps = value if isinstance(value, list) else [value]
        lines.append(f"{name}\t[ 0\tlocks=0 ]\t(\t" + "\t".join(_component(c) for c in comps) + "\t)")
    lines.append("}")
    return "\n".join(lines) + "\n"


def chn_text(exprs: Dict[str, str], language: str = "") -> str:
    """Channels with one expression segment each, quotes escaped as Houdini writes them."""
    out = ["{"]
    for name, expr in exprs.items():
        esc = expr.replace("\\", "\\\\").replace('"', '\\"')
        lang = f" language = {language}" if language else ""
        out += [f"    channel {name} {{", "      lefttype = extend", "      righttype = extend",
                "      flags = 0",
                f"      segment {{ options = {{\t autoslope  ai ao }}\n\n\t length = 0 expr = {esc}{lang} }}",
                "    }"]
    out.append("  }")
    return "\n".join(out) + "\n"


def def_text(bypass: bool = False, lock: bool = False, exprlang: str = "hscript") -> str:
    flags = (f"lock {'on' if lock else 'off'} model off template off footprint off xray off "
             f"bypass {'on' if bypass else 'off'} display on render on highlight off")
    return (f'comment ""\nposition 0 0\nconnectornextid 0\nflags =  {flags}\noutputsNamed3\n{{\n}}\n'
            f"inputsNamed3\n{{\n}}\ninputs\n{{\n}}\nstat\n{{\n  create 1634398062\n}}\n"
            f'color UT_Color RGB 0.8 0.8 0.8 \ndelscript ""\nexprlanguage {exprlang}\nend\n')


class HipWriter:
    """Build a scene node by node, then :meth:`write` it as .hip, .hipnc or .hiplc."""

    def __init__(self, hip: str = "/old/project/shots/sh010", job: str = "/old/project",
                 frange: Tuple[int, int] = (1001, 1100)) -> None:
        self.records: List[Tuple[str, str]] = [
            (".start", f"fplayback -i on -r off -f 1\ntcur 0\nfps 24\ntset 0 10\nframe {frange[0]}\n"
                       f"frange {frange[0]} {frange[1]}\n"),
            (".variables", f"set -g HIP = '{hip}'\nset -g HIPNAME = 'old_name'\nset -g JOB = '{job}'\n"
                           "set -g SHOT = 'sh010'\nset -g _HIP_SAVEVERSION = '19.5.605'\n"),
        ]
        self.fallbacks: List[Tuple[str, str]] = []
        self.dialogs: List[str] = []

    def node(self, path: str, node_type: str, parms: Optional[Dict] = None, chn: Optional[Dict[str, str]] = None,
             bypass: bool = False, lock: bool = False, exprlang: str = "hscript",
             chn_language: str = "") -> "HipWriter":
        name = path.lstrip("/")
        self.records.append((f"{name}.init", f"type = {node_type}\nmatchesdef = 0\n"))
        self.records.append((f"{name}.def", def_text(bypass, lock, exprlang)))
        if chn:
            self.records.append((f"{name}.chn", chn_text(chn, chn_language)))
        self.records.append((f"{name}.parm", parm_text(parms or {})))
        self.records.append((f"{name}.userdata", ""))
        return self

    def fallback(self, optype: str, *libs: str) -> "HipWriter":
        self.fallbacks += [(optype, lib) for lib in libs]
        return self

    def definition(self, op: str, parms: List[Tuple[str, str, str]]) -> "HipWriter":
        """A DialogScript for ``op`` in .OPdummydefs, as Houdini stores the definitions of library
        types a scene uses; ``parms`` are (name, type, filechooser_mode or "")."""
        blocks = []
        for name, ptype, mode in parms:
            tag = f'\n\t    parmtag\t{{ "filechooser_mode" "{mode}" }}' if mode else ""
            blocks.append(f'\tparm {{\n\t    name\t"{name}"\n\t    label\t"{name.title()}"\n\t    type\t{ptype}\n'
                          f'\t    default\t{{ "" }}\n\t    menureplace\t{{\n\t\t[ "echo x" ]\n\t    }}{tag}\n\t}}')
        self.dialogs.append(f"INDX\0\0\0\0\x01\0\0\0\x0cDialogScript\0\0\x83a_# Dialog script for {op} automatically "
                            f"generated\n\n{{\n    name\t{op}\n    script\t{op}\n    label\t{op}\n\n"
                            + "\n".join(blocks) + "\n}\n")
        return self

    def data(self, flavour: str = "hip") -> bytes:
        """The scene as ``hip`` (cpio), ``hipnc``/``hiplc``, or ``text`` (a .hip saved as text)."""
        recs = list(self.records)
        recs.insert(2, (".OPfallbacks", "".join(f"{t} {lib}\n" for t, lib in self.fallbacks)))
        recs.insert(3, (".OPdummydefs", "".join(self.dialogs)))
        if flavour == "text":
            return text_hip(recs)
        if flavour == "hip":
            return b"".join(odc_record(n, t.encode("utf-8")) for n, t in recs) + odc_record("TRAILER!!!", b"")
        magic, trailer = (b"HouNC", "NON_COMMERCIAL_FILE!!!") if flavour == "hipnc" else \
            (b"HouLC", "LIMITED_COMMERCIAL_FILE!!!")
        return b"".join(limited_record(n, t.encode("utf-8"), magic) for n, t in recs) + \
            limited_record(trailer, b"", magic)

    def write(self, path: Path, flavour: str = "") -> Path:
        path = Path(path)
        path.write_bytes(self.data(flavour or path.suffix.lstrip(".")))
        return path
