"""Maya ASCII scan throughput: generate a large production-shaped .ma and time the reader.

    python bench/bench_scan_ma.py [--mb 200] [--file-nodes 100000] [--runs 3] [--instructions] [--dir DIR] [--keep]

The scene is mostly numeric mesh data (what real .ma files are made of) with ``--file-nodes``
texture nodes spread through it, UDIM and sequence flags on some, and a reference at the top.
It is written in a temporary folder (``--dir``, else the system's temp location) and removed
afterwards. The scan runs in a fresh child process so the peak memory figure is the reader's own.

The peer, in the same run: one compiled regex visiting every statement start of the same file
(the same block reads as the reader, a Python loop over the matches and nothing else): the least
any reader that looks at each statement can do. Target: the reader >= 0.8x that peer (CPU
seconds, median of ``--runs``). Also printed: the reader's own regex pass alone (its matches
counted, no Python work per node), the bound on what any Python work per node leaves, and two
floors: the same pass plus, for each node it takes, one tuple of its groups ("tuples"), and also
one RawRef ("records": the least a reader giving one record per reference can do in Python),
and the same two plus the one findall of each taken node's body that reads its setAttr lines
("bodies", "body+record": the floor of this reader's design, whatever its Python does around them).
When the peer over a floor is below 0.8, the target is out of reach of any reader doing that much.
Also measured, the other design (``wanted``/``paired``): one findall per block of a pattern taking
only the statements that name files (createNode of a table type, its setAttrs of table names, an
empty tuple per other top-level statement so each setAttr pairs with its node by order), alone and
with the pairing loop and one RawRef per node: the C pass alone already costs more than the peer's,
because pairing by order needs a tuple per top-level statement and per body setAttr. And the
literal-anchored design (``literal``/``literalpath``): each statement kind's start found with
``bytes.find`` of its literal (each ``createNode`` at a line start read up to its type and looked up
in the reader's type table, the rarer top-level kinds only visited), one RawRef per node taken, and
also its one path read from its span: 0.78 and 0.63 of the peer in instructions (15 MB, 10,000 file
nodes) before any per-node work a reader adds: a Python-level call (a find, a slice, a lookup, a
decode) costs 1,000-3,000 instructions, the design makes two per ``createNode`` and five more per
node taken, and the peer spends about 4,000 per statement on everything. Its rare kinds' finds
cost ~17 M each (a scan of the file), and one regex for every kind after a shared ``\\n`` prefix
measured about the same (0.79 with one RawRef per node, 0.51 with its body's setAttrs as matches).

``--instructions`` counts each mode's instructions once under valgrind (callgrind) instead of
timing ``--runs`` runs: the ratios then do not move with the machine's load (use a small scene,
e.g. ``--mb 15 --file-nodes 10000``: valgrind runs some 50 times slower)."""
from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _benchlib import cost_text, figures, mode_costs, per_node_text, scene_bench_args

REPO = Path(__file__).resolve().parent.parent
TEXTURE_FOLDERS = 20


def _mesh_block(i: int, rng: random.Random, points: int) -> str:
    coords = " ".join(f"{rng.uniform(-50, 50):.6f}" for _ in range(points * 3))
    uvs = " ".join(f"{rng.random():.6f}" for _ in range(points * 2))
    wrapped = "\n\t\t ".join(coords[k:k + 120] for k in range(0, len(coords), 120))
    return (
        f'createNode transform -n "geo{i}" -p "world";\n'
        f'\trename -uid "{i:08X}-1A2B-3C4D-5E6F-7A8B9C0D1E2F";\n'
        f'createNode mesh -n "geo{i}Shape" -p "geo{i}";\n'
        f'\tsetAttr -k off ".v";\n\tsetAttr ".vir" yes;\n\tsetAttr ".vif" yes;\n'
        f'\tsetAttr ".uvst[0].uvsn" -type "string" "map1";\n'
        f'\tsetAttr -s {points} ".uvst[0].uvsp[0:{points - 1}]" -type "float2" {uvs};\n'
        f'\tsetAttr -s {points} ".vt[0:{points - 1}]"  {wrapped};\n'
        f'\tsetAttr ".cdvm[0]"  0 1 1;\n'
    )


