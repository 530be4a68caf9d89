"""Read the project's Python files with `ast`, follow the imports between them, and
locate what is wrong in them.

Nothing here imports user code: a file is decoded, parsed and indexed, and a name is
found by walking `import` statements to other files of the project, the way Python
would find them with the project root on `sys.path` (as Cog's `/src` is).
"""

from __future__ import annotations

import ast
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

# Top-level packages that are never project files, even if a file of that name exists.
_NOT_PROJECT = frozenset(
    {"builtins", "cog", "collections", "pathlib", "pydantic", "typing", "typing_extensions"}
)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_MAX_DEPTH = 32

Definition = ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef | ast.Assign | ast.AnnAssign


class SchemaError(Exception):
    """A predictor whose schema cannot be derived, with the file, line and column at fault.

    `line` and `column` are 1-based; `column` counts characters, not bytes.
    """

    def __init__(
        self, path: Path, line: int, column: int, message: str, hint: str | None = None
    ) -> None:
        super().__init__(f"{path}:{line}:{column}: {message}")
        self.path = path
        self.line = line
        self.column = column
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Import:
    """Where one imported name comes from: `module`, and `name` inside it (None for a module)."""

    module: str
    name: str | None = None


@dataclass
class Module:
    """A parsed project file: its syntax tree, its imports and its top-level definitions."""

    path: Path
    rel: PurePosixPath
    lines: list[str]
    tree: ast.Module
    imports: dict[str, Import] = field(default_factory=dict)
    names: dict[str, Definition] = field(default_factory=dict)

    def error(self, node: ast.AST | None, message: str, hint: str | None = None) -> SchemaError:
        """Build a SchemaError located at `node`, or at the top of the file without one."""
        line = getattr(node, "lineno", 1)
        offset = getattr(node, "col_offset", 0)
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        # ast counts columns in UTF-8 bytes; people count characters.
        column = len(text.encode()[:offset].decode(errors="replace")) + 1
        return SchemaError(self.path, line, column, message, hint)


class Project:
    """The Python files of one project, each parsed on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._modules: dict[PurePosixPath, Module] = {}

    def load(self, rel: PurePosixPath) -> Module:
        """Parse the file at `rel` (relative to the root), raising SchemaError if unreadable."""
        if rel in self._modules:
            return self._modules[rel]
        path = self.root / rel
        try:
            data = path.read_bytes()
        except OSError as error:
            reason = "does not exist" if isinstance(error, FileNotFoundError) else "is unreadable"
            raise SchemaError(path, 1, 1, f"{rel} {reason}") from None
        module = _parse(path, rel, data)
        _index(module)
        self._modules[rel] = module
        return module

    def find_module(self, importer: Module, dotted: str) -> Module | None:
        """Return the project file that `import dotted` in `importer` names, if it is one."""
        bare = dotted.lstrip(".")
        level = len(dotted) - len(bare)
        parts = bare.split(".") if bare else []
        if level:
            base = importer.rel.parent
            for _ in range(level - 1):
                base = base.parent
        elif not parts or parts[0] in _NOT_PROJECT:
            return None
        else:
            base = PurePosixPath()
        stem = base.joinpath(*parts)
        candidates = [stem / "__init__.py"]
        if parts:
            candidates.insert(0, stem.with_name(stem.name + ".py"))
        for candidate in candidates:
            if (self.root / candidate).is_file():
                return self.load(candidate)
        return None

    def lookup(
        self, module: Module, dotted: str, depth: int = 0
    ) -> tuple[Module, Definition] | None:
        """Find the statement that defines `dotted` as seen from `module`, across files."""
        if depth > _MAX_DEPTH:
            return None
        if dotted in module.names:
            return module, module.names[dotted]
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            imported = module.imports.get(".".join(parts[:cut]))
            if imported is not None:
                return self._follow(module, imported, ".".join(parts[cut:]), depth + 1)
        return None

    def origin(self, module: Module, dotted: str) -> str | None:
        """Name the module outside the project that `dotted` was imported from, if any."""
        head = dotted.split(".")[0]
        imported = module.imports.get(head) or module.imports.get(dotted)
        if imported is None or self.find_module(module, imported.module) is not None:
            return None
        return imported.module

    def _follow(
        self, module: Module, imported: Import, rest: str, depth: int
    ) -> tuple[Module, Definition] | None:
        """Resolve `rest` inside what `imported` brought into `module`."""
        if imported.name is None:
            target = self.find_module(module, imported.module)
            return self.lookup(target, rest, depth) if target and rest else None
        submodule = self.find_module(module, _join(imported.module, imported.name))
        if submodule is not None and rest:
            return self.lookup(submodule, rest, depth)
        target = self.find_module(module, imported.module)
        if target is None:
            return None
        dotted = f"{imported.name}.{rest}" if rest else imported.name
        return self.lookup(target, dotted, depth)


def _join(module: str, name: str) -> str:
    """Join a module path and a name imported from it into the submodule's dotted path."""
    return module + name if module.endswith(".") else f"{module}.{name}"


def _parse(path: Path, rel: PurePosixPath, data: bytes) -> Module:
    """Decode and parse one file, turning a syntax error into a located SchemaError."""
    try:
        text = importlib.util.decode_source(data)
    except (SyntaxError, UnicodeDecodeError) as error:
        raise SchemaError(path, 1, 1, f"{rel} cannot be decoded: {error}") from None
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as error:
        line = error.lineno or 1
        column = error.offset or 1
        raise SchemaError(path, line, column, f"syntax error: {error.msg}") from None
    return Module(path, rel, _LINE_BREAK.split(text), tree)


def _index(module: Module) -> None:
    """Record the module's top-level imports and definitions; the later binding wins."""
    for statement in module.tree.body:
        for name, imported in _imports_of(statement):
            module.imports[name] = imported
            module.names.pop(name, None)
        if isinstance(statement, Definition):
            for name in _names_defined_by(statement):
                module.names[name] = statement
                module.imports.pop(name, None)


def _imports_of(statement: ast.stmt) -> list[tuple[str, Import]]:
    """List the names an import statement binds, each with where it comes from."""
    if isinstance(statement, ast.Import):
        bound: list[tuple[str, Import]] = []
        for alias in statement.names:
            if alias.asname:
                bound.append((alias.asname, Import(alias.name)))
                continue
            # `import a.b` binds `a`; the full dotted name is kept for `a.b.X` lookups.
            bound.append((alias.name.split(".")[0], Import(alias.name.split(".")[0])))
            bound.append((alias.name, Import(alias.name)))
        return bound
    if isinstance(statement, ast.ImportFrom):
        source = "." * statement.level + (statement.module or "")
        return [
            (alias.asname or alias.name, Import(source, alias.name))
            for alias in statement.names
            if alias.name != "*"
        ]
    return []


def _names_defined_by(statement: Definition) -> list[str]:
    """List the top-level names a class, function or simple assignment defines."""
    if isinstance(statement, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return [statement.name]
    if isinstance(statement, ast.Assign):
        return [target.id for target in statement.targets if isinstance(target, ast.Name)]
    if statement.value is not None and isinstance(statement.target, ast.Name):
        return [statement.target.id]
    return []
