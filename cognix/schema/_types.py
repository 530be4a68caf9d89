"""Read input annotations into the types Cog's schema knows.

The rules follow Cog 0.23.1's static parser (`pkg/schema/types.go`, `ResolveInputType`):
scalars, `cog.Path`, `cog.File`, `cog.Secret`, opaque `dict`/`Any`, `list[T]`,
`Optional[T]` / `T | None`, and unions of JSON-native types. A `TypedDict` class of the
project is an opaque object as an input. `Literal[...]` is refused, as Cog refuses it;
`Input(choices=...)` is how Cog spells an enumeration.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from typing import Any

from ._modules import Module, Project, SchemaError

PRIMITIVES: dict[str, dict[str, Any]] = {
    "bool": {"type": "boolean"},
    "float": {"type": "number"},
    "int": {"type": "integer"},
    "str": {"type": "string"},
    "Path": {"type": "string", "format": "uri"},
    "File": {"type": "string", "format": "uri"},
    "Secret": {"type": "string", "format": "password", "writeOnly": True, "x-cog-secret": True},
}
_FILES = ("Path", "File", "Secret")
_OPAQUE = ("dict", "Dict", "Any")
_INPUT_EXPECTED = "str, int, float, bool, Path, File, Secret, dict, list[T] or Optional[T]"
_MAX_DEPTH = 32


@dataclass(frozen=True)
class InputType:
    """An input's type: a primitive, opaque JSON, an array or a union; maybe nullable."""

    kind: str
    primitive: str = ""
    items: InputType | None = None
    variants: tuple[InputType, ...] = ()
    nullable: bool = False

    def json_schema(self) -> dict[str, Any]:
        """Return the schema fragment Cog writes for this type."""
        schema: dict[str, Any]
        if self.kind == "primitive":
            schema = dict(PRIMITIVES[self.primitive])
        elif self.kind == "array" and self.items is not None:
            schema = {"type": "array", "items": self.items.json_schema()}
        elif self.kind == "union":
            variants = [variant.json_schema() for variant in self.variants]
            for variant in variants:
                variant.update({"nullable": True} if self.nullable else {})
            schema = {"anyOf": variants}
        else:
            schema = {"type": "object"}
        if self.nullable:
            schema["nullable"] = True
        return schema

    def base_primitive(self) -> str:
        """Name the primitive Cog files this type under, as its enum type for choices."""
        if self.kind == "array" and self.items is not None and self.items.kind == "primitive":
            return self.items.primitive
        return self.primitive if self.kind == "primitive" else "Any"


ANY = InputType("any")


@dataclass(frozen=True)
class Scope:
    """A project file in which annotations and expressions are read."""

    project: Project
    module: Module

    def error(self, node: ast.AST | None, message: str, hint: str | None = None) -> SchemaError:
        """Build a SchemaError at `node` in this file."""
        return self.module.error(node, message, hint)

    def name_of(self, node: ast.expr) -> str | None:
        """Return the simple name a type is known by, seeing through import aliases."""
        if isinstance(node, ast.Attribute):
            return node.attr
        if isinstance(node, ast.Constant) and node.value is None:
            return "None"
        if not isinstance(node, ast.Name):
            return None
        imported = self.module.imports.get(node.id)
        if imported and imported.name and self.project.origin(self.module, node.id):
            return imported.name
        return node.id

    def unquote(self, node: ast.expr) -> ast.expr:
        """Parse a string annotation (a forward reference) into the expression it spells."""
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            return node
        try:
            parsed = ast.parse(node.value.strip(), mode="eval").body
        except SyntaxError:
            raise self.error(node, f"cannot read the type annotation {node.value!r}") from None
        for inner in ast.walk(parsed):
            ast.copy_location(inner, node)
        return parsed

    def unsupported(self, node: ast.expr, what: str, expected: str) -> SchemaError:
        """Build the error for a type Cog cannot put in a schema, saying what would do."""
        text = ast.unparse(node)
        message = f"unsupported {what} type '{text}': expected {expected}"
        origin = self.project.origin(self.module, text.split("[")[0])
        hint = None
        if origin:
            hint = (
                f"'{text}' comes from '{origin}', which cannot be read without running it;"
                " mark a JSON-shaped type opaque with Annotated[T, cog.Opaque]"
            )
        return self.error(node, message, hint)


def typed_dict_class(scope: Scope, node: ast.expr) -> tuple[Scope, ast.ClassDef] | None:
    """Return the project class `node` names if it is a TypedDict, with its file."""
    if not isinstance(node, ast.Name | ast.Attribute):
        return None
    found = scope.project.lookup(scope.module, ast.unparse(node))
    if found is None or not isinstance(found[1], ast.ClassDef):
        return None
    owner = Scope(scope.project, found[0])
    return (owner, found[1]) if is_typed_dict(owner, found[1]) else None


def is_typed_dict(scope: Scope, cls: ast.ClassDef, depth: int = 0) -> bool:
    """Tell whether `cls` derives from `TypedDict`, directly or through project classes."""
    if depth > _MAX_DEPTH:
        return False
    for base in cls.bases:
        if scope.name_of(base) == "TypedDict":
            return True
        found = scope.project.lookup(scope.module, ast.unparse(base))
        if found is None or not isinstance(found[1], ast.ClassDef):
            continue
        if is_typed_dict(Scope(scope.project, found[0]), found[1], depth + 1):
            return True
    return False