def _file_block(i: int) -> str:
    folder = f"sourceimages/set_{i % TEXTURE_FOLDERS:02d}"
    mode = i % 10
    if mode == 0:
        extra, path = '\tsetAttr ".uvt" 3;\n', f"{folder}/asset_{i % 500}_col.1001.exr"
    elif mode == 1:
        extra, path = '\tsetAttr ".ufe" yes;\n', f"{folder}/seq_{i % 50}.0001.exr"
    else:
        extra, path = "", f"{folder}/asset_{i % 500}_rough.exr"
    return (
        f'createNode file -n "file{i}";\n\trename -uid "{i:08X}-FFFF-3C4D-5E6F-7A8B9C0D1E2F";\n'
        f'\tsetAttr ".ftn" -type "string" "{path}";\n{extra}\tsetAttr ".cs" -type "string" "ACEScg";\n'
        f'createNode place2dTexture -n "place2dTexture{i}";\n'
    )


def generate(path: Path, target_mb: int, file_nodes: int) -> None:
    """Stream the scene to disk; memory stays small whatever the size."""
    rng = random.Random(7)
    target = target_mb * 1024 * 1024
    mesh_every = 1
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("//Maya ASCII 2023 scene\n//Name: bench.ma\n//Codeset: UTF-8\n")
        fh.write('file -r -ns "set" -rfn "setRN" -typ "mayaAscii" "assets/set.ma";\nrequires maya "2023";\n')
        fh.write("currentUnit -l centimeter -a degree -t film;\n")
        mesh = _mesh_block(0, rng, 400)
        per_mesh = len(mesh)
        meshes = max(0, (target - file_nodes * len(_file_block(1))) // per_mesh)
        mesh_every = max(1, file_nodes // max(1, meshes)) if meshes else 0
        written_meshes = 0
        for i in range(file_nodes):
            fh.write(_file_block(i))
            if mesh_every and i % mesh_every == 0 and written_meshes < meshes:
                fh.write(mesh.replace('"geo0', f'"geo{i}'))
                written_meshes += 1
        while fh.tell() < target:
            fh.write(mesh.replace('"geo0', f'"geoX{written_meshes}'))
            written_meshes += 1
        fh.write('select -ne :defaultRenderGlobals;\n\tsetAttr ".ren" -type "string" "arnold";\n\tsetAttr ".fs" 1;\n\tsetAttr ".ef" 24;\n')
        fh.write("// End of bench.ma\n")


def make_textures(root: Path) -> None:
    """A few hundred small files so the full scan's disk matching has something to find."""
    for f in range(TEXTURE_FOLDERS):
        folder = root / "sourceimages" / f"set_{f:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for a in range(0, 500, 25):
            for tile in (1001, 1002):
                (folder / f"asset_{a}_col.{tile}.exr").write_bytes(b"x")
        for frame in range(1, 25):
            (folder / f"seq_{f}.{frame:04d}.exr").write_bytes(b"x")


def _count_matches(scene: str, regex) -> int:
    """``regex`` over the blocks the reader reads, each match visited by a Python loop."""
    from cloudsubmit.scan.maya_ascii import BLOCK, _blocks

    n = 0
    with open(scene, "rb") as fh:
        for block, end in _blocks(fh, BLOCK):
            for _m in regex.finditer(block, 0, end):
                n += 1
    return n


def _visit_statements(scene: str) -> int:
    """The peer: every statement start (a line beginning with a word), visited by one regex."""
    import re

    return _count_matches(scene, re.compile(rb"\n\t*[A-Za-z]\w*"))


def _reader_pass(scene: str) -> int:
    """The reader's own regex, its matches counted and nothing done with them."""
    from cloudsubmit.scan.attributes import load_table
    from cloudsubmit.scan.maya_ascii import _Scan

    return _count_matches(scene, _Scan(scene, load_table(None), "utf-8").rx.top)


def _floor(scene: str, records: bool, bodies: bool = False) -> int:
    """The reader's regex pass, and for each node it takes one tuple of its groups (and with
    ``records`` one RawRef; with ``bodies`` also the one findall of the node's body that picks
    its ``setAttr`` lines, over the same span the reader gives it): nothing else. The collector
    is paused as the reader pauses it, so a floor is not raised by collections the reader never
    runs."""
    from cloudsubmit.gc_pause import paused_gc
    from cloudsubmit.scan.attributes import load_table
    from cloudsubmit.scan.maya_ascii import BLOCK, _blocks, _Scan
    from cloudsubmit.scan.model import RawRef

    rx = _Scan(scene, load_table(None), "utf-8").rx
    top, body = rx.top, rx.body.findall
    refs = []
    with open(scene, "rb") as fh, paused_gc():
        for block, end in _blocks(fh, BLOCK):
            for m in top.finditer(block, 0, end):
                if m.lastgroup == "Node":
                    ntype, name = m.group("ctype", "cname")
                    if bodies:
                        start, stop = m.span("body")
                        body(block, start, min(stop + 1, end))
                    refs.append(RawRef(name, "", "file", ntype) if records else (ntype, name))
    return len(refs)


def _wanted_pattern(scan):
    """The other design measured: one findall per block of a pattern taking only what pairing
    each setAttr with its node by order needs (a createNode of a type the table reads, a body
    setAttr of a name it reads, an empty tuple for any other top-level statement), built from the
    same tables and pieces as the reader's own pattern. It reads less than the reader (no
    references, no connections, no select): a floor, not a reader."""
    import re

    from cloudsubmit.scan import maya_ascii, mel

    line = r";[ \t\r]*\n"
    assert maya_ascii._ANCHOR.startswith(line)
    skip = maya_ascii._ANCHOR[len(line):]
    node = (r"createNode[ \t]+(?P<ctype>{types})(?=[ \t;])(?:[ \t]+-s)?(?:[ \t]+-n[ \t]+\"(?P<cname>[^\"\n]*)\")?"
            r"[^;\n]*(?=;)")
    pattern = line + "(?:(?=\t)" + skip + "(?:" + maya_ascii._BODY + ")|(?=[^\t])" + skip + "(?:" + node + ")?)"
    words = {"types": scan.type_names, "names": {n for m in scan.attr_keys.values() for n in m}}
    fields = {k: maya_ascii._alternation(w.decode() for w in v) for k, v in words.items()}
    return re.compile(pattern.format(string=mel.STRING_PATTERN, **fields).encode())


def _paired(scene: str, records: bool) -> int:
    """The other design: the wanted findall alone (``records`` False: its tuples made in C, no
    Python per tuple), or with the loop pairing each setAttr with the node whose body holds it
    and one RawRef per node with a path (no helpers, no SceneInfo: less than a reader does)."""
    from cloudsubmit.scan.attributes import load_table
    from cloudsubmit.scan.maya_ascii import BLOCK, _blocks, _Scan
    from cloudsubmit.scan.model import RawRef

    scan = _Scan(scene, load_table(None), "utf-8")
    wanted, keys = _wanted_pattern(scan), scan.attr_keys
    count, refs, nodes = 0, [], []
    with open(scene, "rb") as fh:
        for block, end in _blocks(fh, BLOCK):
            found = wanted.findall(block, 0, end)
            count += len(found)
            if not records:
                continue
            node = None
            for owner, attr, _item, plain, raw, ntype, name in found:
                if attr:
                    if node is not None and not owner:
                        node[2][attr] = plain.decode() if plain or not raw else raw.decode()
                elif ntype:
                    node = (name.decode(), ntype, {})
                    nodes.append(node)
                else:
                    node = None
    for name, ntype, values in nodes:
        path = values.get(b"ftn")
        if path is not None:
            refs.append(RawRef(path, name + ".fileTextureName", "texture", "file", "", False, 0, None, "", False,
                               False, False, False, False))
    return len(refs) if records else count


# The statement kinds the literal-anchored floor only visits (top-level ones: a floor, not a reader).
_LITERAL_STARTS = (b"\nselect -ne ", b"\nfile -", b"\nconnectAttr ", b"\nsetAttr ")
_CREATE = b"\ncreateNode "


def _literal(scene: str, paths: bool) -> int:
    """The literal-anchored design measured: each block searched with ``bytes.find`` for each
    statement kind's literal start (no regex visiting statement starts); each ``createNode`` read up
    to its type, looked up in the reader's type table; for each node taken one RawRef with its name
    (and with ``paths`` its path: ``.ftn"`` found before the next node, its string matched). Less
    than a reader does (no one-tab statements, no helpers, no SceneInfo): a floor."""
    import re

    from cloudsubmit.gc_pause import paused_gc
    from cloudsubmit.scan.attributes import load_table
    from cloudsubmit.scan.maya_ascii import BLOCK, _blocks, _Scan
    from cloudsubmit.scan.model import RawRef

    types = _Scan(scene, load_table(None), "utf-8").type_names.get
    string = re.compile(rb'[ \t]+-type[ \t]+"string"[ \t]+"([^"\\\n]*)"').match
    refs: list = []
    with open(scene, "rb") as fh, paused_gc():
        for block, end in _blocks(fh, BLOCK):
            find = block.find
            for literal in _LITERAL_STARTS:
                i = find(literal, 0, end)
                while i >= 0:
                    i = find(literal, i + 1, end)
            i = find(_CREATE, 0, end)
            while i >= 0:
                start = i + len(_CREATE)
                i = find(_CREATE, start, end)
                stop = end if i < 0 else i
                space = find(b" ", start, stop)
                ntype = types(block[start:space])
                if ntype is None:
                    continue
                quote = find(b'"', space, stop) + 1
                name, path = block[quote:find(b'"', quote, stop)].decode(), ""
                if paths:
                    at = find(b'.ftn"', quote, stop)
                    m = string(block, at + 5) if at >= 0 else None
                    path = m.group(1).decode() if m else ""
                refs.append(RawRef(path, name + ".fileTextureName", "texture", ntype, "", False, 0, None, "", False,
                                   False, False, False, False))
    return len(refs)


def measure(scene: str, mode: str) -> dict:
    """Run in a child process: the reader alone, or the full scan_scene, with its peak RSS."""
    sys.path.insert(0, str(REPO))
    from cloudsubmit.scan import maya_ascii, scan_scene
    from cloudsubmit.scan.maya_ascii import BLOCK, _blocks  # noqa: F401 (imported before the clock starts)
    from cloudsubmit.scan.attributes import load_table
    from cloudsubmit.scan.maya_ascii import _Scan
    from cloudsubmit.scan.model import ReadContext

    # The packaged table is parsed and its regexes compiled once per process, before the clock.
    _Scan(scene, load_table(), "utf-8")
    t0, c0 = time.perf_counter(), time.process_time()
    if mode == "startup":
        found = "nothing (imports and tables only)"
    elif mode == "peer":
        found = f"{_visit_statements(scene)} statements"
    elif mode == "pass":
        found = f"{_reader_pass(scene)} matches"
    elif mode in ("tuples", "records"):
        found = f"{_floor(scene, mode == 'records')} {mode}"
    elif mode in ("bodies", "bodyrefs"):
        found = f"{_floor(scene, mode == 'bodyrefs', bodies=True)} {'records' if mode == 'bodyrefs' else 'tuples'}"
    elif mode in ("wanted", "paired"):
        found = f"{_paired(scene, mode == 'paired')} {'records' if mode == 'paired' else 'tuples'}"
    elif mode in ("literal", "literalpath"):
        found = f"{_literal(scene, mode == 'literalpath')} records"
    elif mode == "read":
        found = f"{len(maya_ascii.read(scene, ReadContext(env={})).refs)} references"
    else:
        result = scan_scene(scene, env={})
        found = f"{len(result.dependencies)} dependencies, {len(result.missing)} missing"
    return figures(Path(scene), found, t0, c0)


_MODES = (("statements", "peer"), ("regex pass", "pass"), ("tuples", "tuples"), ("records", "records"),
          ("bodies", "bodies"), ("body+record", "bodyrefs"), ("wanted", "wanted"), ("paired", "paired"),
          ("literal", "literal"), ("literal+path", "literalpath"), ("reader", "read"), ("scan_scene", "scan"))


def _report(runs: dict, cost: dict, args) -> None:
    """The figures and ratios, from ``cost`` per mode (median CPU seconds, or instructions)."""
    for label, mode in _MODES:
        r = runs[mode][-1]
        print(f"{label:<12} {cost_text(cost[mode], r, args)}, peak RSS {r['peak_rss_mb']:.0f} MB; {r['found']}")
    print(f"the reader's regex pass alone vs the peer: ratio {cost['peer'] / cost['pass']:.2f}; Python work per "
          f"reference found: {per_node_text(cost['read'] - cost['pass'], args)}")
    for label, mode in (("one match + one tuple", "tuples"), ("one match + one tuple + one RawRef", "records"),
                        ("one match + one tuple + its body's findall", "bodies"),
                        ("one match + one tuple + its body's findall + one RawRef", "bodyrefs")):
        print(f"floor, the pass + {label} per node taken, vs the peer: ratio {cost['peer'] / cost[mode]:.2f} "
              f"(the most a reader doing that much per reference reaches here)")
    for label, mode in (("its findall alone (tuples made in C)", "wanted"),
                        ("its findall + the pairing loop + one RawRef per node", "paired")):
        print(f"other design, wanted statements only, setAttrs paired with nodes by order: {label}, vs the "
              f"peer: ratio {cost['peer'] / cost[mode]:.2f}")
    for label, mode in (("one RawRef per node taken", "literal"), ("one RawRef and its path per node taken", "literalpath")):
        print(f"other design, literal-anchored (bytes.find of each statement kind's start): {label}, vs the peer: "
              f"ratio {cost['peer'] / cost[mode]:.2f} (a floor: no helpers, no SceneInfo, no one-tab statements)")
    print(f"the reader's Python work beyond the record floor: {per_node_text(cost['read'] - cost['records'], args)} per "
          f"reference; beyond the body+record floor (this design's: a node's setAttrs are read by one findall of "
          f"its body): {per_node_text(cost['read'] - cost['bodyrefs'], args)}")
    for label, mode in (("reader", "read"), ("scan_scene", "scan")):
        ratio = cost["peer"] / cost[mode]
        print(f"{label} vs one regex visiting every statement: ratio {ratio:.2f}  (target >= 0.80) "
              f"{'OK' if ratio >= 0.8 else 'BELOW'}")


def main() -> int:
    args = scene_bench_args(__doc__.splitlines()[0], "BENCH_MA")
    if args.measure:
        print(json.dumps(measure(args.measure, args.mode)))
        return 0
    work = Path(tempfile.mkdtemp(prefix="cloudsubmit-bench-", dir=args.dir))
    try:
        scene = work / "scenes" / "bench.ma"
        scene.parent.mkdir(parents=True)
        (work / "workspace.mel").write_text('workspace -fr "sourceImages" "sourceimages";\n', encoding="utf-8")
        t0 = time.perf_counter()
        generate(scene, args.mb, args.file_nodes)
        make_textures(work)
        print(f"generated {scene} ({os.path.getsize(scene) / 1e6:.0f} MB, {args.file_nodes} file nodes) in {time.perf_counter() - t0:.1f} s")
        _report(*mode_costs(__file__, scene, [mode for _, mode in _MODES], args), args)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
