"""The `cognix` command line: flags in, one library call per command, errors out.

Every `CognixError` ends here, in `main`, printed as one `error:` line per problem with its
hint, and turned into the exit code of DESIGN.md section 6. Heavy modules are imported
inside the commands so that `cognix --version` stays fast.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from cognix import __version__
from cognix.errors import EXIT_INTERRUPTED, CognixError, ConfigError, Problem, for_terminal

if TYPE_CHECKING:
    from cognix.commands import GenerateResult, LockResult, Runner

app = typer.Typer(
    name="cognix",
    help="Build Replicate Cog models into reproducible OCI images with Nix.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

ProjectOption = Annotated[
    Path | None,
    typer.Option("--project", "-p", help="The Cog project (default: nearest cog.yaml above)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"cognix {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show debug logs.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    _configure_logging(verbose)


@app.command()
def check(project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Validate cog.yaml, its requirements and predictor, without the network."""
    from cognix.commands import check_project

    try:
        report = check_project(project)
    except ConfigError as error:
        if as_json:
            # A program reading --json gets the problems on stdout too.
            _say(json.dumps({"valid": False, "errors": _problems_json(error)}, indent=2), False)
        raise
    _print_warnings(report.warnings)
    if as_json:
        _say(json.dumps(report.as_json(), indent=2), err=False)
    else:
        _say(report.summary(), err=False)


@app.command()
def schema(project: ProjectOption = None) -> None:
    """Print the OpenAPI schema of the predictor and trainer, read from their source."""
    from cognix.commands import schema_project

    text = schema_project(project)
    # The exact bytes of .cog/openapi_schema.json: nothing escaped or redacted.
    sys.stdout.write(text)
    sys.stdout.flush()


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the project.")] = Path("."),
) -> None:
    """Create a commented cog.yaml, predict.py and requirements.txt that check accepts."""
    from cognix.commands import init_project

    for path in init_project(directory):
        _say(f"wrote {path}", err=False)


@app.command()
def lock(
    project: ProjectOption = None,
    upgrade: Annotated[
        bool, typer.Option("--upgrade", help="Re-resolve with today's date as the cut-off.")
    ] = False,
    deep: Annotated[
        bool, typer.Option("--deep", help="Read every wheel for native libraries, however large.")
    ] = False,
) -> None:
    """Resolve every Python package to an exact, hashed wheel in pylock.toml."""
    if not (upgrade or deep):
        summary = _up_to_date_summary(project)
        if summary is not None:
            _say(summary, err=False)
            return
    from cognix.commands import lock_project

    _show_lock_result(lock_project(project, upgrade=upgrade, deep=deep))


def _show_lock_result(result: LockResult, *, summary_to_stdout: bool = True) -> None:
    _print_warnings(result.warnings)
    for note in result.notes:
        _say(f"note: {note}")
    for finding in result.findings:
        _say(f"warning: {finding}")
    _say(result.summary(), err=not summary_to_stdout)


@app.command()
def generate(
    project: ProjectOption = None,
    locked: Annotated[
        bool, typer.Option("--locked", help="Fail instead of locking when the lock is stale.")
    ] = False,
) -> None:
    """Write flake.nix, flake.lock and .cognix/ for `nix build .#image`."""
    from cognix.commands import generate_project

    result = generate_project(project, locked=locked)
    _show_generate_result(result, summary_to_stdout=True)


def _show_generate_result(result: GenerateResult, *, summary_to_stdout: bool) -> None:
    if result.lock is not None:
        _show_lock_result(result.lock, summary_to_stdout=False)
    _say(result.summary(), err=not summary_to_stdout)
    if result.untracked_hint is not None:
        _say(f"note: {result.untracked_hint}")


ImageArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="IMAGE",
        help="An image in docker or podman. Without it, the project is built with Nix and run "
        "in a container, or, with --local or when Nix or a container engine is missing, "
        "run from its lock in a local virtual environment.",
    ),
]
GpusOption = Annotated[
    bool, typer.Option("--gpus", help="Give the container every GPU (docker --gpus all).")
]
LocalOption = Annotated[
    bool, typer.Option("--local", help="Run in a local virtual environment from the lock.")
]


