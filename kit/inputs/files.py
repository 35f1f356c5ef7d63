"""Finding and reading the kit's input files: one loader for every validated YAML file.

The shipped catalogues (``hw_profiles/``, ``workloads/``, ``data/``) live at the top of a source checkout and
inside the installed package (``kit/_data/``, mapped there when a wheel is built). ``$HVKIT_ROOT`` points all
three at another folder. A catalogue entry is named by its id (``skylake-sp-2017``); a user's own file is given
by a path ending in ``.yaml``. Every YAML file goes through :func:`load_validated`: size and type limits,
UTF-8, no duplicate keys, bounded nesting and aliases, then a pydantic model, with one error formatter.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import HvkitError, format_validation_error

__all__ = ["project_root", "catalogue_dir", "data_dir", "locate", "read_yaml", "load_validated", "cached_load",
           "model_digest", "write_file", "check_writable", "MAX_YAML_BYTES", "ID_PATTERN"]

#: Largest YAML input accepted (profiles and workloads are a few KiB).
MAX_YAML_BYTES = 1 << 20
#: Deepest nesting and most aliases a YAML input may use, and most values it may expand to with its aliases
#: followed (guards against alias bombs: a few aliases of aliases expand to billions of values).
MAX_YAML_DEPTH = 32
MAX_YAML_ALIASES = 100
MAX_YAML_VALUES = 100_000
#: Longest catalogue id
MAX_ID_LENGTH = 100
#: What a catalogue id looks like (and therefore what cannot escape its folder).
ID_PATTERN = r"^[a-z0-9][a-z0-9.\-]*$"
CATALOGUES = ("hw_profiles", "workloads", "data")

M = TypeVar("M", bound=BaseModel)
#: Loaded files: (resolved path, builder) -> (the files the build read with the SHA-256 of their bytes, the value)
_CACHE: dict[tuple[str, object], tuple[tuple[tuple[str, str], ...], object]] = {}
#: The files read (path, SHA-256 of the bytes) by the build under way (see :func:`cached_load`)
_READS: contextvars.ContextVar[list[tuple[str, str]] | None] = contextvars.ContextVar("hvkit_reads", default=None)


def project_root() -> Path:
    """The folder that holds the catalogues: ``$HVKIT_ROOT``, else the source checkout or the package data."""
    env = os.environ.get("HVKIT_ROOT")
    if env:
        return Path(env)
    return _installed_root()


@functools.cache
def _installed_root() -> Path:
    """The source checkout that holds this module, or the package data (found once: where the kit is installed
    does not change while it runs, and resolving the path is a ``realpath`` of every component)."""
    checkout = Path(__file__).resolve().parent.parent.parent
    if (checkout / "hw_profiles").is_dir():
        return checkout
    return Path(str(resources.files("kit") / "_data"))


def catalogue_dir(name: str) -> Path:
    """One of ``hw_profiles``, ``workloads``, ``data`` under :func:`project_root`."""
    if name not in CATALOGUES:
        raise HvkitError("unknown catalogue", field="catalogue", value=name, allowed=CATALOGUES)
    return project_root() / name


def data_dir() -> Path:
    return catalogue_dir("data")


def locate(name: str, directory: Path, kind: str) -> Path:
    """A catalogue entry by id, or a user's file by a path ending in ``.yaml``; a clear error otherwise."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        return path
    if len(name) > MAX_ID_LENGTH or (not re.fullmatch(ID_PATTERN, name) and (
            "/" in name or "\\" in name or name.startswith(".") or "\x00" in name or "\n" in name)):
        raise HvkitError(f"not a {kind} name; give a user file as a path ending in .yaml", field=kind.split()[0],
                         value=_excerpt(name), allowed=sorted(p.stem for p in directory.glob("*.yaml")))
    path = directory / f"{name}.yaml"
    if not path.is_file():
        raise HvkitError(f"unknown {kind}", field=kind.split()[0], value=name,
                         allowed=sorted(p.stem for p in directory.glob("*.yaml")))
    return path


