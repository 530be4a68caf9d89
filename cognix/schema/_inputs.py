"""Read a predictor's parameters, with their defaults and `Input()` options.

Follows Cog 0.23.1 (`pkg/schema/python/inputs.go`), including its two indirect forms: a
default naming a class attribute that holds an `Input(...)`, and a call to a class's
method that returns one (`Inputs.seed(default=1)`). One difference is on purpose: where
Cog silently drops an option it cannot read (a `ge=` naming a function call), this module
raises SchemaError at the expression, because the runtime would use the value while the
schema would not say so. A default given positionally, as in `Input(5)`, is left out as
Cog leaves it out: the input is then required, so the runtime never falls back on it. Options Cog
reads only as literals (ge, le, lengths, regex) are read here through module constants
and small arithmetic too, so `le=MAX_SEED` gives `maximum` where Cog would leave it out.
Cog copies the text between a string literal's quotes without reading its escapes, so
its schema holds `a\\nb` for `"a\\nb"`; this module writes the string Python reads.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._literals import NotStatic, evaluate
from ._types import InputType, Scope, input_type

_FILE_TYPES = ("Path", "File")


@dataclass
class InputField:
    """One input of the predictor: its type, default and the options given to Input()."""

    name: str
    node: ast.arg
    type: InputType
    has_default: bool = False
    default: Any = None
    options: dict[str, Any] = field(default_factory=dict)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_choices(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, list | dict) for v in value)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


# Each Input() option: the check its value must pass, and how to say what it must be.
_OPTIONS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "description": (_is_str, "a string"),
    "ge": (_is_number, "a number"),
    "le": (_is_number, "a number"),
    "min_length": (_is_count, "a non-negative integer"),
    "max_length": (_is_count, "a non-negative integer"),
    "regex": (_is_str, "a string"),
    "choices": (_is_choices, "a list of strings or numbers"),
    "deprecated": (_is_bool, "True or False"),
    "accept": (_is_str, "a string such as 'image/*'"),
}


def extract_inputs(
    scope: Scope, function: ast.FunctionDef | ast.AsyncFunctionDef, *, is_method: bool
) -> list[InputField]:
    """Read every parameter of `function` (after `self` for a method) into an InputField."""
    arguments = function.args
    _reject_unsupported_parameters(scope, function)
    positional = [*arguments.posonlyargs, *arguments.args]
    missing = len(positional) - len(arguments.defaults)
    defaults: list[ast.expr | None] = [None] * missing + list(arguments.defaults)
    pairs = list(zip(positional, defaults, strict=True))
    if is_method:
        if not pairs or pairs[0][0].arg != "self":
            message = f"{function.name}() must take 'self' as its first argument"
            raise scope.error(function, message)
        pairs = pairs[1:]
    return [_field(scope, argument, default) for argument, default in pairs]


def _reject_unsupported_parameters(
    scope: Scope, function: ast.FunctionDef | ast.AsyncFunctionDef
) -> None:
    """Refuse *args, **kwargs and keyword-only parameters, as Cog's runtime does."""
    arguments = function.args
    if arguments.vararg is not None:
        raise scope.error(arguments.vararg, f"{function.name}() must not take *args")
    if arguments.kwarg is not None:
        raise scope.error(arguments.kwarg, f"{function.name}() must not take **kwargs")
    if arguments.kwonlyargs:
        message = f"{function.name}() must not have keyword-only parameters"
        raise scope.error(arguments.kwonlyargs[0], message, "remove the '*' before them")


def _field(scope: Scope, argument: ast.arg, default: ast.expr | None) -> InputField:
    """Read one parameter: its annotation, then its default or Input() call."""
    name = argument.arg
    if argument.annotation is None:
        message = f"input '{name}' has no type annotation"
        raise scope.error(argument, message, f"annotate it, as in `{name}: str`")
    result = InputField(name, argument, input_type(scope, argument.annotation))
    if isinstance(default, ast.Call) and scope.name_of(default.func) == "Input":
        _read_input_call(scope, result, default)
    elif default is not None and _read_input_reference(scope, result, default):
        pass
    elif default is not None:
        result.has_default = True
        result.default = _value(scope, default, f"the default of input '{name}'")
    _check_field(scope, result)
    return result


def _read_input_call(
    scope: Scope, result: InputField, call: ast.Call, bound: dict[str, Any] | None = None
) -> None:
    """Copy the default and options of `Input(...)` into `result`.

    `bound` holds the parameters of the method the call is returned from, by name.
    """
    # Cog's parser reads keywords only (inputs.go): `Input(5)` makes a required input, and
    # a project Cog builds must build here unchanged.
    for keyword in call.keywords:
        _read_keyword(scope, result, keyword, bound or {})


