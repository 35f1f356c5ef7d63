"""Bad input to ``hvkit sweep``: one line on stderr, exit 2, before any point is computed.

Each case is (name, how to make it, expected class, expected message fragment). The command runs in this
process (``kit.cli.main``); the class is checked by running the parsed command without ``main``'s handler.
"""
import errno
import os
from pathlib import Path

import pytest

from kit import cli
from kit.sweep import output as sweep_output
from kit.errors import HvkitError
from kit.sweep import Store

GOOD = ("base: {hardware: skylake-sp-2017, hypervisor: kvm, workload: spec-int, duration: 0.05, seed: 1}\n"
        "grid: {vcpus: [1, 2]}\n")


def yaml_case(text):
    def make(tmp, mp):
        p = tmp / "s.yaml"
        p.write_text(text)
        return ["sweep", str(p), "-o", str(tmp / "r.parquet")]
    return make


def good(tmp):
    p = tmp / "s.yaml"
    p.write_text(GOOD)
    return p


def out_case(setup):
    """A good sweep file; ``setup(tmp, mp)`` prepares the trouble and returns the --output path."""
    def make(tmp, mp):
        return ["sweep", str(good(tmp)), "-o", str(setup(tmp, mp))]
    return make


def args_case(*extra):
    def make(tmp, mp):
        return ["sweep", str(good(tmp)), "-o", str(tmp / "r.parquet"), *extra]
    return make


def _dir_output(tmp, mp):
    (tmp / "d.parquet").mkdir()
    return tmp / "d.parquet"


def _file_parent(tmp, mp):
    (tmp / "f").write_text("x")
    return tmp / "f" / "r.parquet"


def _file_grandparent(tmp, mp):
    (tmp / "f").write_text("x")
    return tmp / "f" / "sub" / "r.parquet"


def _symlink_output(tmp, mp):
    victim = tmp / "victim.parquet"
    victim.write_text("precious")
    (tmp / "r.parquet").symlink_to(victim)
    return tmp / "r.parquet"


def _fifo_output(tmp, mp):
    os.mkfifo(tmp / "r.parquet")
    return tmp / "r.parquet"


def _inject(err):
    """The output directory refuses new files with ``err`` (what a chmod or a read-only mount gives;
    injected because the tests may run as root, which no chmod stops, and cannot mount)."""
    def setup(tmp, mp):
        def refuse(dir_fd, prefix, suffix):
            raise OSError(err, os.strerror(err))
        mp.setattr(sweep_output, "open_excl", refuse)
        return tmp / "r.parquet"
    return setup


def _store_is_file(tmp, mp):
    (tmp / "r.parquet.points").write_text("x")
    return tmp / "r.parquet"


def _store_is_symlink(tmp, mp):
    (tmp / "elsewhere").mkdir()
    (tmp / "r.parquet.points").symlink_to(tmp / "elsewhere")
    return tmp / "r.parquet"


def _store_of_another_user(tmp, mp):
    st = tmp / "r.parquet.points"
    st.mkdir()
    if os.geteuid() == 0:
        os.chown(st, 65534, 65534)  # really another user's
    else:
        mp.setattr(os, "geteuid", lambda: os.getuid() + 1)  # as if we were someone else
    return tmp / "r.parquet"


HELD = []


def _store_in_use(tmp, mp):
    s = Store(tmp / "r.parquet.points")
    s.lock()  # another sweep holds it (flock conflicts between open files, in one process too)
    HELD.append(s)
    return tmp / "r.parquet"


def _resume_without_store(tmp, mp):
    return ["sweep", str(good(tmp)), "-o", str(tmp / "r.parquet"), "--resume"]


def _missing_file(tmp, mp):
    return ["sweep", str(tmp / "nope.yaml"), "-o", str(tmp / "r.parquet")]


def _too_many_workers(tmp, mp):
    return args_case("--workers", str(4 * len(os.sched_getaffinity(0)) + 1))(tmp, mp)


BIG = "base: {hardware: skylake-sp-2017, hypervisor: kvm, workload: spec-int}\ngrid:\n" + "".join(
    f"  hw.k{i}: [{', '.join(map(str, range(100)))}]\n" for i in range(5))

