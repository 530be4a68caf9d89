"""Choose the torch release and build for a GPU project (DESIGN.md section 3).

PyPI's own wheel wins when the CUDA it carries is one Cog's table lists for that torch and
is the CUDA asked for, if any; otherwise the build comes from PyTorch's index for the
wanted CUDA. Without an exact pin, the newest release that fits is chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from cognix.config.requirements import RequirementLine
from cognix.errors import InputError
from cognix.resolve._cuda_tables import CogTorch, PypiTorch, cuda_of_tag, major, minor, tables

COMPANIONS = ("torchvision", "torchaudio")


@dataclass(frozen=True)
class Wanted:
    """One requirement as the planner sees it: name, specifier, and how to rewrite it."""

    name: str
    text: str
    specifier: SpecifierSet
    extras: str = ""
    marker: str = ""
    direct: bool = False

    def pinned(self, version: str) -> str:
        """Return this requirement pinned to `version`, keeping extras and marker."""
        return f"{self.name}{self.extras}=={version}{self.marker}"

    def rewrite_to(self, version: str) -> tuple[str, str] | None:
        """Return (as written, pinned to `version`), or None when it already pins that."""
        exact = self.exact()
        if exact is not None and exact.local is None and exact == Version(version):
            return None
        return self.text, self.pinned(version)

    def exact(self) -> Version | None:
        """Return the version of a single `==`/`===` pin, or None for anything else."""
        specs = list(self.specifier)
        if len(specs) != 1 or specs[0].operator not in ("==", "===") or "*" in specs[0].version:
            return None
        try:
            return Version(specs[0].version)
        except InvalidVersion:
            return None


@dataclass(frozen=True)
class Want:
    """A CUDA major.minor the build asks for, and who asks: "build.cuda" or a +cu pin."""

    cuda: str
    origin: str = "build.cuda"

    def named(self) -> str:
        """Return who asks, with the CUDA when that is not already in the name."""
        return f"build.cuda {self.cuda}" if self.origin == "build.cuda" else self.origin


@dataclass(frozen=True)
class Tensorflow:
    """The pinned TensorFlow and the CUDA and cuDNN major Cog's table gives it."""

    text: str
    cuda: str
    cudnn: str


@dataclass(frozen=True)
class Choice:
    """The torch release and build chosen, why, and (when not pinned) the rule that chose it."""

    version: str
    cuda: str
    source: Literal["pypi", "pytorch"]
    why: str
    picked: str | None = None


def choose_torch(
    torch: Wanted | None,
    companions: Sequence[Wanted],
    want: Want | None,
    tf: Tensorflow | None,
    python: str,
) -> Choice:
    """Return the torch build for a GPU project; raise `InputError` when none fits."""
    exact = torch.exact() if torch else None
    if torch and exact is not None:
        return _pinned(exact, torch.text, want, tf, python)
    label = torch.text if torch else f"torch (for {', '.join(c.text for c in companions)})"
    allowed = [torch] if torch else []
    return _newest(label, [*allowed, *companions], want, tf, python)


def wanted_by_name(requirements: Sequence[RequirementLine | tuple[str, str]]) -> dict[str, Wanted]:
    """Return the first requirement of each (normalized) name; URLs and paths are direct."""
    found: dict[str, Wanted] = {}
    for item in requirements:
        wanted = _wanted(item)
        found.setdefault(wanted.name, wanted)
    return found


def _wanted(item: RequirementLine | tuple[str, str]) -> Wanted:
    if isinstance(item, tuple):
        name, spec = item
        try:
            specifier = SpecifierSet(spec)
        except InvalidSpecifier:
            raise InputError(f"{name}{spec}: '{spec}' is not a version specifier") from None
        return Wanted(canonicalize_name(name), f"{name}{spec}", specifier)
    req = item.requirement
    direct = req is None or req.url is not None or item.local_path is not None or item.editable
    if req is None or direct:
        return Wanted(canonicalize_name(item.name), item.text, SpecifierSet(), direct=True)
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    marker = f"; {req.marker}" if req.marker else ""
    return Wanted(canonicalize_name(req.name), item.text, req.specifier, extras, marker)