def _read_input_reference(scope: Scope, result: InputField, default: ast.expr) -> bool:
    """Read a default that refers to an `Input(...)` held by a class; False if none."""
    call_site = default if isinstance(default, ast.Call) else None
    target = call_site.func if call_site is not None else default
    if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)):
        return False
    found = scope.project.lookup(scope.module, target.value.id)
    if found is None or not isinstance(found[1], ast.ClassDef):
        return False
    owner = Scope(scope.project, found[0])
    for statement in found[1].body:
        if call_site is None:
            held = _input_attribute(owner, statement, target.attr)
            if held is not None:
                _read_input_call(owner, result, held)
                return True
            continue
        returned = _returned_input(owner, statement, target.attr)
        if returned is not None:
            assert isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef)
            _read_input_call(owner, result, returned, _bind(scope, owner, statement, call_site))
            return True
    return False


def _input_attribute(scope: Scope, statement: ast.stmt, name: str) -> ast.Call | None:
    """Return the call if `statement` is `name = Input(...)` in a class body."""
    if not isinstance(statement, ast.Assign) or not isinstance(statement.value, ast.Call):
        return None
    if [ast.unparse(target) for target in statement.targets] != [name]:
        return None
    return statement.value if scope.name_of(statement.value.func) == "Input" else None


def _returned_input(scope: Scope, method: ast.stmt, name: str) -> ast.Call | None:
    """Return the `Input(...)` call that the method `name` returns directly, if it does."""
    if not isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef) or method.name != name:
        return None
    for statement in method.body:
        value = statement.value if isinstance(statement, ast.Return) else None
        if isinstance(value, ast.Call) and scope.name_of(value.func) == "Input":
            return value
    return None


def _bind(
    scope: Scope, owner: Scope, method: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call
) -> dict[str, Any]:
    """Bind a method's parameters to the call's arguments or their defaults, by name."""
    parameters = [*method.args.posonlyargs, *method.args.args, *method.args.kwonlyargs]
    names = [p.arg for p in parameters if p.arg not in ("self", "cls")]
    defaults = [*method.args.defaults, *method.args.kw_defaults]
    bound = {
        parameter.arg: _value(owner, default, f"the default of '{parameter.arg}'")
        for parameter, default in zip(parameters[::-1], defaults[::-1], strict=False)
        if default is not None
    }
    arguments = list(zip(names, call.args, strict=False))
    arguments += [(k.arg, k.value) for k in call.keywords if k.arg is not None]
    for name, node in arguments:
        bound[name] = _value(scope, node, f"the argument '{name}' of {method.name}()")
    return bound


def _read_keyword(
    scope: Scope, result: InputField, keyword: ast.keyword, bound: dict[str, Any]
) -> None:
    """Check and store one keyword of `Input(...)`."""
    key, name = keyword.arg, result.name
    if key is None:
        raise scope.error(keyword.value, "Input(**options) cannot be read statically")
    if key == "default_factory":
        hint = "give a literal default instead, as in Input(default=[])"
        raise scope.error(keyword, "default_factory is not supported in Input()", hint)
    if isinstance(keyword.value, ast.Name) and keyword.value.id in bound:
        value = bound[keyword.value.id]
    else:
        value = _value(scope, keyword.value, f"'{key}' of input '{name}'")
    if key == "default":
        result.has_default, result.default = True, value
        return
    if key not in _OPTIONS:
        known = ", ".join(["default", *_OPTIONS])
        raise scope.error(keyword, f"Input() has no option '{key}'", f"the options are {known}")
    check, expected = _OPTIONS[key]
    if value is not None and not check(value):
        raise scope.error(keyword.value, f"'{key}' of input '{name}' must be {expected}")
    if value is not None:
        result.options[key] = value


def _value(scope: Scope, node: ast.expr, what: str) -> Any:
    """Evaluate a constant expression, or raise SchemaError at the part that is not one."""
    try:
        return evaluate(scope.project, scope.module, node)
    except NotStatic as error:
        hint = "use a literal or a module-level constant"
        message = f"{what} cannot be read without running the code"
        raise scope.error(error.node, message, hint) from None


def _check_field(scope: Scope, result: InputField) -> None:
    """Refuse option combinations Cog rejects: constraints on unions, accept on non-files."""
    node = result.node.annotation
    if result.type.kind == "union":
        constrained = set(result.options) - {"description", "deprecated", "accept"}
        if constrained:
            options = ", ".join(sorted(constrained))
            message = f"input '{result.name}' is a union and cannot have {options}"
            raise scope.error(node, message)
    if "accept" in result.options and result.type.base_primitive() not in _FILE_TYPES:
        message = f"'accept' of input '{result.name}' needs a Path or File input"
        raise scope.error(node, message)
