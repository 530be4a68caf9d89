"""Compute the value of a constant expression without running the code around it.

Defaults, choices and `Input()` options are literals in most predictors, sometimes
module-level constants (imported from another project file or not), and now and then
a little arithmetic such as `2**32 - 1`. Anything else is reported as not static.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from ._modules import Module, Project

_SCALARS = (str, int, float, bool, type(None))
_NUMBER_OPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_MAX_DEPTH = 32


class NotStatic(Exception):
    """An expression whose value cannot be known without running the code."""

    def __init__(self, node: ast.AST) -> None:
        super().__init__(ast.unparse(node) if isinstance(node, ast.expr) else "")
        self.node = node


def evaluate(project: Project, module: Module, node: ast.expr, depth: int = 0) -> Any:
    """Return the value of `node`, read in `module`, or raise NotStatic at the culprit."""
    if depth > _MAX_DEPTH:
        raise NotStatic(node)
    if isinstance(node, ast.Constant):
        return _constant(node)
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return [evaluate(project, module, item, depth + 1) for item in node.elts]
    if isinstance(node, ast.Dict):
        return _dict(project, module, node, depth)
    if isinstance(node, ast.Name | ast.Attribute):
        return _named(project, module, node, depth)
    if isinstance(node, ast.UnaryOp):
        return _unary(project, module, node, depth)
    if isinstance(node, ast.BinOp):
        return _binary(project, module, node, depth)
    if isinstance(node, ast.JoinedStr):
        return "".join(_fstring_part(project, module, part, depth) for part in node.values)
    if isinstance(node, ast.Call):
        return _list_call(project, module, node, depth)
    raise NotStatic(node)


def _constant(node: ast.Constant) -> Any:
    """Accept the JSON-compatible constants; JSON has no NaN, infinity or bytes."""
    value = node.value
    if not isinstance(value, _SCALARS) or (isinstance(value, float) and not math.isfinite(value)):
        raise NotStatic(node)
    return value


def _dict(project: Project, module: Module, node: ast.Dict, depth: int) -> dict[Any, Any]:
    """Evaluate a dict display whose keys are scalars."""
    result: dict[Any, Any] = {}
    for key_node, value_node in zip(node.keys, node.values, strict=True):
        if key_node is None:
            raise NotStatic(value_node)
        key = evaluate(project, module, key_node, depth + 1)
        if not isinstance(key, _SCALARS):
            raise NotStatic(key_node)
        result[key] = evaluate(project, module, value_node, depth + 1)
    return result


def _named(project: Project, module: Module, node: ast.Name | ast.Attribute, depth: int) -> Any:
    """Follow a name to the module-level assignment that gives its value."""
    dotted = _dotted(node)
    found = project.lookup(module, dotted) if dotted else None
    if found is None:
        raise NotStatic(node)
    owner, statement = found
    if not isinstance(statement, ast.Assign | ast.AnnAssign) or statement.value is None:
        raise NotStatic(node)
    try:
        return evaluate(project, owner, statement.value, depth + 1)
    except NotStatic:
        raise NotStatic(node) from None


def _dotted(node: ast.expr) -> str | None:
    """Spell a name or attribute chain such as `helpers.SIZES`, or None for other nodes."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _unary(project: Project, module: Module, node: ast.UnaryOp, depth: int) -> Any:
    """Apply a sign to a number."""
    value = evaluate(project, module, node.operand, depth + 1)
    if not _is_number(value) or not isinstance(node.op, ast.USub | ast.UAdd):
        raise NotStatic(node)
    return -value if isinstance(node.op, ast.USub) else value


def _binary(project: Project, module: Module, node: ast.BinOp, depth: int) -> Any:
    """Add strings or lists, or do small arithmetic on numbers."""
    left = evaluate(project, module, node.left, depth + 1)
    right = evaluate(project, module, node.right, depth + 1)
    joinable = isinstance(left, str | list) and type(left) is type(right)
    if isinstance(node.op, ast.Add) and joinable:
        return left + right
    apply = _NUMBER_OPS.get(type(node.op))
    if apply is None or not (_is_number(left) and _is_number(right)):
        raise NotStatic(node)
    if isinstance(node.op, ast.Pow) and not 0 <= right <= 256:
        raise NotStatic(node)
    try:
        result = apply(left, right)
    except ArithmeticError:
        raise NotStatic(node) from None
    if isinstance(result, float) and not math.isfinite(result):
        raise NotStatic(node)
    return result


def _fstring_part(project: Project, module: Module, part: ast.expr, depth: int) -> str:
    """Render one piece of an f-string whose fields are plain constants."""
    if isinstance(part, ast.Constant) and isinstance(part.value, str):
        return part.value
    if isinstance(part, ast.FormattedValue) and part.conversion == -1 and not part.format_spec:
        value = evaluate(project, module, part.value, depth + 1)
        if isinstance(value, _SCALARS):
            return str(value)
    raise NotStatic(part)


def _list_call(project: Project, module: Module, node: ast.Call, depth: int) -> list[Any]:
    """Evaluate `list(X)`, `list(D.keys())` or `list(D.values())` over constants."""
    if not (isinstance(node.func, ast.Name) and node.func.id in ("list", "tuple")):
        raise NotStatic(node)
    if len(node.args) != 1 or node.keywords:
        raise NotStatic(node)
    view, argument = _dict_view(node.args[0])
    value = evaluate(project, module, argument, depth + 1)
    if isinstance(value, dict):
        return list(value.values()) if view == "values" else list(value)
    if isinstance(value, list) and view is None:
        return value
    raise NotStatic(node)


def _dict_view(node: ast.expr) -> tuple[str | None, ast.expr]:
    """Split `D.keys()` or `D.values()` into the view's name and `D`; else (None, node)."""
    method = node.func if isinstance(node, ast.Call) and not node.args else None
    if isinstance(method, ast.Attribute) and method.attr in ("keys", "values"):
        return method.attr, method.value
    return None, node


def _is_number(value: Any) -> bool:
    """Tell an int or float from everything else, bool included."""
    return isinstance(value, int | float) and not isinstance(value, bool)
