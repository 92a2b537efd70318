"""Compile the accelerator prototype with the system C compiler against the running
Python's headers, into a temporary directory (no packaging, nothing installed).

    python benchmarks/accel_prototype/build.py      # prints the directory holding the module

``build()`` returns that directory; put it on ``sys.path`` and ``import _pc_accel_proto``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "_pc_accel_proto.c"
MODULE = "_pc_accel_proto"


def build(out_dir: str = "") -> str:
    """Compile ``_pc_accel_proto.c``; return the directory the extension module was written to."""
    out = Path(out_dir or tempfile.mkdtemp(prefix="pc-accel-proto-"))
    out.mkdir(parents=True, exist_ok=True)
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise RuntimeError("no C compiler (cc) found")
    include = sysconfig.get_paths()["include"]
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    target = out / (MODULE + suffix)
    cmd = [cc, "-O2", "-shared", "-fPIC", "-Wall", "-std=c99", "-D_POSIX_C_SOURCE=200809L",
           f"-I{include}", str(SOURCE), "-o", str(target)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"compiling the prototype failed: {' '.join(cmd)}\n{proc.stderr}")
    return str(out)


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else ""))
