"""Fault injection: sweeps lose nothing, reuse nothing wrong, store nothing twice and leave no process behind.

Processes are killed for real (subprocesses of ``hvkit sweep``); a full disk, a point that kills its worker
and a planted link are injected in this process.
"""
import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from kit.sweep import point as sweep_point
from kit.sweep import store as sweep_store
from kit.sweep import workers as sweep_workers
from kit import cli
from kit.inputs.spec import Spec
from kit.sweep import Store, SweepIncomplete, SweepStoreWarning, load_sweep_file, run_point, sweep

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, uses fork")

SAME = ["point", "replication", "hypervisor", "seed", "value", "native_value", "relative_performance", "events", "error"]

# about 0.1 s a point: 48 points take a few seconds on 2 workers, long enough to be killed in the middle
SLOW_YAML = ("base: {hardware: skylake-sp-2017, hypervisor: kvm, workload: netperf-rr, duration: 0.04, seed: 7,\n"
             "       engine: discrete}\n"
             "grid:\n  hw.exit_roundtrip_cycles: [150, 300, 450, 600, 750, 900, 1050, 1200, 1350, 1500, 1650, 1800]\n"
             "  hypervisor: [kvm, xen-hvm]\nreplications: 2\n")
N_SLOW = 48
# milliseconds a point: for in-process tests (the discrete engine, so that every point goes to the executor: with
# the hybrid engine a CPU-bound point has a closed form and is computed in the parent; at least one unit of spec-int)
FAST_YAML = ("base: {hardware: skylake-sp-2017, hypervisor: kvm, workload: spec-int, duration: 0.1, seed: 3,\n"
             "       engine: discrete}\n"
             "grid: {hw.exit_roundtrip_cycles: [200, 400, 800, 1600], vcpus: [1, 2]}\n")
N_FAST = 8


@pytest.fixture(scope="module")
def slow_reference(tmp_path_factory):
    p = tmp_path_factory.mktemp("ref") / "s.yaml"
    p.write_text(SLOW_YAML)
    base, kw = load_sweep_file(p)
    return sweep(base, **kw, workers=2, progress=False)


@pytest.fixture(scope="module")
def fast_reference(tmp_path_factory):
    p = tmp_path_factory.mktemp("ref") / "s.yaml"
    p.write_text(FAST_YAML)
    base, kw = load_sweep_file(p)
    return sweep(base, **kw, workers=1, progress=False)


# ---- helpers that read the store and /proc without kit.sweep -------------------------------------

def stored_records(store: Path) -> list[dict]:
    """Every record in every chunk (duplicates kept), each chunk's checksum verified."""
    import hashlib
    recs = []
    for f in sorted(store.glob("points-*.jsonl")):
        head, _, body = f.read_bytes().partition(b"\n")
        assert json.loads(head)["sha256"] == hashlib.sha256(body).hexdigest(), f
        recs += [json.loads(line) for line in body.splitlines()]
    return recs


def n_stored(store: Path) -> int:
    try:
        return len(stored_records(store))
    except (OSError, ValueError, AssertionError):  # a chunk being renamed while we look
        return -1


def children(pid: int) -> set[int]:
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(d))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie is dead; only its parent (maybe init) has not reaped it