def read_tensorflow(
    line: Wanted | None, want: Want | None
) -> tuple[Tensorflow | None, tuple[str, ...]]:
    """Return the pinned TensorFlow's CUDA needs and any warnings; raise when unknowable."""
    if line is None or line.direct:
        return None, ()
    exact = line.exact()
    if exact is None:
        return None, (f"{line.text} is not pinned; its CUDA needs are not checked",)
    release = tables().tensorflow_for(exact)
    if release is not None:
        return Tensorflow(line.text, release.cuda, release.cudnn), ()
    known = [minor(version) for version in tables().tensorflow]
    msg = f"cognix does not know which CUDA {line.text} needs: Cog's table has TensorFlow "
    msg += f"{known[-1]} to {known[0]}"
    if want is None:
        raise InputError(msg, "set build.cuda, or pin a TensorFlow release the table lists")
    return None, (msg,)


def newest_known() -> str:
    """Return the newest torch release in Cog's table."""
    return next(iter(tables().torch))


def listing(values: Sequence[str], word: str = "and") -> str:
    """Join values for a sentence: "a and b", or "a, b, c"."""
    return f" {word} ".join(values) if len(values) < 3 else ", ".join(values)


def _pinned(
    version: Version, text: str, want: Want | None, tf: Tensorflow | None, python: str
) -> Choice:
    number = tables().release(version)
    want = _tagged(version, text, want)
    entry, pypi = tables().torch.get(number), tables().pypi.get(number)
    if entry is None:
        if pypi is None:
            msg = f"torch {number} is in neither Cog's torch/CUDA table nor cognix's table "
            msg += f"of PyPI torch releases (read {tables().pypi_checked})"
            raise InputError(msg, f"pin a torch those tables list, such as {newest_known()}")
        _check_python(number, python)
        return _beyond_cog(pypi, want, text)
    _check_python(number, python)
    if want is not None:
        return _for_cuda(entry, pypi, want, text)
    return _automatic(entry, pypi, tf, text)


def _tagged(version: Version, text: str, want: Want | None) -> Want | None:
    local = version.local
    if local is None:
        return want
    if not local.startswith("cu") or not local[2:].isdigit():
        msg = f"{text} is not a CUDA build of torch, but build.gpu is true"
        raise InputError(msg, f"pin torch=={version.public} or a +cuXYZ build")
    tagged = Want(cuda_of_tag(local), text)
    if want is not None and want.cuda != tagged.cuda:
        msg = f"{want.named()} does not match {text}, a CUDA {tagged.cuda} build"
        raise InputError(msg, f"drop +{local} from the pin, or set cuda to {tagged.cuda}")
    return tagged


def _for_cuda(entry: CogTorch, pypi: PypiTorch | None, want: Want, text: str) -> Choice:
    if want.cuda not in entry.cuda:
        lead = f"{want.named()} does not match {text}"
        if want.origin == text:
            lead = f"{text} asks for CUDA {want.cuda}"
        msg = f"{lead}: Cog's table lists CUDA {listing(entry.cuda)} for torch {entry.version}"
        newest = tables().newest_for_cuda(want.cuda)
        other = f"the newest is {newest}" if newest else "Cog's table has none"
        hint = f"use CUDA {listing(entry.cuda, 'or')}, or pin a torch built for CUDA "
        hint += f"{want.cuda} ({other})"
        raise InputError(msg, hint)
    if pypi and pypi.cuda == want.cuda:
        why = f"its wheel carries CUDA {want.cuda} ({pypi.carries()}), as {want.origin} asks"
        return Choice(entry.version, want.cuda, "pypi", why)
    why = f"{want.origin} asks for CUDA {want.cuda}, and {_pypi_carries(pypi)}"
    return Choice(entry.version, want.cuda, "pytorch", why)


