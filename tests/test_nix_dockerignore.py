"""nix/dockerignore.nix and nix/source.nix, evaluated by real Nix (builtins only, no nixpkgs).

The expected values are Docker's behaviour, read from the code BuildKit runs:
- moby/patternmatcher at 5a6d8429a19bb6948a372ff19e86fe83599a04b7: the tables of
  patternmatcher_test.go (`TestMatches`, `matchTests`, the malformed-pattern regression test)
  and ignorefile/ignorefile_test.go are copied below as they are; the other cases are worked
  out from patternmatcher.go (`compile`, `match`, `MatchesOrParentMatches`,
  `MatchesUsingParentResults`) and ignorefile/ignorefile.go (`ReadAll`);
- tonistiigi/fsutil at 6d9dc2ebad626eb645fb587f14225b3aa96ec010: filter.go, the walk BuildKit
  uses to send the build context (which directories it skips).

`isIgnored` is BuildKit's walk (`MatchesUsingParentResults`, each parent first);
`matchesOrParentMatches` is the classic builder's. They differ only where a pattern comes back
after an exception; the cases say so with a second expected value.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from cognix import external

from conftest import REPO

pytestmark = pytest.mark.skipif(
    shutil.which("nix-instantiate") is None, reason="nix-instantiate is not installed"
)

NIX_DIR = REPO / "nix"
ERROR = "error"


class Case(NamedTuple):
    """A .dockerignore text, a path, and whether Docker leaves the path out (or fails)."""

    text: str
    path: str
    ignored: bool | str
    # MatchesOrParentMatches (classic builder), where it differs from BuildKit's walk.
    classic: bool | str | None = None


# patternmatcher_test.go TestMatches: run there through MatchesOrParentMatches and
# MatchesUsingParentResults alike.
TEST_MATCHES = [
    ("**", "file", True),
    ("**", "file/", True),
    ("**/", "file", True),
    ("**/", "file/", True),
    ("**", "/", True),
    ("**/", "/", True),
    ("**", "dir/file", True),
    ("**/", "dir/file", True),
    ("**", "dir/file/", True),
    ("**/", "dir/file/", True),
    ("**/**", "dir/file", True),
    ("**/**", "dir/file/", True),
    ("dir/**", "dir/file", True),
    ("dir/**", "dir/file/", True),
    ("dir/**", "dir/dir2/file", True),
    ("dir/**", "dir/dir2/file/", True),
    ("**/dir", "dir", True),
    ("**/dir", "dir/file", True),
    ("**/dir2/*", "dir/dir2/file", True),
    ("**/dir2/*", "dir/dir2/file/", True),
    ("**/dir2/**", "dir/dir2/dir3/file", True),
    ("**/dir2/**", "dir/dir2/dir3/file/", True),
    ("**file", "file", True),
    ("**file", "dir/file", True),
    ("**/file", "dir/file", True),
    ("**file", "dir/dir/file", True),
    ("**/file", "dir/dir/file", True),
    ("**/file*", "dir/dir/file", True),
    ("**/file*", "dir/dir/file.txt", True),
    ("**/file*txt", "dir/dir/file.txt", True),
    ("**/file*.txt", "dir/dir/file.txt", True),
    ("**/file*.txt*", "dir/dir/file.txt", True),
    ("**/**/*.txt", "dir/dir/file.txt", True),
    ("**/**/*.txt2", "dir/dir/file.txt", False),
    ("**/*.txt", "file.txt", True),
    ("**/**/*.txt", "file.txt", True),
    ("a**/*.txt", "a/file.txt", True),
    ("a**/*.txt", "a/dir/file.txt", True),
    ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False),
    ("a/*.txt", "a/file.txt", True),
    ("a/*.txt**", "a/file.txt", True),
    ("a[b-d]e", "ae", False),
    ("a[b-d]e", "ace", True),
    ("a[b-d]e", "aae", False),
    ("a[^b-d]e", "aze", True),
    (".*", ".foo", True),
    (".*", "foo", False),
    ("abc.def", "abcdef", False),
    ("abc.def", "abc.def", True),
    ("abc.def", "abcZdef", False),
    ("abc?def", "abcZdef", True),
    ("abc?def", "abcdef", False),
    ("a\\\\", "a\\", True),
    ("**/foo/bar", "foo/bar", True),
    ("**/foo/bar", "dir/foo/bar", True),
    ("**/foo/bar", "dir/dir2/foo/bar", True),
    ("abc/**", "abc", False),
    ("abc/**", "abc/def", True),
    ("abc/**", "abc/def/ghi", True),
    ("**/.foo", ".foo", True),
    ("**/.foo", "bar.foo", False),
    ("a(b)c/def", "a(b)c/def", True),
    ("a(b)c/def", "a(b)c/xyz", False),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    (
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        True,
    ),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("a\\*b", "a*b", True),
]
TEST_MATCHES_MULTI = [
    (["**", "!util/docker/web"], "util/docker/web/foo", False),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", True),
    (
        ["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"],
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        False,
    ),
    (["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", False),
]
# patternmatcher_test.go matchTests (from Go's filepath.Match tests); a non-nil error there is
# ERROR here. The non-ASCII ones are in KNOWN_DIFFERENCES.
MATCH_TESTS = [
    ("abc", "abc", True),
    ("*", "abc", True),
    ("*c", "abc", True),
    ("a*", "a", True),
    ("a*", "abc", True),
    ("a*", "ab/c", True),
    ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[c]", "abc", True),
    ("ab[b-d]", "abc", True),
    ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False),
    ("ab[^b-d]", "abc", False),
    ("ab[^e-g]", "abc", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "ab", False),
    ("a?b", "a/b", False),
    ("a*b", "a/b", False),
    ("[\\]a]", "]", True),
    ("[\\-]", "-", True),
    ("[x\\-]", "x", True),
    ("[x\\-]", "-", True),
    ("[x\\-]", "z", False),
    ("[\\-x]", "x", True),
    ("[\\-x]", "-", True),
    ("[\\-x]", "a", False),
    ("[]a]", "]", ERROR),
    ("[-]", "-", ERROR),
    ("[x-]", "x", ERROR),
    ("[x-]", "-", ERROR),
    ("[x-]", "z", ERROR),
    ("[-x]", "x", ERROR),
    ("[-x]", "-", ERROR),
    ("[-x]", "a", ERROR),
    ("\\", "a", ERROR),
    ("[a-b-c]", "a", ERROR),
    ("[", "a", ERROR),
    ("[^", "a", ERROR),
    ("[^bc", "a", ERROR),
    ("a[", "a", ERROR),
    ("a[", "ab", ERROR),
    ("*x", "xxx", True),
    # TestMatchesOrParentMatchesMalformedPatternDoesNotPanicOnRepeatedCall: passes New, then
    # fails to compile (the range l-O runs backwards).
    ("[Local-Only]/", "x", ERROR),
]

# Worked out from ignorefile.go and patternmatcher.go.
OWN_CASES = [
    # Comments: a line starting with "#" (before trimming); "#" after white space is a pattern.
    Case("# comment\nfoo", "# comment", False),
    Case("# comment\nfoo", "foo", True),
    Case("  # not a comment", "# not a comment", True),
    # White space is trimmed (Go's unicode.IsSpace, non-breaking space included), blank lines
    # are skipped, CRLF line ends and a UTF-8 byte order mark are dropped.
    Case("\n  foo  \n\t\n", "foo", True),
    Case("\u00a0foo\u2003", "foo", True),
    Case("foo\r\nbar\r\n", "foo", True),
    Case("foo\r\nbar\r\n", "bar", True),
    Case("\ufefffoo", "foo", True),
    Case("\ufeff# comment", "# comment", False),
    # Patterns are cleaned like paths; a leading "/" is dropped.
    Case("/foo", "foo", True),
    Case("/foo", "a/foo", False),
    Case("./foo/../bar/", "bar", True),
    Case("foo//bar", "foo/bar", True),
    Case("foo/.", "foo/x", True),
    Case("foo/", "foo", True),
    # "*" and "?" never cross "/"; "[...]" classes, negated with "^" (not "!").
    Case("*.py", "b.py", True),
    Case("*.py", "a/b.py", False),
    Case("a?c", "abc", True),
    Case("a?c", "ac", False),
    Case("[a-c]x", "bx", True),
    Case("[a-c]x", "dx", False),
    Case("[^a]x", "bx", True),
    Case("[^a]x", "ax", False),
    Case("[!a]x", "!x", True),
    Case("[!a]x", "bx", False),
    Case("[[:digit:]]*", "1abc", True),
    Case("[[:digit:]]*", "abc", False),
    # Go's regexp classes match "/" too.
    Case("a[^b]c", "a/c", True),
    # "\" escapes the next character.
    Case("\\*x", "*x", True),
    Case("\\*x", "ax", False),
    Case("a\\?b", "a?b", True),
    Case("a\\?b", "axb", False),
    Case("\\[a]", "[a]", True),
    Case("\\[a]", "a", False),
    Case("a\\", "a", ERROR),
    # Regular-expression characters are literal.
    Case("a+b(c).txt", "a+b(c).txt", True),
    Case("a+b(c).txt", "aab(c)xtxt", False),
    Case("*.tar.gz", "x.tar.gz", True),
    Case("*.tar.gz", "x.tarxgz", False),
    # An unescaped "^" is left to Go's regexp as an anchor once the pattern has a wildcard.
    Case("^foo*", "foobar", True),
    Case("^foo*", "^foobar", False),
    Case("a^b*", "a^bc", False),
    Case("a^b", "a^b", True),
    # "**": any number of directories, and the prefix and suffix shortcuts of `match`.
    Case("**/*.pyc", "a/b/c.pyc", True),
    Case("**/*.pyc", "c.pyc", True),
    Case("a/**/b", "a/b", True),
    Case("a/**/b", "a/x/y/b", True),
    Case("a/**/b", "a/xb", False),
    Case("**/node_modules", "x/node_modules/y/z.js", True),
    Case("foo**", "foobar/x", True),
    Case("foo**", "fo", False),
    Case("**foo", "barfoo", True),
    Case("**foo", "a/xfoo", True),
    Case("**/foo", "barfoo", False),
    Case("logs/**", "logs", False),
    Case("logs/**", "logs/a", True),
    # A pattern matching a directory leaves out everything under it.
    Case("build", "build/a/b.o", True),
    Case("*/", "x/y", True),
    Case(".*", "a/.hidden", False),
    # Exceptions; the last matching pattern wins.
    Case("*.md\n!README.md", "README.md", False),
    Case("*.md\n!README.md", "a.md", True),
    Case("!README.md\n*.md", "README.md", True),
    Case("docs\n!docs/README.md", "docs/README.md", False),
    Case("docs\n!docs/README.md", "docs/other.md", True),
    Case("docs\n  ! docs/README.md  ", "docs/README.md", False),
    Case("docs\n!/docs/README.md", "docs/README.md", False),
    Case("*\n!src", "src/a/b.py", False),
    Case("*\n!src", "other/b.py", True),
    Case("*\n!src\nsrc/tmp", "src/tmp/x", True),
    # BuildKit's walk keeps what a pattern ignored only through a parent it was not tried on;
    # the classic builder's MatchesOrParentMatches tries every parent.
    Case("a\n!a/b\na", "a/b", False, classic=True),
    Case("a\n!a/b\na", "a/c", True),
    # A lone "!" is refused, also once cleaned ("!/" is "!").
    Case("!", "a", ERROR),
    Case("! ", "a", ERROR),
    Case("!/", "a", ERROR),
    # Non-ASCII names outside brackets.
    Case("café.txt", "café.txt", True),
    Case("*é*", "café.txt", True),
]

# Cases where cognix knowingly differs from Docker (each named at the top of dockerignore.nix).
# The expected value is Docker's.
KNOWN_DIFFERENCES = [
    # `?` and `[^...]` match one byte here, one UTF-8 character in Docker (matchTests).
    Case("a?b", "a\u263ab", True),
    Case("a[^a]b", "a\u263ab", True),
    Case("a???b", "a\u263ab", False),
    Case("a[^a][^a][^a]b", "a\u263ab", False),
    # Non-ASCII inside brackets is refused here (matchTests).
    Case("[a-\u03b6]*", "\u03b1", True),
    Case("*[a-\u03b6]", "A", False),
    # A backslash before a letter is a Go regexp escape in Docker: `\d` is a digit.
    Case("file\\d", "file1", True),
    # Docker turns `[*]` into the Go regexp `^[[^/]*]$`: `]` after any of `[`, `^`, `/`.
    Case("[*]", "]", True),
    # Negated named classes are refused here.
    Case("[[:^digit:]]x", "ax", True),
]

# fsutil filter.go: whether the walk goes into an ignored directory (else it skips it whole).
WALKS_INTO = [
    ("docs\n!docs/README.md", "docs", True),
    ("docs\n!docs/README.md", "other", False),
    ("build", "build", False),
    ("docs\n!*.md", "docs", True),
    ("docs\n!docs/*", "docs", True),
    ("build\n!docs/a", "build", False),
    ("a\n!a/b/**", "a", True),
    ("a\n!a/b/**", "a/c", False),
    ("a\n!a/b\\*", "x", True),
    ("ab\n!abc/d", "ab", False),
]

# ignorefile_test.go TestReadAll, without its lone "!" lines (New refuses them; see above).
READ_ALL = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n"
READ_ALL_EXPECTED = [
    {"pattern": "test1", "negated": False},
    {"pattern": "test2", "negated": False},
    {"pattern": "a/file/here", "negated": False},
    {"pattern": "lastfile", "negated": False},
    {"pattern": "inverted/abs/path", "negated": True},
]


def all_cases() -> list[Case]:
    """Every path case, in one list."""
    cases = [Case(pattern, path, ignored) for pattern, path, ignored in TEST_MATCHES]
    cases += [
        Case("\n".join(patterns), path, ignored) for patterns, path, ignored in TEST_MATCHES_MULTI
    ]
    cases += [Case(pattern, path, ignored) for pattern, path, ignored in MATCH_TESTS]
    return cases + OWN_CASES + KNOWN_DIFFERENCES


EVALUATE = """
{ nixDir, casesJson }:
let
  dockerignore = import (nixDir + "/dockerignore.nix");
  input = builtins.fromJSON casesJson;
  attempt =
    value:
    let
      result = builtins.tryEval (builtins.deepSeq value value);
    in
    if result.success then result.value else "error";
  decide =
    case:
    let
      rules = dockerignore.parse case.text;
      decided = function: attempt (builtins.deepSeq rules (function rules case.path));
    in
    {
      walk = decided dockerignore.isIgnored;
      classic = decided dockerignore.matchesOrParentMatches;
    };