CASES = [
    # the output and its store
    ("not parquet", out_case(lambda t, m: t / "r.csv"), HvkitError, "must be a .parquet file"),
    ("output is a directory", out_case(_dir_output), HvkitError, "it is a directory"),
    ("parent is a file", out_case(_file_parent), HvkitError, "its directory is a file"),
    ("a file in the parent path", out_case(_file_grandparent), HvkitError, "is a file, not a directory"),
    ("parent missing", out_case(lambda t, m: t / "no" / "r.parquet"), HvkitError, "does not exist"),
    ("output is a symlink", out_case(_symlink_output), HvkitError, "symbolic link"),
    ("output is a fifo", out_case(_fifo_output), HvkitError, "not a regular file"),
    ("no permission", out_case(_inject(errno.EACCES)), HvkitError, "no permission to write"),
    ("read-only file system", out_case(_inject(errno.EROFS)), HvkitError, "read-only file system"),
    ("no space for the output", out_case(_inject(errno.ENOSPC)), HvkitError, "no space left"),
    ("store is a file", out_case(_store_is_file), HvkitError, "not a directory"),
    ("store is a symlink", out_case(_store_is_symlink), HvkitError, "store is a symbolic link"),
    ("store of another user", out_case(_store_of_another_user), HvkitError, "belongs to another user"),
    ("store in use", out_case(_store_in_use), HvkitError, "another sweep (pid"),
    ("resume without store", _resume_without_store, HvkitError, "nothing to resume"),
    ("output missing", lambda t, m: ["sweep", str(good(t))], HvkitError, "required: -o/--output"),
    # workers
    ("workers 0", args_case("--workers", "0"), HvkitError, "field '--workers'"),
    ("workers negative", args_case("--workers", "-3"), HvkitError, "out of range"),
    ("workers too many", _too_many_workers, HvkitError, "out of range"),
    ("workers not a number", args_case("--workers", "two"), HvkitError, "invalid int value"),
    # the sweep file
    ("no such file", _missing_file, HvkitError, "no such file"),
    ("not YAML", yaml_case("base: [unclosed\n"), HvkitError, "not valid YAML"),
    ("not a mapping", yaml_case("- 1\n- 2\n"), HvkitError, "must be a YAML mapping"),
    ("unknown top key", yaml_case(GOOD + "grids: {vcpus: [1]}\n"), HvkitError, "grids"),
    ("base missing", yaml_case("grid: {vcpus: [1]}\n"), HvkitError, "field 'base'"),
    ("unknown set key", yaml_case(GOOD + "set: {colour: red}\n"), HvkitError, "colour"),
    ("unknown grid key", yaml_case(GOOD.replace("vcpus", "colour")), HvkitError, "colour"),
    ("grid not a list", yaml_case(GOOD.replace("[1, 2]", "3")), HvkitError, "field 'grid.vcpus'"),
    ("grid empty list", yaml_case(GOOD.replace("[1, 2]", "[]")), HvkitError, "non-empty list"),
    ("grid bad value", yaml_case(GOOD.replace("[1, 2]", "[1, 0]")), HvkitError, "vcpus"),
    ("zip lengths differ", yaml_case(GOOD + "zip: {pcpus: [1, 2], dom0_vcpus: [1]}\n"), HvkitError,
     "same length"),
    ("zip empty", yaml_case(GOOD + "zip: {pcpus: []}\n"), HvkitError, "non-empty list"),
    ("replications 0", yaml_case(GOOD + "replications: 0\n"), HvkitError, "field 'replications'"),
    ("grid NaN", yaml_case(GOOD.replace("{vcpus: [1, 2]}", "{hw.exit_roundtrip_cycles: [100, .nan]}")),
     HvkitError, "'grid.hw.exit_roundtrip_cycles[1]': not a finite number"),
    ("grid inf", yaml_case(GOOD.replace("{vcpus: [1, 2]}", "{workload.mtu: [.inf]}")), HvkitError,
     "'grid.workload.mtu[0]': not a finite number"),
    ("grid 'nan' string", yaml_case(GOOD.replace("{vcpus: [1, 2]}", "{workload.mtu: ['nan']}")), HvkitError,
     "'grid.workload.mtu[0]': not a finite number"),
    ("zip -inf", yaml_case(GOOD + "zip: {hw.exit_roundtrip_cycles: [1, -.inf]}\n"), HvkitError,
     "'zip.hw.exit_roundtrip_cycles[1]': not a finite number"),
    ("point NaN", yaml_case(GOOD + "points: [{vcpus: 1}, {workload.mtu: .NaN}]\n"), HvkitError,
     "'points[1].workload.mtu': not a finite number"),
    ("set inf", yaml_case(GOOD + "set: {hw.exit_roundtrip_cycles: .inf}\n"), HvkitError,
     "'set.hw.exit_roundtrip_cycles': not a finite number"),
    ("base duration NaN", yaml_case(GOOD.replace("duration: 0.05", "duration: .nan")), HvkitError,
     "'base.duration': not a finite number"),
    ("grid too large", yaml_case(BIG), HvkitError, "the sweep has 10,000,000,000 points"),
]


@pytest.fixture(autouse=True)
def _release_held_locks():
    yield
    while HELD:
        HELD.pop().close()


def _files(tmp: Path) -> dict:
    """Every path under ``tmp`` with its content (files), link target or kind."""
    out = {}
    for p in tmp.rglob("*"):
        if p.is_symlink():
            out[p] = ("link", os.readlink(p))
        elif p.is_file():
            out[p] = p.read_bytes()
        elif not p.is_dir():
            out[p] = "special"
    return out


@pytest.mark.parametrize("name,make,cls,fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_sweep_input_is_one_line_and_exit_2(name, make, cls, fragment, tmp_path, monkeypatch, capsys):
    argv = make(tmp_path, monkeypatch)
    before = _files(tmp_path)
    with pytest.raises(cls) as e:
        args = cli.build_parser().parse_args(argv)
        args.func(args)
    assert fragment in str(e.value)
    capsys.readouterr()
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("hvkit: error: ") and fragment in err, err
    after = _files(tmp_path)
    assert after == before  # refused before any point was computed: nothing written, nothing followed


def test_the_case_table_covers_every_kind(capsys):
    assert len(CASES) == len({c[0] for c in CASES}) >= 40


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through any permission bits")
def test_a_real_unwritable_directory_is_refused(tmp_path, capsys):
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    try:
        assert cli.main(["sweep", str(good(tmp_path)), "-o", str(d / "r.parquet")]) == 2
    finally:
        d.chmod(0o755)
    assert "no permission to write" in capsys.readouterr().err
