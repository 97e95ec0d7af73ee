"""The one place where values become HTCondor text: submit descriptions (``.sub``) and DAG files.

Every value written into a ``.sub`` or ``.dag`` goes through one of the functions here, each for
one context, because each context has its own rules:

- submit values (``initialdir = ...``): the rest of the line, so a newline would inject a command
  and a trailing backslash would continue the line onto the next one;
  ``$(`` and ``$NAME(`` are macros, ``$$(`` is a match-time substitution. A literal ``$`` before
  one of those is written ``$(DOLLAR)`` (HTCondor manual, "Macros"). ``$F4``/``$HIP`` pass
  through untouched, as condor_submit leaves them alone.
- new-style ``arguments``/``environment``: whole value in double quotes, ``""`` for a literal
  ``"``, single quotes group an argument with whitespace, ``''`` inside them for a literal ``'``.
- ClassAd strings for ``MY.attr``: ``"..."`` with ``\\"`` and ``\\\\``.
- DAG ``VARS name="value"``: ``\\"`` and ``\\\\`` escapes; the value becomes a submit macro, so the
  submit-value rules apply as well.
- DAG node names: letters, digits, ``_`` and ``-`` only (``+`` breaks DAGMan, ``.`` is confusing).
- DAG ``SCRIPT`` arguments and file names on DAG lines: split on whitespace with no quoting.

What cannot be represented (newlines, ``$$``, a literal ``$(DOLLAR``) is refused with one line
naming the value, never written approximately. The inverse functions (``split_arguments``,
``split_environment``, ``unescape_vars_value``) let the local runner execute exactly what HTCondor
would, and let tests prove the round trip."""
from __future__ import annotations

import re
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence

from ..errors import SubmitError

#: Refused in every value: C0 controls but tab, DEL, C1 controls (U+0085 NEL among them) and the
#: Unicode line/paragraph separators. HTCondor itself splits only on ``\n``, but Python's
#: ``str.splitlines`` (and editors, and other readers of these files) also break at ``\r \v \f
#: \x1c-\x1e \x85 \u2028 \u2029``; refusing them all means no reader can see a second line.
_CONTROL_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
#: What condor_submit strips around keys, values and lines (C ``isspace``).
_C_SPACE = " \t\n\v\f\r"
_MACRO_DOLLAR_RE = re.compile(r"\$(?=\(|[A-Za-z_][A-Za-z0-9_]*\()")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # names: fullmatch (no trailing newline)
_NODE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_WS_RE = re.compile(r"\s")
_RESERVED_NODES = {"ALL_NODES", "PARENT", "CHILD"}


