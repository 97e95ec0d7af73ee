"""How Maya decides what a referenced file contributes, as data both Maya readers and the scanner
share: which references are loaded, and which of a referenced file's values reference edits replace.

Maya writes every reference of a ``.ma`` as ``file -r ... -dr 1 ...``: on that line ``-dr 1`` only
defers the load until the file is read. Whether a reference is loaded is on its ``file -rdi N``
line, the reference-depth table at the top of the file, where ``-dr 1`` means unloaded. The table
lists nested references too, depth first, each child after its parent, named
``"<parent namespace>:<child>RN"`` (``-rfn "bedroom:binRN"``), so the referencing scene's table
decides the state of references inside referenced files, whatever those files say themselves.

Reference edits (``setAttr`` of a node inside a reference, stored in the reference node's ``.ed``)
name the node with the reference's namespace (``char:skin_file``). The edited value is what
renders, so the referenced file's own value for that plug is not a dependency."""
from __future__ import annotations

from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from .model import LoadState, RawRef

ROOT_NAMESPACES = ("", ":")


def local_name(name: str) -> str:
    """A node name without its DAG path and namespaces: ``|set:geo|set:lamp:body`` -> ``body``."""
    return name.rsplit("|", 1)[-1].rsplit(":", 1)[-1]


def load_states(entries: Iterable[Tuple[int, str, bool]]) -> Dict[str, LoadState]:
    """The tree of ``file -rdi`` lines, given in file order as (depth, reference node, unloaded).

    A line whose depth does not follow from the previous ones (a hand-edited table) is skipped,
    so a bad line can only leave a reference loaded, which scans more, never less."""
    top: Dict[str, LoadState] = {}
    stack: List[Dict[str, LoadState]] = [top]
    for depth, rfn, unloaded in entries:
        if depth < 1 or depth > len(stack) or not rfn:
            continue
        del stack[depth:]
        state = stack[-1].setdefault(local_name(rfn), LoadState(unloaded=unloaded))
        stack.append(state.nested)
    return top


def edited_plugs(namespace: str, edits: Sequence[Tuple[str, str]]) -> FrozenSet[str]:
    """The ``node.attr`` names, as the referenced file writes them, that edits made through a
    reference with this namespace re-point. ``edits``: (node as the edit names it, attribute).
    References merged into the root namespace are left alone: their edits name no namespace, so
    which file a node is in cannot be told, and listing both values only costs an upload."""
    if namespace in ROOT_NAMESPACES:
        return frozenset()
    prefix = namespace.strip(":") + ":"
    out = set()
    for node, attr in edits:
        name = node.rsplit("|", 1)[-1].lstrip(":")
        if name.startswith(prefix) and len(name) > len(prefix):
            out.add(f"{name[len(prefix):]}.{attr}")
    return frozenset(out)


def reference_node(ref: RawRef) -> str:
    """The reference node a Maya reader's reference ``RawRef`` came from (``charRN``)."""
    return ref.source.split(".", 1)[0]


def inherit(child_refs: List[RawRef], via: Optional[RawRef]) -> List[RawRef]:
    """A referenced file's refs as the referencing scene sees them: plugs its reference edits
    re-point are dropped, and its references take the referencing scene's load states (and pass
    the edits and states meant for deeper files on, namespace by namespace)."""
    if via is None or (not via.nested and not via.overridden):
        return child_refs
    kept = [r for r in child_refs if r.source not in via.overridden]
    for ref in kept:
        if ref.kind != "reference" or ref.node_type != "reference":
            continue
        state = (via.nested or {}).get(local_name(reference_node(ref)))
        if state is not None:
            ref.deferred = state.unloaded
            ref.nested = {**(ref.nested or {}), **state.nested} or None
        if ref.namespace not in ROOT_NAMESPACES:
            prefix = ref.namespace.strip(":") + ":"
            ref.overridden = ref.overridden | {p[len(prefix):] for p in via.overridden if p.startswith(prefix)}
    return kept


def view_key(ref: RawRef) -> str:
    """What makes two visits of one referenced file differ (its load states and edits): a file
    is read again only when it is reached with a different view, so a nested reference unloaded
    under one instance and loaded under another is still scanned."""
    if not ref.nested and not ref.overridden:
        return ""
    return repr((sorted((ref.nested or {}).items()), sorted(ref.overridden)))