def _excerpt(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys and counts aliases."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_YAML_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_YAML_ALIASES} aliases")
        return super().compose_node(parent, index)

    def get_single_node(self) -> Any:
        """The document's node graph, refused before anything is built from it when it nests too deeply or its
        aliases expand to too many values."""
        node = super().get_single_node()
        if node is not None:
            _check_expansion(node)
        return node

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.YAMLError(f"duplicate key '{_excerpt(key)}' (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictLoader.construct_mapping)


def _check_expansion(root: Any) -> None:
    """Refuse a node graph that nests more than ``MAX_YAML_DEPTH`` levels or stands for more than
    ``MAX_YAML_VALUES`` values with every alias followed, without expanding it: each node's count and height
    are computed once (an alias reuses them), and the recursion stops at the depth limit (a recursive alias too).
    """
    memo: dict[int, tuple[int, int]] = {}  # id(node) -> (values, height)

    def visit(node: Any, level: int) -> tuple[int, int]:
        if level > MAX_YAML_DEPTH:
            raise yaml.YAMLError(f"nested more than {MAX_YAML_DEPTH} levels deep")
        hit = memo.get(id(node))
        if hit is None:
            values, height = 1, 0
            for child in _children(node):
                v, h = visit(child, level + 1)
                values, height = values + v, max(height, h + 1)
                if values > MAX_YAML_VALUES:
                    raise yaml.YAMLError(f"holds more than {MAX_YAML_VALUES} values (aliases followed)")
            hit = memo[id(node)] = (values, height)
        if level + hit[1] > MAX_YAML_DEPTH:
            raise yaml.YAMLError(f"nested more than {MAX_YAML_DEPTH} levels deep")
        return hit

    visit(root, 0)


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _depth(obj: Any, level: int = 0) -> int:
    if level > MAX_YAML_DEPTH:
        return level
    if isinstance(obj, dict):
        return max((_depth(v, level + 1) for v in obj.values()), default=level + 1)
    if isinstance(obj, list):
        return max((_depth(v, level + 1) for v in obj), default=level + 1)
    return level


def read_yaml(path: Path) -> Any:
    """Parse a YAML file with the limits above; one-line errors naming the file."""
    where = str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise HvkitError("no such file", where=where) from None
    except OSError as exc:
        raise HvkitError(f"cannot read: {exc.strerror}", where=where) from None
    if not stat.S_ISREG(st.st_mode):
        raise HvkitError("not a regular file", where=where, allowed="a YAML file")
    if st.st_size > MAX_YAML_BYTES:
        raise HvkitError(f"too large ({st.st_size} bytes)", where=where, allowed=f"at most {MAX_YAML_BYTES} bytes")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_YAML_BYTES + 1)
    except OSError as exc:
        raise HvkitError(f"cannot read: {exc.strerror}", where=where) from None
    if len(raw) > MAX_YAML_BYTES:
        raise HvkitError("too large", where=where, allowed=f"at most {MAX_YAML_BYTES} bytes")
    reads = _READS.get()
    if reads is not None:  # a cached build depends on these bytes (cached_load)
        reads.append((str(path), hashlib.sha256(raw).hexdigest()))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HvkitError("not UTF-8 text", where=where, allowed="a YAML file in UTF-8") from None
    if "\x00" in text:
        raise HvkitError("binary content", where=where, allowed="a YAML text file")
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())
        raise HvkitError(f"not valid YAML: {_excerpt(first, 160)}", where=where) from None
    except RecursionError:
        raise HvkitError("nested too deeply", where=where, allowed=f"at most {MAX_YAML_DEPTH} levels") from None
    except ValueError as exc:  # a value YAML can read but Python cannot hold (an integer of thousands of digits)
        raise HvkitError(f"a value that cannot be read: {_excerpt(' '.join(str(exc).split()), 120)}",
                         where=where) from None
    if _depth(data) > MAX_YAML_DEPTH:
        raise HvkitError("nested too deeply", where=where, allowed=f"at most {MAX_YAML_DEPTH} levels")
    return data