def _show(value: str, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def check_line(value: str, what: str) -> str:
    """``value`` as one line of text, or :class:`SubmitError` naming it: the one check every value
    bound for a ``.sub`` or ``.dag`` passes. Any character some reader treats as a line break
    (see ``_CONTROL_RE``) would let a scene path or job name inject commands."""
    if not isinstance(value, str):
        raise SubmitError(f"{what}: expected text, got {type(value).__name__} {value!r}", exit_code=2)
    bad = _CONTROL_RE.search(value)
    if bad:
        raise SubmitError(f"{what}: {_show(value)} contains a control character ({bad.group()!r}); "
                          "it cannot be written into an HTCondor file", exit_code=2)
    return value


def escape_macros(value: str, what: str) -> str:
    """Make ``$(``-style macros literal with ``$(DOLLAR)``; refuse the two forms HTCondor cannot
    represent literally (``$$`` is a match-time substitution; ``$(DOLLAR`` would be re-expanded)."""
    if "$$" in value:
        raise SubmitError(f"{what}: {_show(value)} contains '$$', which HTCondor reads as a "
                          "match-time substitution and cannot be written literally", exit_code=2)
    if "$(dollar" in value.lower():
        raise SubmitError(f"{what}: {_show(value)} contains '$(DOLLAR', which HTCondor cannot "
                          "write literally", exit_code=2)
    return _MACRO_DOLLAR_RE.sub("$(DOLLAR)", value)


def submit_value(value: str, what: str) -> str:
    """A plain submit-file value (``executable``, ``initialdir``, ``log``...): one line, no
    surrounding whitespace (condor_submit would strip it), macros made literal."""
    check_line(value, what)
    if value != value.strip():
        raise SubmitError(f"{what}: {_show(value)} starts or ends with whitespace, which HTCondor "
                          "strips from submit values", exit_code=2)
    if not value:
        raise SubmitError(f"{what}: empty value", exit_code=2)
    if value.endswith("\\"):
        raise SubmitError(f"{what}: {_show(value)} ends with a backslash, which continues a "
                          "submit line onto the next one", exit_code=2)
    return escape_macros(value, what)


def submit_list_item(value: str, what: str) -> str:
    """One item of a comma-separated submit list (``transfer_input_files``)."""
    if "," in value:
        raise SubmitError(f"{what}: {_show(value)} contains ',', which separates items in an "
                          "HTCondor file list", exit_code=2)
    return submit_value(value, what)


def _token(arg: str) -> str:
    if arg and not _WS_RE.search(arg) and "'" not in arg and '"' not in arg:
        return arg
    return "'" + arg.replace("'", "''").replace('"', '""') + "'"


def quote_argument(arg: str, what: str) -> str:
    """One argument in new-style quoting, *without* the outer double quotes: bare when it has no
    whitespace or quotes, else in single quotes with ``''``; every ``"`` doubled."""
    check_line(arg, what)
    return _token(escape_macros(arg, what))


class Macro(str):
    """A submit macro reference (``Macro("node")`` -> ``$(node)``) spliced raw into an
    ``arguments`` value: the one thing in an argument list that is not quoted as data."""


def submit_arguments(args: Sequence[str], what: str) -> str:
    """The value of ``arguments =`` for ``args`` (a list, never a shell string)."""
    parts = [f"$({a})" if isinstance(a, Macro) else quote_argument(a, f"{what}[{i}]") for i, a in enumerate(args)]
    return '"' + " ".join(parts) + '"'


def submit_environment(env: Mapping[str, str], what: str) -> str:
    """The value of ``environment =`` (new-style, ``"A=1 B='x y'"``)."""
    parts = []
    for key in sorted(env):
        if not _NAME_RE.fullmatch(key or ""):
            raise SubmitError(f"{what}: bad environment variable name {_show(str(key))}", exit_code=2)
        parts.append(f"{key}={quote_argument(str(env[key]), f'{what}.{key}')}")
    return '"' + " ".join(parts) + '"'


def attr_name(name: str, what: str) -> str:
    """A ClassAd attribute or submit macro name (``MayUseAWS``, ``TargetAnnexName``)."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise SubmitError(f"{what}: {_show(str(name))} is not a valid attribute name "
                          "(letters, digits, '_', not starting with a digit)", exit_code=2)
    return name


def classad_quote(value: str, what: str) -> str:
    """A ClassAd string literal as the ClassAd language reads it (``"..."`` with ``\\"`` and
    ``\\\\``), for constraints sent to a schedd: no submit macros apply there."""
    check_line(value, what)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def classad_string(value: str, what: str) -> str:
    """A ClassAd string literal for ``MY.attr = ...``; also safe as a submit value."""
    return '"' + escape_macros(classad_quote(value, what)[1:-1], what) + '"'


def classad_literal(value: object, what: str) -> str:
    """A Python value as a ClassAd literal: bool -> true/false, numbers, else a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return classad_string(str(value), what)


def node_name(name: str, what: str = "DAG node name") -> str:
    """A DAG node name: safe as a DAGMan token and as a file name."""
    if not isinstance(name, str) or not _NODE_RE.fullmatch(name) or name.upper() in _RESERVED_NODES:
        raise SubmitError(f"{what}: {_show(str(name))} is not a valid node name "
                          "(letters, digits, '_' and '-' only)", exit_code=2)
    return name


def dag_token(value: str, what: str) -> str:
    """A file name or ``SCRIPT`` argument on a DAG line: DAGMan splits these on whitespace with no
    quoting at all, so whitespace (and quotes, which DAGMan would keep) cannot be represented."""
    check_line(value, what)
    if not value or _WS_RE.search(value) or '"' in value:
        raise SubmitError(f"{what}: {_show(value)} contains whitespace or '\"', which a DAG "
                          "file cannot quote (SCRIPT arguments are split on spaces)", exit_code=2)
    return value


def dagman_reads_literally(path: str) -> bool:
    """Whether DAGMan reads ``path`` as written. DAGMan expands ``$(`` macros in every path it
    handles itself (its default node log, a ``CONFIG`` file, the DAG's own folder), with no escape:
    under ``shot $(id)/`` the node events go to ``shot /``, the DAG never sees a node finish and
    waits forever. Such a folder cannot hold a DAG; :func:`submit_value` still escapes it for
    ``.sub`` values (``initialdir``, ``log``), where condor_submit honours ``$(DOLLAR)``."""
    return not _MACRO_DOLLAR_RE.search(path) and "$$" not in path


def vars_value(value: str, what: str) -> str:
    """``"value"`` for ``VARS node key="value"``: DAG escapes over submit-macro escapes."""
    check_line(value, what)
    inner = escape_macros(value, what)
    return '"' + inner.replace("\\", "\\\\").replace('"', '\\"') + '"'


def vars_argument(arg: str, what: str) -> str:
    """A VARS value that the ``.sub`` splices into ``arguments`` as ``$(name)``: one quoted
    argument token, then the VARS escapes (macros are escaped exactly once)."""
    check_line(arg, what)
    escape_macros(arg, what)  # refuse what cannot be represented, naming the raw value
    return vars_value(_token(arg), what)


def vars_line(node: str, values: Mapping[str, str]) -> str:
    """One ``VARS`` line for ``node``; ``values`` are already escaped by :func:`vars_value` or
    :func:`vars_argument` (the caller knows which context each value is spliced into)."""
    node_name(node)
    pairs = " ".join(f"{attr_name(k, f'VARS {node}')}={check_line(v, f'VARS {node} {k}')}"
                     for k, v in values.items())
    return f"VARS {node} {pairs}"


# --- the inverse direction: what HTCondor makes of the text -------------------------------------

def unescape_vars_value(quoted: str) -> str:
    """The value DAGMan hands to condor_submit for ``"..."`` in a VARS line."""
    if len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"':
        raise SubmitError(f"VARS value {_show(quoted)} is not in double quotes", exit_code=2)
    out, i, body = [], 0, quoted[1:-1]
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] in '\\"':
            out.append(body[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


_VARS_PAIR_RE = re.compile(r'\s*([A-Za-z_+][A-Za-z0-9_.]*)\s*=\s*("(?:\\.|[^"\\])*")')


def parse_vars_line(line: str) -> "tuple[str, Dict[str, str]]":
    """``VARS node a="1" b="x"`` -> ``("node", {"a": "1", "b": "x"})``."""
    parts = line.split(None, 2)
    if len(parts) < 2 or parts[0].upper() != "VARS":
        raise SubmitError(f"not a VARS line: {_show(line)}", exit_code=2)
    rest, values = parts[2] if len(parts) > 2 else "", {}
    pos = 0
    while pos < len(rest.rstrip()):
        m = _VARS_PAIR_RE.match(rest, pos)
        if not m:
            raise SubmitError(f"VARS {parts[1]}: cannot parse {_show(rest[pos:])}", exit_code=2)
        values[m.group(1)] = unescape_vars_value(m.group(2))
        pos = m.end()
    return parts[1], values


def condor_lines(text: str) -> Iterator[str]:
    """The logical lines condor_submit reads from ``text``, following HTCondor's own
    ``getline_implementation`` (condor_utils/config.cpp), not Python's ``splitlines``: a line ends
    at ``\\n`` only and is stripped of C whitespace; a trailing backslash joins the next line; a
    joined line that starts with ``#`` is blanked but for its last character (HTCondor's "a
    continuation may be commented out"); a comment line never continues; a last line with no
    ``\\n`` is taken as it is."""
    physical = text.split("\n")
    last = len(physical) - 1
    i = 0
    while i <= last:
        buf = ""
        first = True
        while i <= last:
            line, i = physical[i], i + 1
            if i - 1 == last:  # no newline after it: HTCondor hands it over untrimmed
                buf += line
                break
            line = line.strip(_C_SPACE)
            comment = line.startswith("#")
            if comment and not first:
                line, comment = line[-1:], False
            buf += line
            first = False
            if not buf.endswith("\\"):
                break
            buf = buf[:-1]
            if comment:
                break
        if buf or i <= last:
            yield buf


_ID_CHAR_RE = re.compile(r"[A-Za-z0-9_.]")
_KEY_RE = re.compile(r"\+[^ \t\n\v\f\r]*|[A-Za-z0-9_.]+")


def parse_submit(text: str) -> Dict[str, str]:
    """The ``key -> raw value`` table condor_submit reads from ``text`` (keys lower-cased, the last
    assignment wins), for machines without ``htcondor2``; tested to agree with htcondor2 on a
    corpus of hostile values. Lines as :func:`condor_lines`; ``#`` lines are comments; ``+attr``
    is ``MY.attr``; the first ``queue`` line ends the description. What htcondor2 refuses (a NUL,
    a line that is not ``name = value``) is refused too."""
    if "\x00" in text:
        raise SubmitError("submit description contains a NUL character", exit_code=2)
    table: Dict[str, str] = {}
    for line in condor_lines(text):
        if not line.strip(_C_SPACE) or line.startswith("#"):
            continue
        if line[:5].lower() == "queue" and not _ID_CHAR_RE.match(line[5:6]):
            if len(line) == 5 or line[5] in _C_SPACE:
                break
            raise SubmitError(f"submit description: cannot parse queue line {_show(line)}", exit_code=2)
        key, sep, value = line.partition("=")
        key = key.rstrip(_C_SPACE)
        if not sep or not _KEY_RE.fullmatch(key):
            raise SubmitError(f"submit description: cannot parse line {_show(line)}", exit_code=2)
        if key.startswith("+"):
            key = "MY." + key[1:]
        table[key.lower()] = value.lstrip(_C_SPACE)
    return table


_MACRO_RE = re.compile(r"\$(?:(ENV)\(([^)]*)\)|\(([A-Za-z0-9_./]+)(?::([^)]*))?\))")
_DOLLAR = "$(DOLLAR)"


def _next_macro(text: str) -> "Optional[re.Match[str]]":
    """The leftmost macro condor_submit would expand now: not ``$$(...)`` (match-time), not
    ``$(DOLLAR)`` (replaced last)."""
    for m in _MACRO_RE.finditer(text):
        if text[max(0, m.start() - 1):m.start()] == "$":
            continue
        if m.group(3) and m.group(3).upper() == "DOLLAR":
            continue
        return m
    return None


def expand_macros(value: str, table: Mapping[str, str], env: Mapping[str, str]) -> str:
    """``$(name)``, ``$(name:default)``, ``$ENV(NAME)`` and ``$(DOLLAR)`` the way condor_submit
    expands them: replace the leftmost macro by its raw value and scan again from the start (so a
    value ending in ``$`` can form ``$$(...)`` with what follows); an unknown macro without a
    default is empty; ``$(DOLLAR)`` becomes ``$`` last, left to right. A macro that refers to
    itself is refused (condor_submit would never finish)."""
    text = value
    for _ in range(10_000):
        m = _next_macro(text)
        if m is None:
            break
        if m.group(1):
            repl = env.get(m.group(2), "")
        else:
            name = m.group(3).lower()
            repl = table[name] if name in table else (m.group(4) or "")
        text = text[:m.start()] + repl + text[m.end():]
    else:
        raise SubmitError(f"macro recursion too deep in {_show(value)}", exit_code=2)
    out, pos = [], 0
    while True:
        at = text.upper().find(_DOLLAR, pos)
        if at < 0:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:at])
        done = "".join(out)
        out = [done, _DOLLAR if done.endswith("$") else "$"]  # "$" + "$(DOLLAR)" is a $$ form
        pos = at + len(_DOLLAR)


