"""Assemble benchmarks/RESULTS.md from the sections the benchmark scripts write.

Each ``bench_<topic>.py`` writes ``RESULTS-<topic>.md``; run this afterwards:

    python benchmarks/assemble_results.py
"""

from pathlib import Path

HERE = Path(__file__).parent
ORDER = (
    "spectrum",
    "spectrum-e2e",
    "gan",
    "families",
    "zoo",
    "detect",
    "default-detector",
    "cnn-small",
    "dissect",
    "paint",
    "seeing",
    "antialias",
)

HEADER = """# Benchmarks

Throughput of ganscope's hot paths, each measured as a ratio against a simple reference in the
same run, on this project's 2-core CPU machine. Regenerate a section with
`python benchmarks/bench_<topic>.py`, then this page with `python benchmarks/assemble_results.py`.
Sections say when they were measured on a machine shared with other work: their ratios hold
better than their absolute numbers.

"""


def main() -> None:
    parts = [HEADER]
    for topic in ORDER:
        path = HERE / f"RESULTS-{topic}.md"
        if path.exists():
            text = path.read_text(encoding="utf-8").strip()
            parts.append(text + "\n\n")
    (HERE / "RESULTS.md").write_text("".join(parts).rstrip() + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
