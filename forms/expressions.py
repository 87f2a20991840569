"""A small, safe expression language for catalog conditions (`when`) and pre-review checks (`check`).

Expressions are parsed with `ast` and evaluated by walking the tree; anything outside the whitelist is rejected
when the catalog loads, so no catalog file can run code.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from onelicense.forms.errors import ExpressionError

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_LITERAL_NAMES = {"true": True, "false": False, "True": True, "False": False}
_MAX_LENGTH = 500


class _Missing(Exception):
    """A referenced field has no answer: the expression cannot be decided."""


@dataclass(frozen=True)
class Expression:
    source: str
    tree: ast.Expression = field(repr=False, compare=False)
    names: frozenset[str] = frozenset()

    def evaluate(self, values: Mapping[str, Any]) -> bool | None:
        """True/False, or None when a referenced field is unanswered or the values cannot be compared."""
        try:
            return bool(_eval(self.tree.body, values))
        except (_Missing, TypeError, ZeroDivisionError):
            return None


def parse_expression(source: str) -> Expression:
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("表达式不能为空")
    if len(source) > _MAX_LENGTH:
        raise ExpressionError(f"表达式过长（超过 {_MAX_LENGTH} 个字符）")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"表达式语法错误：{source!r}（{exc.msg}）") from None
    names: set[str] = set()
    _check(tree.body, names)
    return Expression(source=source, tree=tree, names=frozenset(names))


def _check(node: ast.AST, names: set[str]) -> None:
    match node:
        case ast.Constant(value=v) if isinstance(v, int | float | str | bool) or v is None:
            return
        case ast.Name(id=name):
            if name not in _LITERAL_NAMES:
                names.add(name)
            return
        case ast.BoolOp(values=operands):
            for operand in operands:
                _check(operand, names)
            return
        case ast.UnaryOp(op=ast.Not() | ast.USub(), operand=operand):
            _check(operand, names)
            return
        case ast.BinOp(op=op, left=left, right=right) if type(op) in _ARITH:
            _check(left, names)
            _check(right, names)
            return
        case ast.Compare(left=left, ops=ops, comparators=comps) if all(type(o) in _COMPARE for o in ops):
            _check(left, names)
            for c in comps:
                _check(c, names)
            return
        case ast.List(elts=elts) | ast.Tuple(elts=elts):
            for e in elts:
                if not isinstance(e, ast.Constant):
                    raise ExpressionError("列表中只能包含常量")
            return
        case ast.Call(func=ast.Name(id="len"), args=[arg], keywords=[]):
            _check(arg, names)
            return
    raise ExpressionError(f"表达式中不允许使用：{ast.dump(node)[:60]}")


def _eval(node: ast.AST, values: Mapping[str, Any]) -> Any:
    match node:
        case ast.Constant(value=v):
            return v
        case ast.Name(id=name) if name in _LITERAL_NAMES:
            return _LITERAL_NAMES[name]
        case ast.Name(id=name):
            if values.get(name) is None:
                raise _Missing(name)
            return values[name]
        case ast.BoolOp(op=ast.And(), values=items):
            return all(_eval(v, values) for v in items)
        case ast.BoolOp(op=ast.Or(), values=items):
            return any(_eval(v, values) for v in items)
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            return not _eval(operand, values)
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            return -_eval(operand, values)
        case ast.BinOp(op=op, left=left, right=right):
            return _ARITH[type(op)](_eval(left, values), _eval(right, values))
        case ast.Compare(left=left, ops=ops, comparators=comps):
            current = _eval(left, values)
            for comparison, comp in zip(ops, comps, strict=True):
                nxt = _eval(comp, values)
                if not _COMPARE[type(comparison)](current, nxt):
                    return False
                current = nxt
            return True
        case ast.List(elts=elts) | ast.Tuple(elts=elts):
            return [_eval(e, values) for e in elts]
        case ast.Call(args=[arg]):
            return len(_eval(arg, values))
    raise ExpressionError("无法求值")  # unreachable: _check rejected it at load time