@app.command()
def predict(
    image: ImageArgument = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option("--input", "-i", help="An input as name=value, or name=@file."),
    ] = None,
    local: LocalOption = False,
    gpus: GpusOption = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write a file output.")
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Run one prediction and print or save its output."""
    from cognix.commands import predict_image, predict_project

    runner = _runner(image, local, project)
    if image is not None:
        result = predict_image(image, inputs or [], output, gpus=gpus)
    else:
        result = predict_project(
            project,
            inputs or [],
            output,
            build=runner.kind == "build",
            gpus=gpus,
            progress=_relay_tool_line,
            on_generated=lambda made: _show_generate_result(made, summary_to_stdout=False),
        )
    _print_warnings(result.warnings)
    if result.lock is not None and result.lock.changed:
        _say(result.lock.summary())
    if result.text is not None:
        typer.echo(result.text)
    for path in result.files:
        _say(f"wrote {path}")


@app.command()
def serve(
    image: ImageArgument = None,
    local: LocalOption = False,
    gpus: GpusOption = False,
    host: Annotated[
        str, typer.Option("--host", help="The address to listen on (0.0.0.0: every one).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="The port to listen on.")
    ] = 8393,
    project: ProjectOption = None,
) -> None:
    """Run the Cog HTTP server until Ctrl-C; print its URL on stdout once it is ready."""
    from cognix.commands import serve_image, serve_project

    runner = _runner(image, local, project)

    def ready(url: str) -> None:
        typer.echo(url)
        _say("the Cog server is ready; Ctrl-C stops it")

    if image is not None:
        serve_image(image, host=host, port=port, gpus=gpus, on_ready=ready)
        return
    serve_project(
        project,
        host=host,
        port=port,
        on_ready=ready,
        build=runner.kind == "build",
        gpus=gpus,
        on_locked=lambda lock: _say(lock.summary()) if lock.changed else None,
        progress=_relay_tool_line,
        on_generated=lambda made: _show_generate_result(made, summary_to_stdout=False),
    )


def _runner(image: str | None, local: bool, project: Path | None) -> Runner:
    """Choose where to run, and say so when a project runs locally without --local."""
    from cognix.commands import choose_runner

    runner = choose_runner(image, local, project)
    if runner.note is not None:
        _say(f"note: {runner.note}")
    return runner


@app.command()
def build(
    project: ProjectOption = None,
    locked: Annotated[
        bool,
        typer.Option("--locked", help="Fail instead of locking when pylock.toml is stale."),
    ] = False,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            help="docker, podman, docker-archive:PATH, oci-archive:PATH or oci:DIR "
            "(default: docker when its daemon answers, else podman).",
        ),
    ] = None,
    tag: Annotated[
        str | None, typer.Option("--tag", "-t", help="Name the image NAME[:TAG].")
    ] = None,
    nix_options: Annotated[
        list[str] | None,
        typer.Option(
            "--nix-option",
            metavar="NAME VALUE",
            help="Pass `--option NAME VALUE` to Nix (substituters, builders…); repeatable.",
        ),
    ] = None,
) -> None:
    """Build the image with Nix, then load it into docker or podman or write it out."""
    from cognix.commands import build_project

    result = build_project(
        project,
        locked=locked,
        output=output,
        tag=tag,
        nix_options=[_nix_option(text) for text in nix_options or []],
        progress=_relay_tool_line,
        on_generated=lambda generated: _show_generate_result(generated, summary_to_stdout=False),
    )
    if logging.getLogger("cognix").isEnabledFor(logging.DEBUG):
        _say(f"stream script: {result.stream_script}")
    _say(result.summary(), err=False)


audit_app = typer.Typer(
    help="Check that a lock is complete and that images are what they should be.",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")


@audit_app.command("diff")
def audit_diff(
    first: Annotated[str, typer.Argument(help="An image: a path, oci:DIR, docker://…")],
    second: Annotated[str, typer.Argument(help="The image to compare it with.")],
    as_json: JsonOption = False,
) -> None:
    """Compare two images layer by layer, then file by file; exit 1 when they differ."""
    from cognix.audit import diff_references, render_json, render_text

    diff = diff_references(first, second)
    # Paths and config values come from the images: escaped like every other output.
    typer.echo(render_json(diff) if as_json else for_terminal(render_text(diff)), nl=False)
    raise typer.Exit(0 if diff.identical else 1)


@audit_app.command("lock")
def audit_lock(
    project: ProjectOption = None,
    deep: Annotated[
        bool, typer.Option("--deep", help="Download every artifact again and hash it.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check that every artifact has a hash, the pin is complete, and the lock is current."""
    from cognix.commands import audit_lock_project
    from cognix.errors import JobFailed

    audit = audit_lock_project(project, deep=deep)
    if as_json:
        _say(json.dumps(audit.as_json(), indent=2), err=False)
    else:
        for problem in audit.findings:
            _say(str(problem), err=False)
            if problem.hint:
                _say(f"  hint: {problem.hint}", err=False)
    if not audit.clean:
        raise JobFailed(audit.summary())
    if not as_json:
        _say(audit.summary(), err=False)


@audit_app.command("rebuild")
def audit_rebuild(
    project: ProjectOption = None,
    nix_options: Annotated[
        list[str] | None,
        typer.Option("--nix-option", metavar="NAME VALUE", help="Pass an option to Nix."),
    ] = None,
) -> None:
    """Build the image twice (the second with `nix build --rebuild`) and compare them."""
    from cognix.commands import audit_rebuild_project
    from cognix.errors import JobFailed

    result = audit_rebuild_project(
        project,
        nix_options=[_nix_option(text) for text in nix_options or []],
        progress=_relay_tool_line,
    )
    for line in result.differences():
        _say(line, err=False)
    if result.differences():
        raise JobFailed(result.summary(), "the image is not reproducible: see the lines above")
    _say(result.summary(), err=False)