def wait_for(cond, timeout=120.0, what=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def start(tmp_path, *extra, workers=2):
    y = tmp_path / "s.yaml"
    y.write_text(SLOW_YAML)
    out = tmp_path / "r.parquet"
    cmd = [sys.executable, "-m", "kit.cli", "sweep", str(y), "-o", str(out), "--workers", str(workers),
           "--no-progress", *extra]
    # a terminal's default Ctrl-C disposition, whatever this test inherited (a background job ignores SIGINT, and
    # a Python started with SIGINT ignored never raises KeyboardInterrupt)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return proc, cmd, out, tmp_path / "r.parquet.points"


def check_complete(out, store, reference, reused):
    df = pd.read_parquet(out)
    assert len(df) == N_SLOW and (df["error"] == "").all()                       # zero lost
    pd.testing.assert_frame_equal(df[SAME], reference[SAME])                      # zero wrong
    keys = [r["key"] for r in stored_records(store)]
    assert len(keys) == len(set(keys)) == N_SLOW                                  # zero duplicated
    assert all(r["result"]["error"] == "" for r in stored_records(store))         # no stored infra error
    assert int(df["reused"].sum()) == reused


# ---- real kills ------------------------------------------------------------------------------------

@pytest.mark.slow
def test_killing_a_worker_is_retried_not_stored(tmp_path, slow_reference):
    proc, cmd, out, store = start(tmp_path)
    try:
        wait_for(lambda: n_stored(store) >= 1, what="a first stored chunk")
        workers = children(proc.pid)
        assert len(workers) == 2
        os.kill(min(workers), signal.SIGKILL)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    assert "0 failed" in err and "Broken" not in err
    check_complete(out, store, slow_reference, reused=0)


@pytest.mark.slow
def test_a_stopped_worker_is_killed_and_its_points_retried_never_a_stall(tmp_path, slow_reference):
    proc, cmd, out, store = start(tmp_path)
    stopped = None
    try:
        wait_for(lambda: n_stored(store) >= 1, what="a first stored chunk")
        workers = children(proc.pid)
        assert len(workers) == 2
        stopped = min(workers)
        os.kill(stopped, signal.SIGSTOP)  # alive, holding its point, never answering
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        if stopped is not None and alive(stopped):
            os.kill(stopped, signal.SIGKILL)
    assert proc.returncode == 0, err
    assert not alive(stopped), "the stopped worker was killed"
    check_complete(out, store, slow_reference, reused=0)


@pytest.mark.slow
def test_a_point_over_the_timeout_is_given_up_unstored_not_waited_for(tmp_path, monkeypatch):
    y = _yaml(tmp_path, FAST_YAML)
    monkeypatch.setattr(sweep_workers, "point_timeout", lambda: 1.0)
    monkeypatch.setattr(sweep_workers, "LIVENESS_S", 0.2)
    monkeypatch.setattr(sweep_workers, "result_of", _sleeps_on_vcpus_2)
    base, kw = load_sweep_file(y)
    t0 = time.monotonic()
    with pytest.raises(SweepIncomplete, match="the point timeout") as exc:
        sweep(base, **kw, workers=2, progress=False, store=tmp_path / "st")
    assert time.monotonic() - t0 < 120
    df = exc.value.frame
    stuck = df["vcpus"] == 2
    assert stuck.sum() == 4 and df[stuck]["error"].str.contains("point timeout").all()
    assert (df[~stuck]["error"] == "").all()
    assert sorted(r["key"] for r in stored_records(tmp_path / "st")) == sorted(df[~stuck]["spec_hash"])


def _sleeps_on_vcpus_2(spec):
    if spec.vcpus == 2:
        time.sleep(3600)
    return run_point(spec)


@pytest.mark.slow
def test_killing_a_worker_then_the_main_process_loses_nothing(tmp_path, slow_reference):
    proc, cmd, out, store = start(tmp_path)
    seen = set()
    try:
        wait_for(lambda: n_stored(store) >= 1, what="a first stored chunk")
        first = children(proc.pid)
        seen |= first
        os.kill(min(first), signal.SIGKILL)
        at_kill = n_stored(store)
        # the pool is rebuilt and the sweep goes on
        wait_for(lambda: children(proc.pid) - first, what="a rebuilt pool")
        wait_for(lambda: n_stored(store) >= at_kill + 4, what="progress after the worker died")
        assert n_stored(store) < N_SLOW, "the sweep ended before the main process could be killed"
        seen |= children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # the main process only, as the OOM killer would
        proc.wait(timeout=30)
        wait_for(lambda: not any(alive(p) for p in seen), timeout=20, what="the workers to die with the parent")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for p in seen:
            if alive(p):
                os.kill(p, signal.SIGKILL)
    before = n_stored(store)
    assert 0 < before < N_SLOW and not out.exists()
    r = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    check_complete(out, store, slow_reference, reused=before)


@pytest.mark.slow
@pytest.mark.parametrize("sig,code,word,group", [(signal.SIGINT, 130, "interrupted", True),
                                                 (signal.SIGTERM, 143, "terminated", False)])
def test_ctrl_c_and_sigterm_store_what_finished_and_say_one_line(tmp_path, slow_reference, sig, code, word, group):
    proc, cmd, out, store = start(tmp_path)
    try:
        wait_for(lambda: n_stored(store) >= 1, what="a first stored chunk")
        workers = children(proc.pid)
        # Ctrl-C in a terminal reaches the whole process group; `kill` reaches the main process
        (os.killpg if group else os.kill)(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    m = re.fullmatch(rf"hvkit: {word}; (\d+) of {N_SLOW} points stored, resume with --resume", lines[0])
    assert m, lines[0]
    assert int(m.group(1)) == n_stored(store) and 0 < int(m.group(1)) < N_SLOW
    wait_for(lambda: not any(alive(p) for p in workers), timeout=20, what="the workers to stop")
    r = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    check_complete(out, store, slow_reference, reused=int(m.group(1)))


@pytest.mark.slow
def test_a_second_sweep_into_the_same_store_is_refused(tmp_path):
    proc, cmd, out, store = start(tmp_path, workers=1)  # one worker: still running when the second one starts
    try:
        wait_for(lambda: (store / ".lock").exists(), what="the first sweep to take its store")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        running = proc.poll() is None
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert running, "the first sweep ended before the second started"
    assert r.returncode == 2
    assert r.stderr.strip() == (f"hvkit: error: {store}: another sweep (pid {proc.pid}) is writing to this store; "
                                f"wait for it to finish or write to another output")


# ---- injected faults -------------------------------------------------------------------------------

def _killing_run_point(spec):
    """A point that kills its own worker process (what the OOM killer does to a point that needs too much)."""
    if spec.hw and dict(spec.hw).get("exit_roundtrip_cycles") == 400:
        os.kill(os.getpid(), signal.SIGKILL)
    return run_point(spec)


@pytest.mark.slow
def test_a_point_that_kills_its_worker_is_found_and_given_up_unstored(tmp_path, monkeypatch, fast_reference):
    monkeypatch.setattr(sweep_workers, "result_of", _killing_run_point)
    base, kw = load_sweep_file(_yaml(tmp_path, FAST_YAML))
    with pytest.raises(SweepIncomplete) as e:
        sweep(base, **kw, workers=2, progress=False, store=tmp_path / "st")
    df = e.value.frame
    bad = df["set.hw.exit_roundtrip_cycles"] == 400
    assert bad.sum() == 2 and e.value.missing == 2
    assert df[bad]["error"].str.contains("worker process died").all()
    # the innocent points that shared the pool with it were computed, and only they were stored
    pd.testing.assert_frame_equal(df[~bad][SAME], fast_reference[~bad][SAME], check_dtype=False)
    assert sorted(r["key"] for r in stored_records(tmp_path / "st")) == sorted(df[~bad]["spec_hash"])
    monkeypatch.undo()
    again = sweep(base, **kw, workers=2, progress=False, store=tmp_path / "st")
    pd.testing.assert_frame_equal(again[SAME], fast_reference[SAME])
    assert again["reused"].tolist() == (~bad).tolist()


@pytest.mark.slow
def test_points_given_up_are_one_line_and_exit_1_without_an_output(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sweep_workers, "result_of", _killing_run_point)
    out = tmp_path / "r.parquet"
    assert cli.main(["sweep", str(_yaml(tmp_path, FAST_YAML)), "-o", str(out), "--workers", "2", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("hvkit: error: 2 of 8 points could not be computed (its worker process died "
                          "(BrokenProcessPool), 3 times); 6 stored; run again (--resume) to retry them")
    assert not out.exists() and len(stored_records(tmp_path / "r.parquet.points")) == 6


FLAKY = {"n": 0}


def _flaky_run_point(spec):
    FLAKY["n"] += 1
    if FLAKY["n"] == 2:
        raise MemoryError("injected")
    return run_point(spec)


def test_a_memory_error_is_retried_not_stored_as_a_result(tmp_path, monkeypatch, fast_reference):
    monkeypatch.setattr(sweep_workers, "result_of", _flaky_run_point)
    FLAKY["n"] = 0
    base, kw = load_sweep_file(_yaml(tmp_path, FAST_YAML))
    df = sweep(base, **kw, workers=1, progress=False, store=tmp_path / "st")
    assert FLAKY["n"] == N_FAST + 1
    pd.testing.assert_frame_equal(df[SAME], fast_reference[SAME])
    assert all(r["result"]["error"] == "" for r in stored_records(tmp_path / "st"))


def _yaml(tmp_path, text):
    p = tmp_path / "s.yaml"
    p.write_text(text)
    return p


@pytest.mark.slow
def test_disk_full_is_one_line_and_what_is_stored_stays_valid(tmp_path, monkeypatch, capsys, fast_reference):
    y = _yaml(tmp_path, FAST_YAML)
    out, store = tmp_path / "r.parquet", tmp_path / "r.parquet.points"
    real = sweep_store._write_all
    calls = {"n": 0}

    def fill_up(fd, data):
        if not data.startswith(b'{"format"'):  # the store's key, written once when it is created
            return real(fd, data)
        calls["n"] += 1
        if calls["n"] >= 3:
            os.write(fd, data[: len(data) // 2])  # half written, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd, data)

    monkeypatch.setattr(sweep_store, "_write_all", fill_up)
    monkeypatch.setattr(sweep_workers, "FLUSH_POINTS", 2)
    monkeypatch.setattr(sweep_workers, "FLUSH_SECONDS", 60.0)
    argv = ["sweep", str(y), "-o", str(out), "--workers", "1", "--no-progress"]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "4 of 8 points stored and valid" in err
    assert not out.exists()
    assert sorted(p.name for p in store.iterdir() if not p.name.startswith("points-")) == [".key", ".lock"]  # no temp
    assert len(stored_records(store)) == 4
    monkeypatch.undo()
    assert cli.main(argv + ["--resume"]) == 0
    df = pd.read_parquet(out)
    pd.testing.assert_frame_equal(df[SAME], fast_reference[SAME])
    assert int(df["reused"].sum()) == 4


@pytest.mark.slow
def test_an_output_that_cannot_be_written_leaves_the_store_complete(tmp_path, monkeypatch, capsys, fast_reference):
    y = _yaml(tmp_path, FAST_YAML)
    out = tmp_path / "r.parquet"

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    assert cli.main(["sweep", str(y), "-o", str(out), "--workers", "1", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot write {out}: No space left on device; all 8 points are stored" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.parquet.points", "s.yaml"]  # no temporary left
    monkeypatch.undo()
    (tmp_path / ".r.parquet.0123456789abcdef.tmp").write_text("left by a writer that was killed")
    (tmp_path / ".r.parquet.notes.tmp").write_text("not one of ours")
    assert cli.main(["sweep", str(y), "-o", str(out), "--workers", "1", "--no-progress", "--resume"]) == 0
    assert pd.read_parquet(out)["reused"].all()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".r.parquet.notes.tmp", "r.parquet", "r.parquet.points",
                                                          "s.yaml"]


# ---- links, swaps, corruption ----------------------------------------------------------------------

def _fresh_store(tmp_path, name="st"):
    base, kw = load_sweep_file(_yaml(tmp_path, FAST_YAML))
    df = sweep(base, **kw, workers=1, progress=False, store=tmp_path / name)
    return base, kw, df, tmp_path / name


@pytest.mark.slow
def test_a_link_planted_at_a_temporary_name_is_never_written_through(tmp_path, monkeypatch, fast_reference):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    store = tmp_path / "st"
    planted = store / f".tmp-{'a' * 16}.part"  # an attacker who guessed the first name
    names = iter(["a" * 16] + [f"{i:016x}" for i in range(100)])
    real_token, tried = sweep_store.secrets.token_hex, []

    def token(n):  # temporary names (16 hex digits) come from our list, chunk names stay random
        if n != 8:
            return real_token(n)
        tried.append(next(names))
        return tried[-1]

    monkeypatch.setattr(sweep_store.secrets, "token_hex", token)
    real_lock = Store.lock

    def lock_then_plant(self):  # planted after the lock, so that it is not cleaned as a stale temporary file
        real_lock(self)
        if not os.path.lexists(planted):
            os.symlink(victim, planted)

    monkeypatch.setattr(Store, "lock", lock_then_plant)
    base, kw = load_sweep_file(_yaml(tmp_path, FAST_YAML))
    df = sweep(base, **kw, workers=1, progress=False, store=store)
    assert victim.read_text() == "precious" and os.readlink(planted) == str(victim)
    pd.testing.assert_frame_equal(df[SAME], fast_reference[SAME])
    assert len(stored_records(store)) == N_FAST and tried[:2] == ["a" * 16, "0" * 16]  # the next name was used


def test_a_stale_temporary_link_is_removed_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    store = tmp_path / "st"
    store.mkdir()
    (store / f".tmp-{'a' * 16}.part").symlink_to(victim)
    s = Store(store)
    s.lock()
    s.close()
    assert "removed 1 temporary" in s.problems[0]
    assert victim.read_text() == "precious" and not os.path.lexists(store / f".tmp-{'a' * 16}.part")


def test_when_every_temporary_name_is_taken_the_write_fails_safely(tmp_path, monkeypatch, capsys):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    y = _yaml(tmp_path, FAST_YAML)
    store = tmp_path / "r.parquet.points"
    monkeypatch.setattr(sweep_store.secrets, "token_hex", lambda n: "a" * 16)
    planted = store / f".tmp-{'a' * 16}.part"
    real_lock = Store.lock

    def lock_then_plant(self):  # planted after the lock, so that it is not cleaned as a stale temporary file
        real_lock(self)
        if not os.path.lexists(planted):
            os.symlink(victim, planted)

    monkeypatch.setattr(Store, "lock", lock_then_plant)
    assert cli.main(["sweep", str(y), "-o", str(tmp_path / "r.parquet"), "--workers", "1", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write to the store" in err and "0 of 8 points stored" in err
    assert victim.read_text() == "precious" and os.readlink(planted) == str(victim)


def test_a_store_swapped_for_a_link_mid_sweep_redirects_nothing(tmp_path):
    store, elsewhere = tmp_path / "st", tmp_path / "elsewhere"
    elsewhere.mkdir()
    s = Store(store)
    s.lock()
    store.rename(tmp_path / "moved")
    store.symlink_to(elsewhere)  # the attacker swaps the directory for a link after it was opened
    spec = Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="spec-int", duration=0.1)
    row = run_point(spec)
    s.put_many([{"key": row["spec_hash"], "version": row["kit_version"], "spec": spec.model_dump(mode="json"),
                 "result": {k: row[k] for k in sweep_point.METRIC_COLUMNS}}])
    s.close()
    assert list(elsewhere.iterdir()) == []
    assert [r["key"] for r in stored_records(tmp_path / "moved")] == [row["spec_hash"]]


@pytest.mark.slow
def test_a_chunk_replaced_by_a_link_is_not_followed(tmp_path, fast_reference):
    base, kw, _, store = _fresh_store(tmp_path)
    chunk = sorted(store.glob("points-*.jsonl"))[0]
    outside = tmp_path / "outside.jsonl"
    chunk.rename(outside)
    chunk.symlink_to(outside)
    before = outside.read_bytes()
    with pytest.warns(SweepStoreWarning, match="a symbolic link \\(not followed\\)"):
        df = sweep(base, **kw, workers=1, progress=False, store=store)
    pd.testing.assert_frame_equal(df[SAME], fast_reference[SAME])
    assert not df["reused"].any()  # its points were recomputed, not read through the link
    assert outside.read_bytes() == before and (store / f"bad-{chunk.name}").is_symlink()


def _rewrite(chunk: Path, edit, sign: bool = True) -> None:
    """Change the records of a chunk and give it a valid checksum again (a deliberate swap, not corruption); with
    ``sign``, also a valid HMAC under the store's key (what only a writer holding the key can do: the records' own
    checks must still catch it), else none (a chunk planted by someone without the key)."""
    import hashlib
    import hmac
    recs = [json.loads(line) for line in chunk.read_bytes().splitlines()[1:]]
    edit(recs)
    body = "".join(json.dumps(r) + "\n" for r in recs).encode()
    head = {"format": "hvkit-sweep-points/1", "rows": len(recs), "sha256": hashlib.sha256(body).hexdigest()}
    if sign:
        key = bytes.fromhex((chunk.parent / ".key").read_text().strip())
        head["hmac"] = hmac.new(key, body, hashlib.sha256).hexdigest()
    chunk.write_bytes(json.dumps(head).encode() + b"\n" + body)


def _swap_keys(recs):
    recs[0]["key"], recs[1]["key"] = recs[1]["key"], recs[0]["key"]


def _swap_specs(recs):
    recs[0]["spec"], recs[1]["spec"] = recs[1]["spec"], recs[0]["spec"]


def _planted_value(recs):
    recs[0]["result"]["value"] *= 8  # a plausible number, not the one computed


def _nan_value(recs):
    recs[0]["result"]["value"] = float("nan")


def _truncate(chunk):
    data = chunk.read_bytes()
    chunk.write_bytes(data[: len(data) // 2])


def _garbage(chunk):
    chunk.write_bytes(os.urandom(300))


def _emptied(chunk):
    chunk.write_bytes(b"")


@pytest.mark.parametrize("damage,warning,recomputed", [
    pytest.param(lambda c: _rewrite(c, _swap_keys), "the key does not match the spec", 2, id="keys swapped",
                 marks=pytest.mark.slow),
    pytest.param(lambda c: _rewrite(c, _swap_specs), "the key does not match the spec", 2, id="specs swapped",
                 marks=pytest.mark.slow),
    pytest.param(lambda c: _rewrite(c, _nan_value), "value is not a finite number", 1, id="NaN result"),
    pytest.param(lambda c: _rewrite(c, _planted_value, sign=False), "not authenticated by the store's key", N_FAST,
                 id="value changed, checksum recomputed, no key"),
    pytest.param(_truncate, "checksum mismatch", N_FAST, id="truncated", marks=pytest.mark.slow),
    pytest.param(_garbage, "not a point chunk", N_FAST, id="garbage", marks=pytest.mark.slow),
    pytest.param(_emptied, "not a point chunk", N_FAST, id="empty", marks=pytest.mark.slow),
])
def test_a_damaged_store_is_reported_and_recomputed_never_trusted(tmp_path, fast_reference, damage, warning,
                                                                  recomputed):
    base, kw, _, store = _fresh_store(tmp_path)
    chunks = sorted(store.glob("points-*.jsonl"))
    assert len(chunks) == 1  # a fast sweep compacts into one chunk
    damage(chunks[0])
    with pytest.warns(SweepStoreWarning, match=warning):
        df = sweep(base, **kw, workers=1, progress=False, store=store)
    pd.testing.assert_frame_equal(df[SAME], fast_reference[SAME])
    assert int((~df["reused"]).sum()) == recomputed
    with warnings_as_errors():  # the next run finds a clean store and reuses everything
        again = sweep(base, **kw, workers=1, progress=False, store=store)
    assert again["reused"].all()


def warnings_as_errors():
    import warnings
    cm = warnings.catch_warnings()
    cm.__enter__()
    warnings.simplefilter("error", SweepStoreWarning)

    class _Ctx:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            cm.__exit__(*exc)

    return _Ctx()


@pytest.mark.slow
def test_a_chunk_from_another_sweep_swapped_in_is_never_reused(tmp_path, fast_reference):
    base, kw, _, store = _fresh_store(tmp_path)
    other = tmp_path / "o.yaml"
    other.write_text(FAST_YAML.replace("seed: 3", "seed: 4"))
    obase, okw = load_sweep_file(other)
    sweep(obase, **okw, workers=1, progress=False, store=tmp_path / "other")
    mine = sorted(store.glob("points-*.jsonl"))[0]
    theirs = sorted((tmp_path / "other").glob("points-*.jsonl"))[0]
    mine.write_bytes(theirs.read_bytes())  # same name, another sweep's (valid) points
    df = sweep(base, **kw, workers=1, progress=False, store=store)
    pd.testing.assert_frame_equal(df[SAME], fast_reference[SAME])
    assert not df["reused"].any()


def test_special_files_in_the_store_neither_hang_nor_crash(tmp_path, fast_reference):
    base, kw, _, store = _fresh_store(tmp_path)
    os.mkfifo(store / "points-00000090-fifo.jsonl")  # opening it for reading would block forever
    (store / "points-00000091-dir.jsonl").mkdir()
    (store / ".tmp-0123456789abcdef.part").write_text("half a chunk")
    (store / ".tmp-mine.part").write_text("not one of ours: left alone")
    (store / "0123456789abcdef.parquet").write_text("a point of the earlier format")
    with pytest.warns(SweepStoreWarning) as rec:
        df = sweep(base, **kw, workers=1, progress=False, store=store)
    msgs = " | ".join(str(w.message) for w in rec)
    assert msgs.count("not a regular file") == 2 and "removed 1 temporary" in msgs
    assert "1 point file(s) of the earlier one-file-per-point format are not read" in msgs
    assert df["reused"].all()
    pd.testing.assert_frame_equal(df[SAME], fast_reference[SAME])
    assert not (store / ".tmp-0123456789abcdef.part").exists() and (store / ".tmp-mine.part").exists()
