"""Check that a `file.py:Name` reference in cog.yaml points at something that exists.

The file is parsed with `ast`, never imported: user code may need packages that are not
installed yet, and importing it could run anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

from cognix.config.files import UnreadableFile, read_project_file
from cognix.errors import Location, Problem


def check_reference(project_dir: Path, key: str, ref: str, at: Location) -> list[Problem]:
    """Return problems with `ref` (given by cog.yaml key `key` at `at`); empty when fine."""
    file_part, _, name = ref.partition(".py:")
    relative = file_part + ".py"
    path = project_dir / relative
    try:
        source = read_project_file(path, project_dir)
    except UnreadableFile as error:
        return [Problem(at, f"'{key}' names {relative}, which {error.reason}")]

    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as error:
        where = Location(path, error.lineno or 1, error.offset or 1)
        return [Problem(where, f"invalid Python: {error.msg}")]
    except (ValueError, RecursionError, MemoryError):
        return [Problem(at, f"{relative} cannot be parsed: it nests too deeply or holds NUL")]

    defined = top_level_names(tree)
    if name in defined:
        return []
    shown = ", ".join(sorted(defined)) or "none"
    return [Problem(at, f"{relative} defines no '{name}'", f"top-level names there: {shown}")]


def top_level_names(tree: ast.Module) -> set[str]:
    """Return the names a module binds at its top level."""
    names: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            names.add(statement.target.id)
        elif isinstance(statement, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in statement.names)
    return names