in
{
  paths = map decide input.paths;
  walks = map (case: dockerignore.walksInto (dockerignore.parse case.text) case.dir) input.walks;
  readAll = map (rule: { inherit (rule) pattern negated; }) (dockerignore.parse input.readAll);
}
"""


def nix_eval(expression: str, *, read_write: bool = False, **arguments: str) -> Any:
    """Evaluate a Nix function of `arguments` (strings) strictly and return it as JSON."""
    argv = ["nix-instantiate", "--eval", "--strict", "--json"]
    if read_write:
        argv.append("--read-write-mode")
    argv += ["--expr", expression]
    for name, value in arguments.items():
        argv += ["--argstr", name, value]
    return json.loads(external.run(argv).stdout)


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    """Every case of this file, decided by one nix-instantiate call."""
    cases = {
        "paths": [{"text": case.text, "path": case.path} for case in all_cases()],
        "walks": [{"text": text, "dir": directory} for text, directory, _ in WALKS_INTO],
        "readAll": READ_ALL,
    }
    return nix_eval(EVALUATE, nixDir=str(NIX_DIR), casesJson=json.dumps(cases))  # type: ignore[no-any-return]


def _check(results: dict[str, Any], case: Case) -> None:
    got = results["paths"][all_cases().index(case)]
    classic = case.ignored if case.classic is None else case.classic
    assert (got["walk"], got["classic"]) == (case.ignored, classic), case


KNOWN = set(KNOWN_DIFFERENCES)


@pytest.mark.parametrize("case", [case for case in all_cases() if case not in KNOWN], ids=repr)
def test_path_is_ignored_as_docker_does(results: dict[str, Any], case: Case) -> None:
    _check(results, case)


@pytest.mark.xfail(strict=True, reason="a known difference from Docker (top of dockerignore.nix)")
@pytest.mark.parametrize("case", KNOWN_DIFFERENCES, ids=repr)
def test_known_difference_from_docker(results: dict[str, Any], case: Case) -> None:
    _check(results, case)


def test_walk_skips_ignored_directories_as_fsutil_does(results: dict[str, Any]) -> None:
    assert results["walks"] == [expected for _, _, expected in WALKS_INTO]


def test_refused_pattern_says_why() -> None:
    expression = '{ nixDir }: (import (nixDir + "/dockerignore.nix")).parse "*.bin\\nfile\\\\d"'
    argv = ["nix-instantiate", "--eval", "--strict", "--expr", expression]
    failed = external.run([*argv, "--argstr", "nixDir", str(NIX_DIR)], check=False)
    assert failed.returncode != 0
    assert 'cognix: .dockerignore pattern "file\\d": cognix does not support' in failed.stderr


def test_read_all_cleans_patterns_as_ignorefile_does(results: dict[str, Any]) -> None:
    assert results["readAll"] == READ_ALL_EXPECTED


LISTING = """
{ nixDir, root, ignoreName }:
let
  source = import (nixDir + "/source.nix") (
    {
      root = /. + root;
      alwaysExcluded = [ ".git" ".cognix" "flake.nix" "flake.lock" "result" ".cog" "result-*" ];
    }
    // (
      if ignoreName == ".dockerignore" then { } else { ignoreFile = /. + root + "/${ignoreName}"; }
    )
  );
  walk =
    dir: prefix:
    builtins.concatLists (
      builtins.attrValues (
        builtins.mapAttrs (
          name: type:
          if type == "directory" then
            [ "${prefix}${name}/" ] ++ walk "${dir}/${name}" "${prefix}${name}/"
          else
            [ "${prefix}${name}" ]
        ) (builtins.readDir dir)
      )
    );