def subscript_args(node: ast.Subscript) -> list[ast.expr]:
    """List the type arguments of `X[A, B]`."""
    return list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]


def union_members(scope: Scope, node: ast.expr) -> list[ast.expr] | None:
    """List the members of `A | B` or `Union[A, B]` (`Optional[A]` is `A | None`)."""
    node = scope.unquote(node)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left = union_members(scope, node.left) or [node.left]
        right = union_members(scope, node.right) or [node.right]
        return left + right
    if isinstance(node, ast.Subscript):
        outer = scope.name_of(node.value)
        if outer == "Union":
            return subscript_args(node)
        if outer == "Optional" and len(subscript_args(node)) == 1:
            return [*subscript_args(node), ast.Constant(None)]
    return None


def optional_inner(scope: Scope, node: ast.expr) -> ast.expr | None:
    """Return `T` when `node` is `Optional[T]`, `T | None` or `Union[T, None]`."""
    members = union_members(scope, node)
    if members is None or len(members) != 2:
        return None
    others = [member for member in members if scope.name_of(member) != "None"]
    return others[0] if len(others) == 1 else None


def is_opaque(scope: Scope, metadata: list[ast.expr]) -> bool:
    """Tell whether `Annotated[...]` metadata contains `cog.Opaque`."""
    return any(scope.name_of(item) == "Opaque" for item in metadata)


def input_type(scope: Scope, node: ast.expr) -> InputType:
    """Read an input's annotation, raising SchemaError at the part that is unsupported."""
    node = scope.unquote(node)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union(scope, node)
    if isinstance(node, ast.Subscript):
        return _generic(scope, node)
    name = scope.name_of(node)
    if name in _OPAQUE or typed_dict_class(scope, node) is not None:
        return ANY
    if name in PRIMITIVES:
        return InputType("primitive", name or "")
    raise scope.unsupported(node, "input", _INPUT_EXPECTED)


def _generic(scope: Scope, node: ast.Subscript) -> InputType:
    """Read `X[...]`: Optional, Union, Annotated, list and dict."""
    outer = scope.name_of(node.value)
    args = subscript_args(node)
    if outer in ("dict", "Dict"):
        return ANY
    if outer == "Optional" and len(args) == 1:
        return replace(input_type(scope, args[0]), nullable=True)
    if outer == "Union":
        return _union(scope, node)
    if outer == "Annotated" and is_opaque(scope, args[1:]):
        return _opaque(scope, args[0])
    if outer == "Annotated":
        return input_type(scope, args[0])
    if outer in ("list", "List"):
        if len(args) != 1:
            raise scope.error(node, f"{outer} takes one item type, as in list[str]")
        items = input_type(scope, args[0])
        if items.nullable or items.kind in ("array", "union"):
            message = "nested types such as list[Optional[T]] or list[list[T]] are not supported"
            raise scope.error(args[0], message)
        return InputType("array", items=items)
    if outer == "Literal":
        message = "Literal[...] is not a supported input type"
        hint = "list the values with Input(choices=[...]) and annotate the base type"
        raise scope.error(node, message, hint)
    raise scope.unsupported(node, "input", _INPUT_EXPECTED)


def _union(scope: Scope, node: ast.expr) -> InputType:
    """Read a union: `T | None` is a nullable T, other unions must be JSON-native."""
    variants: list[tuple[ast.expr, InputType]] = []
    nullable = False
    for member in union_members(scope, node) or [node]:
        member = scope.unquote(member)
        if scope.name_of(member) == "None":
            nullable = True
            continue
        if union_members(scope, member) is not None:
            raise scope.error(member, "nested unions are not supported in inputs")
        variants.append((member, input_type(scope, member)))
    if not variants:
        raise scope.error(node, "a union input needs at least one type other than None")
    if len(variants) == 1:
        only = variants[0][1]
        return replace(only, nullable=only.nullable or nullable)
    for member, variant in variants:
        _check_variant(scope, member, variant)
    return InputType(
        "union", variants=tuple(variant for _, variant in variants), nullable=nullable
    )


def _check_variant(scope: Scope, node: ast.expr, variant: InputType) -> None:
    """Reject union members Cog cannot validate: files, secrets and nested nullables."""
    if variant.nullable:
        raise scope.error(node, "a union input cannot contain another optional type")
    if variant.kind == "primitive" and variant.primitive in _FILES:
        raise scope.error(node, f"{variant.primitive} is not supported in a union input")
    if variant.kind == "array" and variant.items is not None:
        _check_variant(scope, node, variant.items)


def _opaque(scope: Scope, node: ast.expr) -> InputType:
    """Read `Annotated[T, Opaque]`: any JSON value, a list of them, maybe nullable."""
    node = scope.unquote(node)
    inner = optional_inner(scope, node)
    target = scope.unquote(inner) if inner is not None else node
    outer = scope.name_of(target.value if isinstance(target, ast.Subscript) else target)
    if outer in ("list", "List"):
        return InputType("array", items=ANY, nullable=inner is not None)
    return InputType("any", nullable=inner is not None)
