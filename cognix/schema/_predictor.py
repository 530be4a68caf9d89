"""Find the predictor and trainer that `cog.yaml` references name, and derive the schema.

A reference is `file.py:Name`. For `predict` (or `run`) the name is a function or a class
with a `run` or `predict` method; for `train` it is a function or a class with a `train`
method (Cog's `findTargetCallableNode`, `pkg/schema/python/target.go`). Methods may come
from a base class in the project; Cog's static parser looks for `train` in the class's
own body only, where the runtime would find an inherited one too.
"""

from __future__ import annotations

import ast
from pathlib import Path, PurePosixPath
from typing import Any

from ._inputs import InputField, extract_inputs
from ._modules import Module, Project, SchemaError
from ._openapi import FIXED_COMPONENTS, PREDICT, TRAIN, Mode, build_document, merge_documents
from ._outputs import is_iterator, output_schema
from ._types import Scope

Function = ast.FunctionDef | ast.AsyncFunctionDef
_PREDICT_METHODS = ("run", "predict")
_TRAIN_METHODS = ("train",)
_DEFAULT_VERSION = "0.23.1"


def project_schema(
    project_dir: Path,
    predict_ref: str | None,
    train_ref: str | None = None,
    *,
    cog_version: str = _DEFAULT_VERSION,
) -> dict[str, Any]:
    """Derive the one OpenAPI schema Cog writes for a project's predictor and trainer.

    Either reference may be None, not both (Cog's `GenerateCombined`). With both, the
    documents are merged as `merge_documents` says. Raises SchemaError at the fault.

        schema = project_schema(Path("."), "predict.py:Predictor", "train.py:train")
        schema["components"]["schemas"]["TrainingInput"]["properties"]
    """
    project = Project(project_dir)
    documents = [
        _document(project, ref, mode, cog_version)
        for ref, mode in ((predict_ref, PREDICT), (train_ref, TRAIN))
        if ref is not None
    ]
    if not documents:
        config = project_dir / "cog.yaml"
        raise SchemaError(config, 1, 1, "cog.yaml names neither a predictor nor a trainer")
    return merge_documents(*documents) if len(documents) == 2 else documents[0]


def predictor_schema(
    project_dir: Path, ref: str, *, cog_version: str = _DEFAULT_VERSION
) -> dict[str, Any]:
    """Derive the OpenAPI schema Cog would write for the predictor `ref` names.

    `ref` is cog.yaml's `predict` value, a file relative to `project_dir` and the name
    of a class (with a `run` or `predict` method) or of a function in it. Only the source
    is read; nothing is imported. Raises SchemaError located at the fault (for a `ref`
    not of the form `file.py:Name`, at the reference in cog.yaml when it is found there).

        schema = predictor_schema(Path("."), "predict.py:Predictor")
        schema["components"]["schemas"]["Input"]["properties"]
    """
    return project_schema(project_dir, ref, cog_version=cog_version)


def _document(project: Project, ref: str, mode: Mode, cog_version: str) -> dict[str, Any]:
    """Derive the document of one endpoint: predictions or trainings."""
    rel, name = _split_ref(project.root, ref, mode)
    scope, function, is_method = _find_target(project, project.load(rel), name, mode)
    fields = extract_inputs(scope, function, is_method=is_method)
    _check_enum_names(scope, fields)
    output = _output(scope, function)
    streaming = _is_streaming(scope, function, output)
    return build_document(fields, output, streaming=streaming, version=cog_version, mode=mode)


def _split_ref(project_dir: Path, ref: str, mode: Mode) -> tuple[PurePosixPath, str]:
    """Split `file.py:Name` into the file, relative to the project, and the name."""
    path_text, _, name = ref.partition(":")
    rel = PurePosixPath(path_text)
    what = "predictor" if mode == PREDICT else "trainer"
    if not path_text or not name.isidentifier():
        example = "predict.py:Predictor" if mode == PREDICT else "train.py:train"
        message = f"{what} reference '{ref}' must look like '{example}'"
        raise _bad_ref(project_dir, ref, message)
    if rel.is_absolute() or ".." in rel.parts:
        message = f"{what} reference '{ref}' must name a file inside the project"
        raise _bad_ref(project_dir, ref, message)
    return rel, name


