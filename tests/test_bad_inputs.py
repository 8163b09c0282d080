"""The bad-input catalogue: each bad file or option gives one exact line on stderr, exit code 2,
no traceback, and nothing written (issue 7)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app

ROOT = Path(__file__).resolve().parent.parent
BASE = (ROOT / "scenarios" / "baseline.yaml").read_text()
runner = CliRunner()


def baseline_with(old: str, new: str) -> str:
    """The baseline with the first `old` replaced by `new` (which must be there)."""
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def line(text: str, needle: str) -> int:
    """1-based line of the first `needle` in `text`: where the error must point."""
    return text[: text.index(needle)].count("\n") + 1


@dataclass
class Bad:
    """A bad input: files to write into {d}, CLI arguments, and the exact error line."""

    name: str
    message: str  # after 'error: '; {d} is the input folder, {f} its s.yaml, {out} the --out
    args: list[str] = field(default_factory=lambda: ["run", "{f}"])
    files: dict[str, str | bytes] = field(default_factory=dict)


def bad_file(name: str, text: str | bytes, message: str) -> Bad:
    """A bad scenario file s.yaml run with `negsim run`."""
    return Bad(name, message, files={"s.yaml": text})


def bad_value(name: str, old: str, new: str, message: str, needle: str | None = None) -> Bad:
    """The baseline with one edit; {line} in `message` is the line of `needle` (default `new`)."""
    text = baseline_with(old, new)
    return bad_file(name, text, message.format(line=line(text, needle or new), f="{f}"))


def bad_option(name: str, *options: str, message: str) -> Bad:
    """The valid baseline run with bad command-line options."""
    return Bad(name, message, args=["run", str(ROOT / "scenarios" / "baseline.yaml"), *options])


def bad_param(name: str, *specs: str, message: str) -> Bad:
    """`negsim sweep` of the baseline with bad --param specs."""
    args = ["sweep", str(ROOT / "scenarios" / "baseline.yaml"), "--reps", "10"]
    return Bad(name, message, args=args + [a for spec in specs for a in ("--param", spec)])


def bad_sweep(name: str, *options: str, message: str) -> Bad:
    """`negsim sweep` of the baseline over two beta values, with bad options."""
    args = ["sweep", str(ROOT / "scenarios" / "baseline.yaml"), "--reps", "10"]
    return Bad(name, message, args=[*args, "--param", "parties.us.tactic.beta=0.5,1", *options])


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh", strict=True)
)
UNKNOWN_TARGET = "parties.us.actors.senate.positions.missile_defense"

SWEEP_FILES = {  # a finished sweep folder of three points, as far as the folder class reads it
    "sw/manifest.json": '{"kind": "sweep", "status": "complete", "points": 3}',
    "sw/design.parquet": b"",
}
SWEEP_ADVICE = "open {d}/sw/sweep.html, or show a point: negsim show {d}/sw/points/00000"


CASES = [
    # --- the file itself
    bad_file("empty file", "", "{f}: file is empty"),
    bad_file("only comments", "# a scenario\n\n", "{f}: file is empty"),
    bad_file(
        "binary file", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "{f}: not a text file (not UTF-8)"
    ),
    bad_file("NUL bytes", "name: x\n\x00\n", "{f}: not a text file (contains NUL bytes)"),
    bad_file(
        "list at top level", "- a\n- b\n", "{f}: top level must be a mapping of keys, not a list"
    ),
    bad_file(
        "scalar at top level",
        "just words\n",
        "{f}: top level must be a mapping of keys, not a single value",
    ),
    bad_file("file too large", "a: " + "x" * 2_100_000 + "\n", "{f}: file is larger than 2 MB"),
    Bad("no such file", "{d}/missing.yaml: no such file", args=["run", "{d}/missing.yaml"]),
    Bad("a folder", "{d}: is a folder, not a scenario file", args=["run", "{d}"]),
    # --- YAML syntax, with the line YAML knows
    bad_value(
        "unclosed bracket",
        "trust: 0.5 ",
        "trust: [0.5 ",
        "{f}:{line}: YAML error: expected ',' or ']', but got '<scalar>'",
        needle="calendar:",
    ),
    bad_value(
        "bad indentation",
        "  deadline: 2009-12-05",
        "   deadline: 2009-12-05",
        "{f}:{line}: YAML error: indentation does not line up with the lines above",
    ),
    bad_value(
        "colon in an unquoted value",
        "name: baseline",
        "name: baseline: the talks",
        "{f}:{line}: YAML error: unexpected ':' (check the indentation, or quote the value)",
    ),
    bad_value(
        "list as a key",
        "  warheads:\n    unit",
        "  [warheads]:\n    unit",
        "{f}:{line}: issues: a key must be a plain name, not a list or mapping",
        needle="[warheads]",
    ),
    bad_value(
        "tab indentation",
        "  start: 2009-05-07",
        "\tstart: 2009-05-07",
        "{f}:{line}: YAML error: tab character: indent with spaces",
    ),
    bad_value(
        "key given twice",
        "positions: {warheads: 1500, delivery_vehicles: 700,",
        "positions: {warheads: 1500, warheads: 700,",
        "{f}:{line}: parties.russia.actors.foreign_ministry.positions.warheads: key given twice",
    ),
    bad_value(
        "python object tag",
        "trust: 0.5 ",
        "trust: !!python/object/apply:os.system ['echo hacked'] ",
        "{f}:{line}: YAML error: could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'",
        needle="trust: !!",
    ),
    bad_value(
        "python name tag",
        "name: baseline",
        "name: !!python/name:os.system",
        "{f}:{line}: YAML error: could not determine a constructor for the tag 'tag:yaml.org,2002:python/name:os.system'",
    ),
    bad_file(
        "alias bomb",
        LAUGHS,
        "{f}: more than 100,000 keys and items once aliases (*name) are expanded",
    ),
    bad_file(
        "nesting too deep",
        "a: " + "[" * 1000 + "]" * 1000 + "\n",
        "{f}: YAML error: values nested too deeply",
    ),
    # --- keys and types
    bad_value(
        "misspelt top-level key",
        "replications: 2000",
        "replicatons: 2000",
        "{f}:{line}: replicatons: unknown key (did you mean 'replications'?)",
    ),
    bad_value(
        "misspelt nested key",
        "      beta: {uniform: [0.2, 0.45]}",
        "      bta: {uniform: [0.2, 0.45]}",
        "{f}:{line}: parties.russia.tactic.bta: unknown key (did you mean 'beta'?)",
    ),
    bad_value(
        "word for a number",
        "replications: 2000",
        "replications: many",
        "{f}:{line}: replications: Input should be a valid integer, unable to parse string as an integer (got 'many')",
    ),
    bad_value(
        "not a date",
        "start: 2009-05-07",
        "start: next tuesday",
        "{f}:{line}: calendar.start: Input should be a valid date or datetime, invalid character in year (got 'next tuesday')",
    ),
    bad_value(
        "number as an issue name",
        "  warheads:\n    unit",
        "  1:\n    unit",
        "{f}:{line}: issues.1.[key]: Input should be a valid string (got 1)",
        needle="  1:",
    ),
    bad_value(
        "missing required key",
        "first_mover: russia",
        "# first_mover: russia",
        "{f}: first_mover: required key is missing",
    ),
    # --- values out of bounds, NaN and infinities, weights
    bad_value(
        "share above 1",
        "trust: 0.5 ",
        "trust: 1.5 ",
        "{f}:{line}: trust: Input should be less than or equal to 1 (got 1.5)",
    ),
    bad_value(
        "beta of zero",
        "beta: {uniform: [0.2, 0.45]}",
        "beta: 0",
        "{f}:{line}: parties.russia.tactic.beta: Input should be greater than 0 (got 0)",
    ),
    bad_value(
        "NaN",
        "verification_loss: 0.03",
        "verification_loss: .nan",
        "{f}:{line}: parties.russia.verification_loss: nan is not a finite number",
    ),
    bad_value(
        "infinity",
        "max: 2200",
        "max: .inf",
        "{f}:{line}: issues.warheads.max: inf is not a finite number",
    ),
    bad_value(
        "minus infinity",
        "margin: -0.3 ",
        "margin: -.inf ",
        "{f}:{line}: parties.russia.ratifier.blocs.united_russia.margin: -inf is not a finite number",
    ),
    bad_value(
        "NaN in an unbounded float",
        "clock_boost: 2",
        "clock_boost: .nan",
        "{f}:{line}: calendar.summits.0.clock_boost: nan is not a finite number",
    ),
    bad_value(
        "range upside down",
        "max: 2200",
        "max: 900",
        "{f}:{line}: issues.warheads.max: 900.0 is not above min 1000.0",
    ),
    bad_value(
        "position outside the range",
        "positions: {warheads: 1500,",
        "positions: {warheads: 9000,",
        "{f}:{line}: parties.russia.actors.foreign_ministry.positions.warheads: 9000.0 is outside 1000.0 .. 2200.0",
    ),
    bad_file(
        "no influence anywhere",
        BASE.replace("influence: 0.40", "influence: 0")
        .replace("influence: 0.30", "influence: 0")
        .replace("influence: 0.20", "influence: 0")
        .replace("influence: 0.10", "influence: 0"),
        "{f}:"
        + str(line(BASE, "    actors:"))
        + ": parties.russia.actors: influence x salience is zero for every actor and issue: no mandate",
    ),
    # --- calendar
    bad_value(
        "deadline before start",
        "deadline: 2009-12-05",
        "deadline: 2009-01-05",
        "{f}:{line}: calendar.deadline: 2009-01-05 is not after start 2009-05-07",
    ),
    bad_value(
        "horizon before deadline",
        "horizon: 2010-12-31",
        "horizon: 2009-11-30",
        "{f}:{line}: calendar.horizon: 2009-11-30 is before the deadline 2009-12-05",
    ),
    bad_value(
        "session after the horizon",
        "start: 2009-05-17\n      venue",
        "start: 2011-05-17\n      venue",
        "{f}:{line}: calendar.sessions.0.start: 'Round 1' on 2011-05-17 is outside 2009-05-07 .. 2010-12-31",
        needle="start: 2011-05-17",
    ),
    # --- cross references
    bad_value(
        "unknown issue in positions",
        "positions: {warheads: 1500, delivery_vehicles: 700,",
        "positions: {warhead: 1500, delivery_vehicles: 700,",
        "{f}:{line}: parties.russia.actors.foreign_ministry.positions.warhead: unknown issue 'warhead' (did you mean 'warheads'?)",
    ),
    bad_value(
        "unknown first mover",
        "first_mover: russia",
        "first_mover: china",
        "{f}:{line}: first_mover: 'china' is not one of ['russia', 'us']",
    ),
    bad_value(
        "event targets a missing path",
        "target: parties.us.actors.pentagon.positions",
        "target: parties.us.actors.senate.positions",
        f"{{f}}:{{line}}: events.md_review.effects.1.target: '{UNKNOWN_TARGET}' is not a path events can change (trust, issues.<i>, parties.<p>.<margin|capacity>, parties.<p>.readiness, parties.<p>.tactic.<beta|noise|reciprocity|trust_sensitivity|discount>, parties.<p>.ratifier.mood, parties.<p>.ratifier.blocs.<b>.<margin|spread>, parties.<p>.actors.<a>.influence, parties.<p>.actors.<a>.positions.<i>, parties.<p>.actors.<a>.<salience|tolerance>.<i>)",
        needle="senate",
    ),
    # --- extends
    Bad(
        "extends cycle",
        "{d}/a.yaml: extends cycle: a.yaml -> b.yaml -> a.yaml",
        args=["run", "{d}/a.yaml"],
        files={"a.yaml": "extends: b.yaml\nname: a\n", "b.yaml": "extends: a.yaml\n"},
    ),
    Bad(
        "extends itself",
        "{d}/a.yaml: extends cycle: a.yaml -> a.yaml",
        args=["run", "{d}/a.yaml"],
        files={"a.yaml": "name: a\nextends: a.yaml\n"},
    ),
    Bad(
        "extends a missing parent",
        "{d}/a.yaml:2: extends: parent file 'gone.yaml' not found",
        args=["run", "{d}/a.yaml"],
        files={"a.yaml": "name: a\nextends: gone.yaml\n"},
    ),
    Bad(
        "extends a number",
        "{d}/a.yaml:1: extends: expected a file name, got 5",
        args=["run", "{d}/a.yaml"],
        files={"a.yaml": "extends: 5\n"},
    ),
    Bad(
        "bad key in a child",
        "{d}/a.yaml:3: parties.us.tactic.bta: unknown key (did you mean 'beta'?)",
        args=["run", "{d}/a.yaml"],
        files={
            "a.yaml": f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nparties:\n  us: {{tactic: {{bta: 2}}}}\n"
        },
    ),
    # --- command-line options
    bad_option(
        "huge replications",
        "--reps",
        "100000000000",
        message="--reps 100000000000: replications: Input should be less than or equal to 10000000 (got 100000000000)",
    ),
    bad_option(
        "zero replications",
        "--reps",
        "0",
        message="--reps 0: must be 1 or more",
    ),
    bad_option(
        "negative seed",
        "--seed",
        "-5",
        message="--seed -5: must be 0 or more",
    ),
    bad_option(
        "--set misspelt key",
        "--set",
        "parties.us.tactic.bta=2",
        message="--set parties.us.tactic.bta=2: parties.us.tactic.bta: unknown key (did you mean 'beta'?)",
    ),
    bad_option(
        "--set missing parent",
        "--set",
        "parties.china.margin=0.3",
        message="--set parties.china.margin=0.3: no key 'parties.china' in the scenario",
    ),
    bad_option(
        "--set misspelt parent",
        "--set",
        "partys.us.margin=0.3",
        message="--set partys.us.margin=0.3: no key 'partys' in the scenario (did you mean 'parties'?)",
    ),
    bad_option("--set without =", "--set", "beta", message="--set beta: expected KEY.PATH=VALUE"),
    bad_option(
        "--set empty path part",
        "--set",
        "parties..beta=1",
        message="--set parties..beta=1: empty part in key path 'parties..beta'",
    ),
    bad_option(
        "--set word for a number",
        "--set",
        "parties.us.tactic.beta=abc",
        message="--set parties.us.tactic.beta=abc: parties.us.tactic.beta: Input should be a valid number, unable to parse string as a number (got 'abc')",
    ),
    bad_option(
        "--set broken YAML",
        "--set",
        "trust=[1,",
        message="--set trust=[1,: value is not valid YAML: expected the node content, but found '<stream end>'",
    ),
    bad_option(
        "--set python tag",
        "--set",
        "trust=!!python/object:os.system",
        message="--set trust=!!python/object:os.system: value is not valid YAML: could not determine a constructor for the tag 'tag:yaml.org,2002:python/object:os.system'",
    ),
    bad_option(
        "--set into a number",
        "--set",
        "trust.x=1",
        message="--set trust.x=1: 'trust' holds no keys",
    ),
    bad_option(
        "--set list index out of range",
        "--set",
        "calendar.summits.7.trust=0",
        message="--set calendar.summits.7.trust=0: 'calendar.summits' is a list of 1; '7' is not an index 0..0",
    ),
    bad_option(
        "--set NaN",
        "--set",
        "parties.us.margin=.nan",
        message="--set parties.us.margin=.nan: parties.us.margin: nan is not a finite number",
    ),
    bad_option("--set missing value", "--set", "trust=", message="--set trust=: missing value"),
    bad_option("negative --trace", "--trace", "-1", message="--trace must be 0 or more"),
    bad_option(
        "--chunk of zero", "--chunk", "0", message="--chunk 0: must be 1 to 1,000,000 lanes"
    ),
    # --- the results folder
    Bad(
        "results folder exists",
        "{d}/old: results folder already exists; choose another --out",
        args=["run", str(ROOT / "scenarios" / "baseline.yaml"), "--out", "{d}/old"],
        files={"old/manifest.json": "{}"},
    ),
    Bad(
        "unwritable results folder",
        "{d}/file.txt/run: cannot write there (Not a directory)",
        args=["run", str(ROOT / "scenarios" / "baseline.yaml"), "--out", "{d}/file.txt/run"],
        files={"file.txt": "not a folder"},
    ),
    Bad(
        "resume a folder that is not a run",
        "{d}: not a results folder (no manifest.json)",
        args=["run", "--resume", "{d}"],
    ),
    Bad(
        "resume a complete run",
        "{d}/done: this run is already complete; nothing to resume",
        args=["run", "--resume", "{d}/done"],
        files={"done/manifest.json": '{"status": "complete"}'},
    ),
    Bad(
        "resume with a scenario too",
        "--resume DIR takes no scenario and no options but --workers, --scheduler, --png and --given",
        args=["run", "{f}", "--resume", "{d}"],
        files={"s.yaml": BASE},
    ),
    Bad("neither scenario nor --resume", "give a scenario file, or --resume DIR", args=["run"]),
    # --- validate
    Bad(
        "validate a bad file",
        "{f}:"
        + str(line(BASE, "replications: 2000"))
        + ": replicatons: unknown key (did you mean 'replications'?)",
        args=["validate", "{f}"],
        files={"s.yaml": baseline_with("replications: 2000", "replicatons: 2000")},
    ),
    # --- sweep --param specs
    bad_param(
        "--param without a range",
        "parties.us.tactic.beta",
        message="--param parties.us.tactic.beta: expected PATH=lo:hi:n, PATH=a,b,c or PATH=lo:hi",
    ),
    bad_param(
        "--param word for a number",
        "parties.us.tactic.beta=a:b:3",
        message="--param parties.us.tactic.beta=a:b:3: 'a' is not a finite number",
    ),
    bad_param(
        "--param NaN bound",
        "parties.us.tactic.beta=nan:2:3",
        message="--param parties.us.tactic.beta=nan:2:3: 'nan' is not a finite number",
    ),
    bad_param(
        "--param one point",
        "parties.us.tactic.beta=0.2:2:0",
        message="--param parties.us.tactic.beta=0.2:2:0: n must be a whole number from 2 to 100,000",
    ),
    bad_param(
        "--param grid too large",
        "parties.us.tactic.beta=0.2:2:1000",
        "parties.russia.margin=1.0:1.4:1000",
        message="the grid has 1,000,000 points; at most 100,000 are allowed",
    ),
    bad_param(
        "--param misspelt key",
        "parties.us.tactic.bta=0.2:2:3",
        message="--param parties.us.tactic.bta: no key 'bta' in the scenario (did you mean 'beta'?)",
    ),
    bad_param(
        "--param out of bounds",
        "parties.us.tactic.beta=-1:2:3",
        message="--param parties.us.tactic.beta=-1.0: parties.us.tactic.beta: Input should be greater than 0",
    ),
    bad_param(
        "--param given twice",
        "parties.us.tactic.beta=0.2:2:3",
        "parties.us.tactic.beta=0.5:1:2",
        message="each --param path may be given only once",
    ),
    # --- issue 13: impossible dates, 0/0 configurations, ignored inputs, limits
    bad_value(
        "impossible date",
        "start: 2009-05-07",
        "start: 2009-02-30",
        "{f}:{line}: calendar.start: 2009-02-30 is not a real date (day is out of range for month)",
    ),
    bad_value(
        "year zero",
        "deadline: 2009-12-05",
        "deadline: 0000-12-05",
        "{f}:{line}: calendar.deadline: 0000-12-05 is not a real date (year 0 is out of range)",
    ),
    bad_option(
        "--set impossible date",
        "--set",
        "calendar.horizon=2010-02-29",
        message="--set calendar.horizon=2010-02-29: not a real date (day is out of range for month)",
    ),
    bad_param(
        "--param impossible date",
        "calendar.start=2009-05-07,2009-02-30",
        message="--param calendar.start=2009-05-07,2009-02-30: '2009-02-30' is not a real date (day is out of range for month)",
    ),
    Bad(
        "sweep file with an impossible date",
        "{d}/sweep.yaml:4: params.calendar.start.0: 2009-02-31 is not a real date (day is out of range for month)",
        args=["sweep", "{d}/sweep.yaml"],
        files={
            "sweep.yaml": f"scenario: {ROOT / 'scenarios' / 'baseline.yaml'}\nparams:\n  calendar.start:\n    - 2009-02-31\n"
        },
    ),
    Bad(
        "sweep file with words for samples",
        "{d}/sweep.yaml: samples: expected a whole number, got 'many'",
        args=["sweep", "{d}/sweep.yaml"],
        files={
            "sweep.yaml": f"scenario: {ROOT / 'scenarios' / 'baseline.yaml'}\nmethod: lhs\nsamples: many\nparams:\n  parties.us.tactic.beta: 0.2:2\n"
        },
    ),
    bad_value(
        "deadline in the start's week",
        "deadline: 2009-12-05",
        "deadline: 2009-05-10",
        "{f}:{line}: calendar.deadline: 2009-05-10 is in the start's week; set it later",
    ),
    bad_option(
        "rubinstein with the default discount",
        "--set",
        "parties.us.tactic.kind=rubinstein",
        message="--set parties.us.tactic.kind=rubinstein: parties.us.tactic.kind: 'rubinstein' needs a discount below 1, not 1.0",
    ),
    bad_value(
        "event before the calendar",
        "window: [2009-06-01, 2010-12-31]",
        "window: [2008-06-01, 2008-12-31]",
        "{f}:{line}: events.md_review.window: outside the calendar 2009-05-07 .. 2010-12-31: it could never fire",
    ),
    bad_option(
        "--set extends",
        "--set",
        "extends=other.yaml",
        message="--set extends=other.yaml: extends is read from the file; it cannot be set",
    ),
    bad_option(
        "--set superscript index",
        "--set",
        "calendar.summits.\u00b2.trust=0",
        message="--set calendar.summits.\u00b2.trust=0: 'calendar.summits' is a list of 1; '\u00b2' is not an index 0..0",
    ),
    bad_file(
        "party key that joins into another's columns",
        BASE.replace("\n  us:", "\n  us_x:"),
        "{f}:"
        + str(line(BASE, "\n  us:") + 1)
        + ": parties.us_x: party key 'us_x' may not contain '_'",
    ),
    bad_file(
        "alias string bomb",
        BASE.replace(
            'source: "the first round of the talks was scheduled to begin in Moscow on May 17"',
            "source: &big " + "x" * 400_000,
        )
        .replace("venue: not yet agreed", "venue: *big")
        .replace("      venue: Moscow\n      clock_boost", "      venue: *big\n      clock_boost"),
        "{f}: more than 1 MB of text once aliases (*name) are expanded",
    ),
    bad_option(
        "negative --workers",
        "--workers",
        "-3",
        message="--workers -3: must be 0 (all cores) or more",
    ),
    bad_option(
        "--trace too many", "--trace", "101", message="--trace 101: at most 100 lanes can be traced"
    ),
    bad_option(
        "--trace beyond the first chunk",
        "--trace",
        "30",
        "--chunk",
        "20",
        message="--trace 30: more than the 20 lanes of the first chunk",
    ),
    bad_sweep(
        "scheduler address without a port",
        "--scheduler",
        "tcp://localhost",
        message="--scheduler tcp://localhost: expected an address like tcp://HOST:8786",
    ),
    bad_sweep(
        "scheduler address with a word for a port",
        "--scheduler",
        "tcp://localhost:abc",
        message="--scheduler tcp://localhost:abc: expected an address like tcp://HOST:8786",
    ),
    bad_sweep(
        "scheduler address of a web page",
        "--scheduler",
        "http://localhost:8787/status",
        message="--scheduler http://localhost:8787/status: expected an address like tcp://HOST:8786",
    ),
    bad_sweep(
        "sweep with negative --workers",
        "--workers",
        "-1",
        message="--workers -1: must be 0 (all cores) or more",
    ),
    Bad(
        "show a complete run without its summary",
        "{d}/done/summary.json: missing",
        args=["show", "{d}/done"],
        files={"done/manifest.json": '{"status": "complete"}'},
    ),
    # --- issue 14: one vocabulary, one folder type
    Bad(
        "sweep with zero replications",
        "--reps 0: must be 1 or more",
        args=[
            "sweep",
            str(ROOT / "scenarios" / "baseline.yaml"),
            "--param",
            "parties.us.tactic.beta=0.5,1.5",
            "--reps",
            "0",
        ],
    ),
    Bad(
        "compare with zero replications quotes --reps",
        "--reps 0: must be 1 or more",
        args=[
            "compare",
            str(ROOT / "scenarios" / "baseline.yaml"),
            str(ROOT / "scenarios" / "no_linkage.yaml"),
            "--reps",
            "0",
            "--out",
            "{out}",
        ],
    ),
    Bad(
        "compare with a negative seed quotes --seed",
        "--seed -1: must be 0 or more",
        args=[
            "compare",
            str(ROOT / "scenarios" / "baseline.yaml"),
            str(ROOT / "scenarios" / "no_linkage.yaml"),
            "--seed",
            "-1",
            "--out",
            "{out}",
        ],
    ),
    Bad(
        "explain with negative workers",
        "--workers -2: must be 0 (all cores) or more",
        args=[
            "explain",
            str(ROOT / "scenarios" / "baseline.yaml"),
            "--workers",
            "-2",
            "--out",
            "{out}",
        ],
    ),
    Bad(
        "show a sweep folder",
        "{d}/sw: not a run or sweep point folder but a sweep folder of 3 points; " + SWEEP_ADVICE,
        args=["show", "{d}/sw"],
        files=SWEEP_FILES,
    ),
    Bad(
        "compare a sweep folder",
        "{d}/sw: not a run or sweep point folder but a sweep folder of 3 points; " + SWEEP_ADVICE,
        args=["compare", "{d}/sw", str(ROOT / "scenarios" / "baseline.yaml"), "--out", "{out}"],
        files=SWEEP_FILES,
    ),
    Bad(
        "resume a sweep folder as a run",
        "{d}/sw: not a run folder but a sweep folder of 3 points; " + SWEEP_ADVICE,
        args=["run", "--resume", "{d}/sw"],
        files=SWEEP_FILES,
    ),
    Bad(
        "resume a run folder as a sweep",
        "{d}/done: not a sweep folder but a run folder; its files are in the folder",
        args=["sweep", "--resume", "{d}/done"],
        files={"done/manifest.json": '{"status": "complete"}'},
    ),
    Bad(
        "show an unfinished sweep point",
        "{d}/sw/points/00001: sweep point is interrupted, not complete; "
        "finish it with: negsim sweep --resume {d}/sw",
        args=["show", "{d}/sw/points/00001"],
        files={
            **SWEEP_FILES,
            "sw/points/00001/manifest.json": '{"status": "interrupted", "kind": "run", "point": 1}',
        },
    ),
    Bad(
        "run on a ucx scheduler",
        "--scheduler ucx://127.0.0.1:8786: expected an address like tcp://HOST:8786",
        args=[
            "run",
            str(ROOT / "scenarios" / "baseline.yaml"),
            "--reps",
            "10",
            "--scheduler",
            "ucx://127.0.0.1:8786",
        ],
    ),
    Bad(
        "validate a sweep file naming a bad parameter",
        "--param parties.us.tactic.bta: no key 'bta' in the scenario (did you mean 'beta'?)",
        args=["validate", "{d}/sweep.yaml"],
        files={
            "sweep.yaml": f"scenario: {ROOT / 'scenarios' / 'baseline.yaml'}\n"
            "params:\n  parties.us.tactic.bta: 0.2:2.0:3\n"
        },
    ),
]
# run in a real `python -m sim.cli` process, not only through typer's test runner
SUBPROCESS = {
    "binary file",
    "misspelt nested key",
    "python object tag",
    "huge replications",
    "extends cycle",
    "results folder exists",
    "--param misspelt key",
    "impossible date",
    "--set impossible date",
    "alias string bomb",
}


def prepare(case: Bad, tmp_path: Path) -> tuple[list[str], str, Path]:
    """Write the case's files; return its arguments, expected line, and the --out folder."""
    d = tmp_path / "in"
    d.mkdir()
    for name, content in case.files.items():
        path = d / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    out = tmp_path / "out"
    fill = {"d": str(d), "f": str(d / "s.yaml"), "out": str(out)}
    args = [a.format(**fill) for a in case.args]
    if "--out" not in args and args[0] in ("run", "sweep") and "--resume" not in args:
        args += ["--out", str(out)]
    return args, "error: " + case.message.format(**fill), out


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its content: to prove nothing was written."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_catalogue_is_big_and_distinct():
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)
    assert len({c.message for c in CASES}) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gives_one_exact_line_and_exit_2(case: Bad, tmp_path: Path):
    args, expected, out = prepare(case, tmp_path)
    before = snapshot(tmp_path)
    if case.name in SUBPROCESS:
        proc = subprocess.run(
            [sys.executable, "-m", "sim.cli", *args], cwd=tmp_path, capture_output=True, text=True
        )
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    else:
        result = runner.invoke(app, args)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        code, stdout, stderr = result.exit_code, result.stdout, result.stderr
    assert code == 2, stdout + stderr
    assert stderr.splitlines() == [expected]
    assert "Traceback" not in stdout + stderr
    assert not out.exists()
    assert snapshot(tmp_path) == before