def _automatic(
    entry: CogTorch, pypi: PypiTorch | None, tf: Tensorflow | None, text: str
) -> Choice:
    fitting = _fitting(entry, tf)
    if pypi and pypi.cuda in fitting:
        why = f"its wheel carries CUDA {pypi.cuda} ({pypi.carries()}), which Cog's table "
        why += f"lists for torch {entry.version}"
        return Choice(entry.version, pypi.cuda, "pypi", why)
    if tf is not None and not fitting:
        msg = f"{tf.text} needs CUDA {major(tf.cuda)}.x, but Cog's table lists CUDA "
        msg += f"{listing(entry.cuda)} for {text}"
        raise InputError(msg, "pin a torch release built for the CUDA TensorFlow needs")
    cuda = fitting[-1]
    why = f"{_pypi_carries(pypi)}; {cuda} is the highest CUDA Cog's table lists for it"
    why += f" that suits {tf.text}" if tf else ""
    return Choice(entry.version, cuda, "pytorch", why)


def _beyond_cog(pypi: PypiTorch, want: Want | None, text: str) -> Choice:
    newest = newest_known()
    if want is not None and want.cuda != pypi.cuda:
        msg = f"{want.named()} does not match {text}: Cog's table (up to torch {newest}) does "
        msg += f"not list it, and PyPI's wheel carries CUDA {pypi.cuda}"
        raise InputError(msg, f"use CUDA {pypi.cuda}, or pin torch {newest} or older")
    why = f"its wheel carries CUDA {pypi.cuda} ({pypi.carries()}); Cog's table ends at "
    why += f"torch {newest}, so the CUDA is PyPI's"
    return Choice(pypi.version, pypi.cuda, "pypi", why)


def _newest(
    label: str, lines: Sequence[Wanted], want: Want | None, tf: Tensorflow | None, python: str
) -> Choice:
    found = [v for v, entry in tables().torch.items() if _allows(lines, entry, python)]
    for version in found:
        entry, pypi = tables().torch[version], tables().pypi.get(version)
        if want is not None and want.cuda in entry.cuda:
            rule = f"the newest Cog's table lists for CUDA {want.cuda}"
            return _picked(_for_cuda(entry, pypi, want, label), label, rule)
        if want is None and pypi and pypi.cuda in _fitting(entry, tf):
            rule = "the newest whose PyPI wheel carries a CUDA Cog's table lists for it"
            return _picked(_automatic(entry, pypi, tf, label), label, rule)
    if want is None and found:
        entry = tables().torch[found[0]]
        choice = _automatic(entry, tables().pypi.get(found[0]), tf, label)
        return _picked(choice, label, "the newest Cog's table lists")
    needs = f" and {want.named()}" if want else ""
    msg = f"no torch release in Cog's table fits {label}, Python {python}{needs}"
    raise InputError(msg, f"pin a torch release Cog's table lists, such as {newest_known()}")


def _picked(choice: Choice, label: str, rule: str) -> Choice:
    picked = f"{label} is not pinned: chose torch {choice.version}, {rule}"
    return Choice(choice.version, choice.cuda, choice.source, choice.why, picked)


def _allows(lines: Sequence[Wanted], entry: CogTorch, python: str) -> bool:
    versions = dict(entry.companions(), torch=entry.version)
    fits = all(line.specifier.contains(versions[line.name]) for line in lines)
    return fits and python in tables().pythons(entry.version)


def _fitting(entry: CogTorch, tf: Tensorflow | None) -> list[str]:
    return [cuda for cuda in entry.cuda if tf is None or major(cuda) == major(tf.cuda)]


def _pypi_carries(pypi: PypiTorch | None) -> str:
    return f"PyPI's wheel carries CUDA {pypi.cuda}" if pypi else "PyPI's CUDA is not known"


def _check_python(version: str, python: str) -> None:
    pythons = tables().pythons(version)
    if python not in pythons:
        msg = f"torch {version} has no Linux x86_64 wheel for Python {python}"
        raise InputError(msg, f"its wheels are for Python {listing(pythons)}")
