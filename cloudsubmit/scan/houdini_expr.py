"""Just enough of HScript expressions to turn the usual file-name expressions into paths offline.

Artists drive output and cache paths with expressions such as ``"$HIP/render/$HIPNAME.$OS.$F4.exr"``,
``chs("../out_path")`` or a backtick ``\\`padzero(4, $F)\\```. Those are evaluated here: string
literals, ``+``, ``$OS`` (the node's name), ``chs()``/``ch()`` of another parameter in the same scene,
``padzero(n, $F)`` (becomes ``$Fn``), ``opname(".")`` and ``strcat``. Frame and scene variables stay
as written for the expander. Anything else raises :class:`Unresolved`, and the reader warns with the
node and parameter instead of guessing."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, List, Optional

_TOKEN = re.compile(
    r'\s*(?:"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|\$\{(\w+)\}|\$(\w+)|(-?\d+(?:\.\d+)?)|(\w+)|([(),+]))', re.S)
_FRAME_VAR = re.compile(r"^F\d*$|^FF$")
_BACKTICK = re.compile(r"`([^`]*)`")
_OS_VAR = re.compile(r"\$\{OS\}|\$OS(?![A-Za-z0-9_])")


class Unresolved(Exception):
    """The expression uses something this evaluator does not know; the message says what."""


@dataclass
class ExprScope:
    node_name: str
    chs: Callable[[str], Optional[str]]     # a parameter's string value by (relative) path


def substitute_os(value: str, node_name: str) -> str:
    """``$OS`` is the only variable that depends on the node, so the reader must fill it in."""
    return _OS_VAR.sub(lambda m: node_name, value)


def _lex(text: str) -> List[tuple]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise Unresolved(f"cannot read expression near {text[pos:pos + 20]!r}")
        pos = m.end()
        s, s1, v1, v2, num, name, punct = m.groups()
        if s is not None or s1 is not None:
            out.append(("s", re.sub(r"\\(.)", r"\1", s) if s is not None else s1))
        elif v1 or v2:
            out.append(("v", v1 or v2))
        elif num is not None:
            out.append(("n", num))
        elif name:
            out.append(("f", name))
        elif punct:
            out.append((punct, punct))
    return out


class _Parser:
    def __init__(self, toks: List[tuple], scope: ExprScope) -> None:
        self.toks, self.i, self.scope = toks, 0, scope

    def peek(self) -> str:
        return self.toks[self.i][0] if self.i < len(self.toks) else ""

    def take(self, kind: str) -> str:
        if self.peek() != kind:
            raise Unresolved(f"expected {kind!r} in expression")
        self.i += 1
        return self.toks[self.i - 1][1]

    def expr(self) -> str:
        left = self.term()
        while self.peek() == "+":
            self.i += 1
            right = self.term()
            left = _add(left, right)
        return left

    def term(self) -> str:
        kind = self.peek()
        if kind in ("s", "n"):
            return self.take(kind)
        if kind == "v":
            return self.var(self.take("v"))
        if kind == "f":
            name = self.take("f")
            self.take("(")
            args = []
            while self.peek() != ")":
                args.append(self.expr())
                if self.peek() == ",":
                    self.i += 1
                elif self.peek() != ")":
                    raise Unresolved("expected ',' or ')' in expression")
            self.take(")")
            return _call(name, args, self.scope)
        raise Unresolved("unexpected end of expression")

    def var(self, name: str) -> str:
        if name == "OS":
            return self.scope.node_name
        return "$" + name


def _add(a: str, b: str) -> str:
    try:
        total = float(a) + float(b)
    except ValueError:
        return a + b
    return str(int(total)) if total.is_integer() else str(total)


def _call(name: str, args: List[str], scope: ExprScope) -> str:
    if name in ("chs", "ch") and len(args) == 1:
        value = scope.chs(args[0])
        if value is None:
            raise Unresolved(f"{name}({args[0]!r}) names no parameter in this scene")
        return value
    if name == "padzero" and len(args) == 2:
        if _FRAME_VAR.match(args[1].lstrip("$")) and args[1].startswith("$"):
            return f"$F{int(float(args[0]))}"
        try:
            return str(int(float(args[1]))).zfill(int(float(args[0])))
        except ValueError:
            raise Unresolved(f"padzero of {args[1]!r}") from None
    if name == "opname" and args == ["."]:
        return scope.node_name
    if name == "strcat":
        return "".join(args)
    raise Unresolved(f"function {name}() is not evaluated offline")


def evaluate(text: str, scope: ExprScope) -> str:
    """The string an HScript expression gives, with frame/scene variables left as ``$NAME``."""
    p = _Parser(_lex(text), scope)
    value = p.expr()
    if p.i != len(p.toks):
        raise Unresolved("expression has more than one value")
    return value


def expand_backticks(value: str, scope: ExprScope) -> str:
    """Evaluate each ```...``` section of a string parameter."""
    if "`" not in value:
        return value
    return _BACKTICK.sub(lambda m: evaluate(m.group(1), scope), value)