@app.command()
def sbom(
    project: ProjectOption = None,
    built: Annotated[
        str | None,
        typer.Option("--built", help="A built image (store path or result): add its closure."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the SBOM to this file.")
    ] = None,
) -> None:
    """Print the image's CycloneDX SBOM, from the lock (and with --built, the Nix closure)."""
    from cognix.commands import sbom_project

    if output is not None and output.is_dir():
        from cognix.errors import InputError

        raise InputError(f"-o {output} is a folder", "name the file to write the SBOM to")
    text = sbom_project(project, built=built)
    if output is None:
        # The document's own bytes: no escaping, so that it stays valid JSON.
        sys.stdout.write(text)
        return
    from cognix.lock import write_atomically

    write_atomically(output, text)
    _say(f"wrote {output}")


def _nix_option(text: str) -> tuple[str, str]:
    """Split one `--nix-option NAME=VALUE` (typer has no repeatable two-value option)."""
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        from cognix.errors import InputError

        raise InputError(
            f"--nix-option {text!r} is not NAME VALUE or NAME=VALUE",
            "e.g. --nix-option substituters https://cache.example.org",
        )
    return name.strip(), value


def _relay_tool_line(line: str) -> None:
    """Show one line of a tool's own progress (Nix's), indented under cognix's lines."""
    _say(f"  {line}")


def _up_to_date_summary(project: Path | None) -> str | None:
    """Say the lock is up to date when its own record proves it, without loading anything."""
    from cognix.config.files import COG_YAML, find_project_dir
    from cognix.lock import LOCK_FILE, unchanged_lock

    if project is not None and not (project / COG_YAML).is_file():
        return None
    directory = project if project is not None else find_project_dir(Path.cwd())
    if unchanged_lock(directory) is None:
        return None
    count = (directory / LOCK_FILE).read_text("utf-8").count("[[packages]]")
    return f"{LOCK_FILE} is up to date ({count} packages)"


class _TerminalFormatter(logging.Formatter):
    """Show log records as plain lines, warnings marked, made safe for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        text = for_terminal(super().format(record))
        return f"warning: {text}" if record.levelno >= logging.WARNING else text


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TerminalFormatter("%(message)s"))
    logger = logging.getLogger("cognix")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logger.propagate = False


def _say(text: str, err: bool = True) -> None:
    """Print cognix's own text: credentials redacted, control characters escaped."""
    typer.echo(for_terminal(text), err=err)


def _print_warnings(warnings: tuple[Problem, ...] | list[Problem]) -> None:
    for warning in warnings:
        _say(f"warning: {warning}")
        if warning.hint:
            _say(f"  hint: {warning.hint}")


def _print_error(error: CognixError) -> None:
    problems = error.problems if isinstance(error, ConfigError) else None
    if problems is None:
        _say(f"error: {error.message}")
        if error.hint:
            _say(f"  hint: {error.hint}")
        return
    for problem in problems:
        _say(f"error: {problem}")
        if problem.hint:
            _say(f"  hint: {problem.hint}")


def _problems_json(error: ConfigError) -> list[dict[str, object]]:
    return [
        {
            "file": str(problem.location.path),
            "line": problem.location.line,
            "column": problem.location.column,
            "message": problem.message,
            "hint": problem.hint,
        }
        for problem in error.problems
    ]


def _joined_nix_options(arguments: list[str]) -> list[str]:
    """Turn `--nix-option NAME VALUE` into `--nix-option NAME=VALUE`.

    Nix spells it `--option NAME VALUE`, but typer cannot declare a repeatable option of two
    values, so the pair is joined before typer reads it; `NAME=VALUE` is accepted as it is.
    """
    joined: list[str] = []
    index = 0
    while index < len(arguments):
        word = arguments[index]
        rest = arguments[index + 1 : index + 3]
        pair = len(rest) == 2 and "=" not in rest[0] and not rest[1].startswith("-")
        if word == "--nix-option" and pair:
            joined += [word, f"{rest[0]}={rest[1]}"]
            index += 3
            continue
        joined.append(word)
        index += 1
    return joined


def main() -> NoReturn:
    """Run the command line and exit with the code DESIGN.md section 6 gives."""
    from cognix.interrupts import stopping_on_signals

    sys.argv[1:] = _joined_nix_options(sys.argv[1:])
    try:
        # SIGTERM and SIGHUP become `Interrupted` in every command, so that `finally` blocks
        # stop what it started (uv, nix, a server) before cognix exits with 143 or 129.
        with stopping_on_signals():
            code = app(standalone_mode=False)
    except CognixError as error:
        _print_error(error)
        sys.exit(error.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        _say("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.TyperException as error:
        # Usage errors (unknown flag, missing value) from the command-line framework.
        show = getattr(error, "show", None)
        if show is None:
            typer.echo(f"error: {error}", err=True)
        else:
            show()
        sys.exit(getattr(error, "exit_code", 2))
    code = code if isinstance(code, int) else 0
    if code == EXIT_INTERRUPTED:
        # The framework turns Ctrl-C inside a command into exit code 130.
        _say("interrupted")
    sys.exit(code)