def split_arguments(value: str) -> List[str]:
    """Split a new-style ``arguments`` value (with its outer double quotes) into argv."""
    text = value.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise SubmitError(f"arguments {_show(value)} are not in new-style double quotes", exit_code=2)
    body = text[1:-1].replace('""', '"')
    args: List[str] = []
    cur: List[str] = []
    have, quoted, i = False, False, 0
    while i < len(body):
        ch = body[i]
        if quoted:
            if ch == "'" and body[i + 1: i + 2] == "'":
                cur.append("'")
                i += 2
                continue
            if ch == "'":
                quoted = False
            else:
                cur.append(ch)
        elif ch == "'":
            quoted, have = True, True
        elif ch.isspace():
            if have:
                args.append("".join(cur))
                cur, have = [], False
        else:
            cur.append(ch)
            have = True
        i += 1
    if quoted:
        raise SubmitError(f"arguments {_show(value)}: unterminated single quote", exit_code=2)
    if have:
        args.append("".join(cur))
    return args


def split_environment(value: str) -> Dict[str, str]:
    """Parse a new-style ``environment`` value into a mapping."""
    out: Dict[str, str] = {}
    for item in split_arguments(value) if value.strip() else []:
        key, sep, val = item.partition("=")
        if not sep:
            raise SubmitError(f"environment entry {_show(item)} has no '='", exit_code=2)
        out[key] = val
    return out


def submit_lines(pairs: Iterable["tuple[str, str]"]) -> str:
    """Join already-escaped ``(key, value)`` pairs into submit text, checking once more that no
    key or value can open a new line (a last guard: every value was escaped by its context)."""
    lines = []
    for key, value in pairs:
        check_line(key, "submit key")
        check_line(value, f"submit value {key}")
        lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"