def _bad_ref(project_dir: Path, ref: str, message: str) -> SchemaError:
    """Build the error for a malformed reference, at its place in cog.yaml if found there."""
    config = project_dir / "cog.yaml"
    try:
        lines = config.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    found = [(number, line.find(ref)) for number, line in enumerate(lines, 1) if ref in line]
    line, column = (found[0][0], found[0][1] + 1) if ref and found else (1, 1)
    return SchemaError(config, line, column, message)


def _find_target(
    project: Project, module: Module, name: str, mode: Mode
) -> tuple[Scope, Function, bool]:
    """Find the function to read: the named function, or the named class's method."""
    found = project.lookup(module, name)
    if found is None or not isinstance(found[1], ast.ClassDef | Function):
        callables = [key for key, value in module.names.items() if not _is_assignment(value)]
        hint = f"it defines {', '.join(sorted(callables))}" if callables else None
        raise module.error(None, f"{module.rel} has no class or function named '{name}'", hint)
    owner, definition = Scope(project, found[0]), found[1]
    if isinstance(definition, ast.ClassDef):
        names = _PREDICT_METHODS if mode == PREDICT else _TRAIN_METHODS
        method_scope, method = _target_method(owner, definition, names)
        return method_scope, method, True
    return owner, definition, False


def _is_assignment(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Assign | ast.AnnAssign)


def _target_method(
    scope: Scope, cls: ast.ClassDef, names: tuple[str, ...]
) -> tuple[Scope, Function]:
    """Pick the class's method among `names` (`run` or `predict`; `train`), inherited too."""
    methods = _methods(scope, cls, names, set())
    if len(methods) == 2:
        raise scope.error(cls, f"{cls.name} must define either run() or predict(), not both")
    if not methods:
        wanted = " or ".join(f"{name}()" for name in names)
        raise scope.error(cls, f"{cls.name} has no {wanted} method")
    return next(iter(methods.values()))


def _methods(
    scope: Scope, cls: ast.ClassDef, names: tuple[str, ...], seen: set[tuple[str, str]]
) -> dict[str, tuple[Scope, Function]]:
    """Collect the methods in `names` from the class, then from its project base classes."""
    seen.add((str(scope.module.rel), cls.name))
    found = {
        statement.name: (scope, statement)
        for statement in cls.body
        if isinstance(statement, Function) and statement.name in names
    }
    for base in cls.bases:
        if not isinstance(base, ast.Name | ast.Attribute):
            continue
        parent = scope.project.lookup(scope.module, ast.unparse(base))
        if parent is None or not isinstance(parent[1], ast.ClassDef):
            continue
        parent_scope, parent_cls = Scope(scope.project, parent[0]), parent[1]
        if (str(parent_scope.module.rel), parent_cls.name) in seen:
            continue
        for key, value in _methods(parent_scope, parent_cls, names, seen).items():
            found.setdefault(key, value)
    return found


def _check_enum_names(scope: Scope, fields: list[InputField]) -> None:
    """Refuse an input with choices named like a fixed component: its enum would clash."""
    for input_field in fields:
        if input_field.options.get("choices") and input_field.name in FIXED_COMPONENTS:
            message = f"an input with choices cannot be named '{input_field.name}'"
            hint = "its enum would replace the schema component of the same name"
            raise scope.error(input_field.node, message, hint)


def _output(scope: Scope, function: Function) -> dict[str, Any]:
    """Read the return annotation into the Output schema."""
    returns = function.returns
    if returns is None or scope.name_of(scope.unquote(returns)) == "None":
        message = f"{function.name}() needs a return type annotation other than None"
        raise scope.error(returns or function, message, "annotate what it returns, as in -> str")
    return output_schema(scope, returns)


def _is_streaming(scope: Scope, function: Function, output: dict[str, Any]) -> bool:
    """Tell whether the function carries `@cog.streaming`, which needs an iterator output."""
    for decorator in function.decorator_list:
        node = decorator.func if isinstance(decorator, ast.Call) else decorator
        if not _is_cog_streaming(scope, node):
            continue
        if not is_iterator(output):
            message = "@streaming needs an Iterator[...] or ConcatenateIterator[...] return type"
            raise scope.error(decorator, message)
        return True
    return False


def _is_cog_streaming(scope: Scope, node: ast.expr) -> bool:
    """Tell whether a decorator is `cog.streaming` (through any import alias)."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        imported = scope.module.imports.get(node.value.id)
        return node.attr == "streaming" and imported is not None and imported.module == "cog"
    if isinstance(node, ast.Name):
        imported = scope.module.imports.get(node.id)
        return imported is not None and (imported.module, imported.name) == ("cog", "streaming")
    return False