def load_validated(data: Any, model: type[M], where: str, what: str) -> M:
    """Validate already-read data against ``model``, with the kit's one error format."""
    if not isinstance(data, dict):
        raise HvkitError(f"{what} must be a YAML mapping", where=where, value=type(data).__name__,
                         allowed="a mapping with keys " + ", ".join(model.model_fields))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(exc, where, model) from None


def _file_digest(path: str) -> str | None:
    """SHA-256 of a file's bytes as :func:`read_yaml` reads them (None when it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read(MAX_YAML_BYTES + 1)).hexdigest()
    except OSError:
        return None


def cached_load(path: Path, build: Callable[[Path], M]) -> M:
    """``build(path)``, cached on the content of every file the build read (the file and its ``base:`` chain).

    The cache keys on bytes, never on a path or a modification time: a file edited within the clock's resolution,
    or a base file edited under an unchanged child, is read again.
    """
    try:
        key = (str(path.resolve()), build)
    except OSError:
        return build(path)  # read_yaml gives the one-line error
    outer = _READS.get()
    hit = _CACHE.get(key)
    if hit is not None and all(_file_digest(p) == d for p, d in hit[0]):
        if outer is not None:
            outer.extend(hit[0])
        return hit[1]  # type: ignore[return-value]
    token = _READS.set([])
    try:
        value = build(path)
        reads = tuple(_READS.get() or ())
    finally:
        _READS.reset(token)
    _CACHE[key] = (reads, value)
    if outer is not None:
        outer.extend(reads)
    return value


#: Digests of models (see :func:`model_digest`): id -> (the model, kept alive so its id stays its own, digest)
_DIGESTS: dict[int, tuple[BaseModel, str]] = {}
_MAX_DIGESTS = 4096


def model_digest(model: BaseModel) -> str:
    """SHA-256 (16 hex digits) of a validated model's content: what a cache or a store keys a loaded profile or
    workload on (never its file's path)."""
    hit = _DIGESTS.get(id(model))
    if hit is not None and hit[0] is model:
        return hit[1]
    digest = hashlib.sha256(model.model_dump_json().encode()).hexdigest()[:16]
    if len(_DIGESTS) >= _MAX_DIGESTS:
        _DIGESTS.pop(next(iter(_DIGESTS)))
    _DIGESTS[id(model)] = (model, digest)
    return digest


_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Refuse to write ``path`` when it is a symbolic link or exists and is not a regular file (a one-line error
    naming it); what every writer of the kit asks before it writes."""
    out = Path(path)
    try:
        st = os.lstat(out)
    except FileNotFoundError:
        return out
    except OSError as exc:
        raise HvkitError(f"cannot write: {exc.strerror}", where=str(out)) from None
    if stat.S_ISLNK(st.st_mode):
        raise HvkitError("a symbolic link; refusing to write through it (give the real path)", where=str(out))
    if not stat.S_ISREG(st.st_mode):
        raise HvkitError("exists and is not a regular file; refusing to write over it", where=str(out))
    return out


def write_file(path: str | os.PathLike[str], write: Callable[[Any], None]) -> Path:
    """Write ``path`` with ``write(binary file)``, never through a symbolic link and never half.

    The file is written to a fresh temporary name in the same folder (``O_EXCL | O_NOFOLLOW``), synced and renamed
    over ``path``; a link at ``path`` is refused (:func:`check_writable`), and one planted there meanwhile is
    replaced, never followed. Missing parent folders are created. Errors are one line naming the file.
    """
    out = check_writable(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        dfd = os.open(out.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _O_CLOEXEC)
    except OSError as exc:
        raise HvkitError(f"cannot write: {exc.strerror}", where=str(out)) from None
    tmp = None
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
        for _ in range(100):
            tmp = f".{out.name[:100]}.{secrets.token_hex(8)}.tmp"
            try:
                fd = os.open(tmp, flags, 0o666, dir_fd=dfd)
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(17, "no unused temporary name after 100 tries")
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out.name, src_dir_fd=dfd, dst_dir_fd=dfd)
        tmp = None
    except OSError as exc:
        raise HvkitError(f"cannot write: {exc.strerror or exc}", where=str(out)) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dfd)
        os.close(dfd)
    return out
