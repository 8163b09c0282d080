"""Results folders trusted only after checking (issue 13): every tampering of an unfinished run's
folder is either repaired by simulating again what does not match, or refused in one line; a
resumed folder never holds lanes of another seed, scenario or chunk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import sim.ensemble
from sim.cli import app
from sim.loader import load_scenario
from sim.run import RunFailed, run_scenario

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
REPS, CHUNK = 600, 200
runner = CliRunner()


def reference(folder: Path, seed: int) -> Path:
    """A run never interrupted: what every repaired folder must hold."""
    run_scenario(
        load_scenario(BASELINE, [f"replications={REPS}", f"seed={seed}"]), folder, chunk=CHUNK
    )
    return folder


def interrupted(folder: Path, seed: int, monkeypatch) -> Path:
    """A run stopped by a failing third chunk: two chunks kept, status interrupted."""
    real = sim.ensemble.run_chunk

    def fail_third(scenario, index, lanes, seed, trace=0, chunk=None):
        if index == 2:
            raise MemoryError("stop here")
        return real(scenario, index, lanes, seed, trace, chunk)

    monkeypatch.setattr(sim.ensemble, "run_chunk", fail_third)
    scn = load_scenario(BASELINE, [f"replications={REPS}", f"seed={seed}"])
    with pytest.raises(RunFailed):
        run_scenario(scn, folder, chunk=CHUNK)
    monkeypatch.setattr(sim.ensemble, "run_chunk", real)
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """Reference runs for seeds 7 and 8, and interrupted runs to copy and tamper with."""
    base = tmp_path_factory.mktemp("folders")
    with pytest.MonkeyPatch.context() as monkeypatch:
        return {
            "ref7": reference(base / "ref7", 7),
            "ref8": reference(base / "ref8", 8),
            "stop7": interrupted(base / "stop7", 7, monkeypatch),
            "stop8": interrupted(base / "stop8", 8, monkeypatch),
        }


def resume(folder: Path):
    return runner.invoke(app, ["run", "--resume", str(folder), "--workers", "1"])


def same_runs(folder: Path, ref: Path) -> None:
    pd.testing.assert_frame_equal(
        pd.read_parquet(folder / "runs.parquet"), pd.read_parquet(ref / "runs.parquet")
    )
    assert json.loads((folder / "manifest.json").read_text())["status"] == "complete"


def chunk(folder: Path, kind: str, index: int) -> Path:
    return folder / "chunks" / f"{kind}-{index:05d}.{'npz' if kind == 'counts' else 'arrow'}"


def swap(a: Path, b: Path) -> None:
    tmp = a.with_name("swap")
    a.rename(tmp), b.rename(a), tmp.rename(b)


REPAIRED = {  # tampering -> the note resume prints
    "runs file deleted": (
        lambda f, other: chunk(f, "runs", 1).unlink(),
        "chunk 1 is unreadable (FileNotFoundError): simulating it again",
    ),
    "counts truncated": (
        lambda f, other: chunk(f, "counts", 0).write_bytes(chunk(f, "counts", 0).read_bytes()[:99]),
        "chunk 0 is unreadable (BadZipFile): simulating it again",
    ),
    "runs truncated": (
        lambda f, other: chunk(f, "runs", 0).write_bytes(chunk(f, "runs", 0).read_bytes()[:500]),
        "chunk 0 was altered since it was saved: simulating it again",
    ),
    "runs swapped": (
        lambda f, other: swap(chunk(f, "runs", 0), chunk(f, "runs", 1)),
        "chunk 0 was altered since it was saved: simulating it again",
    ),
    "counts swapped": (
        lambda f, other: swap(chunk(f, "counts", 0), chunk(f, "counts", 1)),
        "chunk 0 was simulated for another seed, scenario or range of lanes: simulating it again",
    ),
    "chunk of another seed": (
        lambda f, other: [
            shutil.copy(chunk(other, k, 1), chunk(f, k, 1)) for k in ("runs", "counts")
        ],
        "chunk 1 was simulated for another seed, scenario or range of lanes: simulating it again",
    ),
    "chunk beyond the run": (
        lambda f, other: [shutil.copy(chunk(f, k, 0), chunk(f, k, 2)) for k in ("runs", "counts")],
        "chunk 2 was simulated for another seed, scenario or range of lanes: simulating it again",
    ),
}


@pytest.mark.parametrize("case", REPAIRED, ids=list(REPAIRED))
def test_damaged_or_foreign_chunks_are_simulated_again(folders, tmp_path, case):
    tamper, note = REPAIRED[case]
    folder = shutil.copytree(folders["stop7"], tmp_path / "run")
    tamper(folder, folders["stop8"])
    result = resume(folder)
    assert result.exit_code == 0, result.output
    assert note in result.stderr
    same_runs(folder, folders["ref7"])


def test_manifest_and_scenario_of_another_seed_redo_every_chunk(folders, tmp_path):
    folder = shutil.copytree(folders["stop7"], tmp_path / "run")
    for name in ("manifest.json", "scenario.yaml"):
        shutil.copy(folders["stop8"] / name, folder / name)
    result = resume(folder)
    assert result.exit_code == 0, result.output
    same_runs(folder, folders["ref8"])  # not seed 7's lanes, not 7's and 8's mixed


def manifest_edit(**changes):
    def edit(folder: Path) -> None:
        manifest = json.loads((folder / "manifest.json").read_text())
        (folder / "manifest.json").write_text(json.dumps({**manifest, **changes}))

    return edit


REFUSED = {
    "manifest of another seed": (
        manifest_edit(seed=8),
        "{f}: scenario.yaml and manifest.json disagree on seed or replications",
    ),
    "scenario edited": (
        lambda f: (f / "scenario.yaml").write_text(
            (f / "scenario.yaml").read_text().replace("trust: 0.5", "trust: 0.6")
        ),
        "{f}/scenario.yaml: changed since the run started (its SHA-256 differs from "
        "manifest.json); cannot resume",
    ),
    "manifest not JSON": (
        lambda f: (f / "manifest.json").write_text("{not json"),
        "{f}/manifest.json: unreadable (Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1))",
    ),
    "manifest a list": (
        lambda f: (f / "manifest.json").write_text("[]"),
        "{f}/manifest.json: not a manifest (expected a JSON object)",
    ),
    "chunk size a word": (
        manifest_edit(chunk_lanes="abc"),
        "{f}/manifest.json: chunk_lanes: 'abc' is not a whole number >= 1",
    ),
    "chunk size zero": (
        manifest_edit(chunk_lanes=0),
        "{f}/manifest.json: chunk_lanes: 0 is not a whole number >= 1",
    ),
    "scenario missing": (
        lambda f: (f / "scenario.yaml").unlink(),
        "cannot resume: {f}/scenario.yaml: no such file",
    ),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_damaged_manifest_or_scenario_is_refused_in_one_line(folders, tmp_path, case):
    tamper, message = REFUSED[case]
    folder = shutil.copytree(folders["stop7"], tmp_path / "run")
    tamper(folder)
    result = resume(folder)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == ["error: " + message.format(f=folder)]
    assert not (folder / "runs.parquet").exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / "summary.json").write_text("{"), "{f}/summary.json: unreadable (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
        (lambda f: (f / "summary.json").unlink(), "{f}/summary.json: missing"),
    ],
    ids=["summary corrupt", "summary missing"],
)  # fmt: skip
def test_show_names_a_damaged_summary(folders, tmp_path, damage, message):
    folder = shutil.copytree(folders["ref7"], tmp_path / "run")
    damage(folder)
    result = runner.invoke(app, ["show", str(folder)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["error: " + message.format(f=folder)]


FILES = ["manifest.json", "scenario.yaml", *(f"chunks/{k}-0000{i}.{e}" for i in (0, 1)
         for k, e in (("runs", "arrow"), ("counts", "npz")))]  # fmt: skip


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(FILES),
    how=st.sampled_from(["truncate", "flip", "delete", "empty"]),
    at=st.floats(min_value=0, max_value=1),
)
def test_random_damage_is_repaired_or_refused(folders, tmp_path_factory, name, how, at):
    folder = shutil.copytree(folders["stop7"], tmp_path_factory.mktemp("fuzz") / "run")
    path = folder / name
    data = path.read_bytes()
    cut = int(at * (len(data) - 1))
    if how == "delete":
        path.unlink()
    elif how == "truncate":
        path.write_bytes(data[:cut])
    elif how == "flip":
        path.write_bytes(data[:cut] + bytes([data[cut] ^ 0xFF]) + data[cut + 1 :])
    else:
        path.write_bytes(b"")
    result = resume(folder)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    if result.exit_code == 0:
        same_runs(folder, folders["ref7"])
    else:
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.output


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory) -> Path:
    """A finished two-point sweep to damage."""
    out = tmp_path_factory.mktemp("sweeps") / "sweep"
    args = ["sweep", str(BASELINE), "--param", "parties.us.tactic.beta=0.5,1", "--reps", "20",
            "--workers", "1", "--out", str(out)]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    return out


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / "manifest.json").write_text("{"), "{f}/manifest.json: unreadable (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
        (lambda f: (f / "manifest.json").write_text('{"points": "two"}'), "{f}/manifest.json: points: not a whole number"),
        (lambda f: (f / "design.parquet").write_bytes(b"PAR1"), "{f}: scenario.yaml or design.parquet is damaged"),
        (lambda f: (f / "points/00001/point.json").write_text("[]"), "{f}/points/00001/point.json: damaged"),
    ],
    ids=["manifest not JSON", "manifest wrong type", "design truncated", "point not an object"],
)  # fmt: skip
def test_damaged_sweep_folder_is_named_in_one_line(sweep_folder, tmp_path, damage, message):
    folder = shutil.copytree(sweep_folder, tmp_path / "sweep")
    (folder / "points" / "00000" / "point.json").unlink()  # one point left to do
    damage(folder)
    result = runner.invoke(app, ["sweep", "--resume", str(folder), "--workers", "1"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + message.format(f=folder))


def test_a_saved_chunk_records_the_hash_of_its_file(tmp_path):
    """write_lanes hashes the bytes as it writes them: the hash is the file's, so an unaltered
    chunk is read back and one altered byte is caught."""
    import numpy as np

    from sim import store

    path = tmp_path / "runs-00000.arrow"
    columns = {"lane": np.arange(1000), "x": np.linspace(0.0, 1.0, 1000)}
    recorded = store.write_lanes(path, columns)
    assert recorded == store.digest(path)
    assert store.read_lanes(path, recorded).column("x").to_numpy().tolist() == columns["x"].tolist()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    assert store.read_lanes(path, recorded) is None
