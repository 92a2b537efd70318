"""Cost per series of the text exposition, in executed instructions (valgrind callgrind).

    python benchmarks/growth_instructions.py                  # 1k, 10k, 100k series
    python benchmarks/growth_instructions.py --sizes 10000 1000000

The wall-clock growth factors of `run.py` (text exposition at 1k...1M series) move by a few
x between runs on a shared machine; instruction counts do not depend on load. For each size
a registry of N labelled counter series (the same shape as run.py's ``text_scale_*``
workloads) is scraped once to warm the caches, then the instructions of two more scrapes
(difference between a run with 0 and a run with 2 extra scrapes, halved) are divided by N.
Flat cost per series means the same number on every row. Needs ``valgrind``; runs this
checkout's ``src/`` with the interpreter given by ``--python`` (default: this one).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

DRIVER = """
import sys
size, extra = int(sys.argv[1]), int(sys.argv[2])
from prometheus_client import CollectorRegistry, Counter, generate_latest
r = CollectorRegistry()
c = Counter('bench_requests', 'Requests', ['path', 'code'], registry=r)
for i in range(size // 10):
    for code in ('200', '201', '204', '301', '302', '400', '401', '404', '500', '503'):
        c.labels('/api/v1/item/%d' % i, code).inc(i)
generate_latest(r)
for _ in range(extra):
    generate_latest(r)
"""


def instructions(python: str, size: int, extra: int) -> int:
    env = dict(os.environ, PYTHONPATH=str(SRC), PYTHONHASHSEED="0")
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, "-c", DRIVER,
         str(size), str(extra)],
        capture_output=True, text=True, env=env, check=True,
    )
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if found is None:
        sys.exit("no instruction count in valgrind's output:\n" + proc.stderr[-2000:])
    return int(found.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()
    print("| series | instructions per scrape | per series | growth vs previous size |")
    print("| ---: | ---: | ---: | ---: |")
    previous = None
    for size in args.sizes:
        per_scrape = (instructions(args.python, size, 2) - instructions(args.python, size, 0)) // 2
        growth = "" if previous is None else f"{per_scrape / previous:.2f}x"
        print(f"| {size:,} | {per_scrape:,} | {per_scrape // size:,} | {growth} |", flush=True)
        previous = per_scrape
    return 0


if __name__ == "__main__":
    sys.exit(main())