in
{
  name = baseNameOf source;
  files = walk source "";
}
"""

PROJECT_FILES = [
    ".cog/openapi_schema.json",
    ".cognix/version",
    ".git/HEAD",
    "a/b/deep.py",
    "a/x.py",
    "build/lib.o",
    "build/notes.keep",
    "cache/blob",
    "cog.yaml",
    "docs/README.md",
    "docs/guide.md",
    "flake.lock",
    "flake.nix",
    "models/weights.bin",
    "predict.py",
    "result",
    "result-2/x",
    "sub/result/kept.txt",
    "weights.bin",
]
DOCKERIGNORE = """\
# the model weights are downloaded at run time
*.bin
models
docs
!docs/README.md
build
!build/notes.keep
cache/
.git
"""
# An exception with a wildcard: fsutil then walks into every ignored directory.
WILD_DOCKERIGNORE = """\
*.bin
models
build
!**/*.keep
"""
SOURCE = [
    "a/",
    "a/b/",
    "a/b/deep.py",
    "a/x.py",
    "cog.yaml",
    "predict.py",
    "sub/",
    "sub/result/",
    "sub/result/kept.txt",
]


def listing(project: Path, ignore_name: str) -> list[str]:
    """The files and directories (with a trailing "/") of source.nix's result for `project`."""
    result = nix_eval(
        LISTING, read_write=True, nixDir=str(NIX_DIR), root=str(project), ignoreName=ignore_name
    )
    assert result["name"].endswith("-source")
    return sorted(result["files"])


def test_source_keeps_what_docker_would_send(tmp_path: Path) -> None:
    project = tmp_path / "project"
    for name in PROJECT_FILES:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(name)
    (project / ".dockerignore").write_text(DOCKERIGNORE)
    (project / "wild.dockerignore").write_text(WILD_DOCKERIGNORE)
    ignore_files = [".dockerignore", "wild.dockerignore"]

    # "!build/notes.keep" can only bring back something below "build": the walk goes into
    # "build" and skips "models", "docs"' other files and "cache" whole.
    assert listing(project, ".dockerignore") == sorted(
        [
            *ignore_files,
            *SOURCE,
            "build/",
            "build/notes.keep",
            "docs/",
            "docs/README.md",
        ]
    )
    # "!**/*.keep" might bring back anything: every ignored directory is walked into and kept,
    # empty where nothing comes back ("models/"; BuildKit would not create it).
    assert listing(project, "wild.dockerignore") == sorted(
        [
            *ignore_files,
            *SOURCE,
            "build/",
            "build/notes.keep",
            "cache/",
            "cache/blob",
            "docs/",
            "docs/README.md",
            "docs/guide.md",
            "models/",
        ]
    )
    # No ignore file: only the names cognix always leaves out go.
    assert listing(project, "absent") == sorted(
        [
            *ignore_files,
            *SOURCE,
            "build/",
            "build/lib.o",
            "build/notes.keep",
            "cache/",
            "cache/blob",
            "docs/",
            "docs/README.md",
            "docs/guide.md",
            "models/",
            "models/weights.bin",
            "weights.bin",
        ]
    )
