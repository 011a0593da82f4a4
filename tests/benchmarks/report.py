"""The one table `make bench` prints and writes to docs/benchmarks.md.

Each benchmark measures its figures and calls `record(Figure(...))`; the figures land
as JSON under var/bench/results/ (one file per id). After pytest, `python -m
tests.benchmarks.report` reads them all, prints the table and writes the document with
the machine, the versions and the exact command. A benchmark that did not run this time
keeps no stale row: `make bench` clears the results first."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "var" / "bench" / "results"
DOCUMENT = ROOT / "docs" / "benchmarks.md"


def smoke() -> bool:
    """`make bench-smoke`: every benchmark at a tiny size, to prove it still runs."""
    return os.environ.get("BENCH_SMOKE") == "1"


def size(full: int, tiny: int) -> int:
    return tiny if smoke() else full


@dataclass
class Spread:
    """A figure over rounds: median with its min–max."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values))

    def text(self, unit: str = "", digits: int = 0) -> str:
        return f"{self.median:,.{digits}f}{unit} ({self.low:,.{digits}f}–{self.high:,.{digits}f})"


@dataclass
class Figure:
    """One row of the table. `ours` and `baseline` are what a reader sees (figure,
    spread, queries per request); `ratio` is what the target judges; `met` is None when
    the target cannot be judged (a smoke run)."""

    id: str
    path: str
    ours: str
    baseline: str
    ratio: str
    target: str
    met: bool | None
    changed: str = ""
    details: list[str] = field(default_factory=list)


def record(figure: Figure) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    if smoke():
        figure.met = None
    (RESULTS / f"{figure.id}.json").write_text(json.dumps(asdict(figure), indent=1))
    print(f"[bench] {figure.id} {figure.path}: {figure.ours} | {figure.baseline} | {figure.ratio} "
          f"| target {figure.target}: {verdict(figure.met)}")


def verdict(met: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "not judged (smoke)"}[met]


def clear() -> None:
    for path in RESULTS.glob("*.json"):
        path.unlink()


def figures() -> list[Figure]:
    def order(figure: Figure) -> tuple:
        head = figure.id.rstrip("abcdefghijklmnopqrstuvwxyz")
        number = "".join(ch for ch in head if ch.isdigit())
        return (head.rstrip("0123456789"), int(number or 0), figure.id)

    return sorted((Figure(**json.loads(path.read_text())) for path in RESULTS.glob("*.json")), key=order)


def command_version(*argv: str) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)  # nosec B603
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "not found"


def machine() -> list[str]:
    import django

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                         if line.startswith("MemTotal")))
    return [
        f"- Machine: {os.cpu_count()} cores ({cpu}), {memory_kb / 1024 / 1024:.0f} GiB, {platform.platform()}",
        f"- Python {platform.python_version()}, Django {django.get_version()}",
        f"- {command_version('psql', '--version')}; {command_version('redis-server', '--version')}",
        f"- {command_version('wrk', '--version')}",
        # Other work on the machine moves every absolute figure; the ratios are what is judged.
        "- Load average when written (1, 5, 15 min): " + ", ".join(f"{load:.1f}" for load in os.getloadavg()),
    ]


def table(rows: list[Figure]) -> list[str]:
    lines = ["| id | path | ValuePulse | baseline | ratio | target | verdict |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row.id} | {row.path} | {row.ours} | {row.baseline} | {row.ratio} | {row.target} "
                     f"| {verdict(row.met)} |")
    return lines


def document(rows: list[Figure], command: str) -> str:
    lines = ["# Benchmarks", "", "Written by `make bench` (tests/benchmarks/report.py); do not edit by hand.", "",
             f"Command: `{command}`", "", *machine(), "", *table(rows), ""]
    for row in rows:
        if row.changed or row.details:
            lines += [f"## {row.id}: {row.path}", ""]
            if row.changed:
                lines += ["What was changed to reach it: " + row.changed, ""]
            lines += [f"- {detail}" for detail in row.details]
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    rows = figures()
    print("\n".join(table(rows)))
    if smoke():
        return 0  # a smoke run proves the benchmarks run; its figures mean nothing
    command = " ".join(argv[1:]) or "make bench"
    DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
    DOCUMENT.write_text(document(rows, command))
    print(f"Written to {DOCUMENT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
