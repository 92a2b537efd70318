# Shared helpers for scripts/test, scripts/check, scripts/bench and scripts/demo.
# Source it from a script that has already done `cd` to the repository root.
# shellcheck shell=bash

# Where the project venvs live (gitignored) and where the official client's side venv lives
# (outside the repository, never importable from the project venvs).
CI_VENV_DIR="${CI_VENV_DIR:-$PWD/.venv-ci}"
OFFICIAL_VENV="${OFFICIAL_VENV:-${TMPDIR:-/tmp}/official-prom-venv}"
OFFICIAL_VERSION="0.26.0"

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off

log() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# pip, quiet, minus the machine-config noise about missing local find-links/index dirs.
pip_q() {
    local py="$1"
    shift
    "$py" -m pip install -q "$@" 2> >(grep -vE "^WARNING: Location '.*' is ignored" >&2)
}

# Run a command as root (directly, or through sudo when we are not root).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# find_python 3.9 -> path of the newest working CPython 3.9 interpreter.
# Order: pyenv's ~/.pyenv/versions/X.Y.*, then pythonX.Y on PATH, then python3 (with a warning).
find_python() {
    local want="$1" cand best=""
    # Newest patch release first (version sort on the directory names).
    for cand in $(ls -d "$HOME"/.pyenv/versions/"$want".*/bin/python 2>/dev/null | sort -rV); do
        if "$cand" -c 'import sys' >/dev/null 2>&1; then best="$cand"; break; fi
    done
    if [ -z "$best" ] && command -v "python$want" >/dev/null 2>&1 \
        && "python$want" -c 'import sys' >/dev/null 2>&1; then
        best="$(command -v "python$want")"
    fi
    if [ -z "$best" ] && command -v python3 >/dev/null 2>&1; then
        best="$(command -v python3)"
        warn "no Python $want found; falling back to $best ($("$best" -c 'import sys; print(sys.version.split()[0])'))"
    fi
    [ -n "$best" ] || die "no Python interpreter found for $want"
    printf '%s\n' "$best"
}

# The fingerprint of what a project venv must contain; a change reinstalls it.
# Only the [build-system] and [project*] tables of pyproject.toml matter for the install.
_deps_stamp() {
    { awk '/^\[/ { keep = ($0 ~ /^\[(build-system|project)/) } keep' pyproject.toml
      cat requirements-test.txt 2>/dev/null; } | sha256sum | cut -d' ' -f1
}

# ensure_project_venv NAME PYTHON [test|runtime]
# Creates (or reuses) $CI_VENV_DIR/NAME with the project installed editable plus, in "test"
# mode (default), requirements-test.txt. A venv whose interpreter no longer works or differs
# is recreated; a change of dependencies only re-runs pip in place (no rm -rf under the feet
# of a pytest that someone else is running from that venv).
ensure_project_venv() {
    local name="$1" py="$2" mode="${3:-test}" dir="$CI_VENV_DIR/$1"
    mkdir -p "$CI_VENV_DIR"
    (
        # Several people run scripts/test in this tree at once: serialize venv setup.
        flock -w 900 9 || die "timed out waiting for $CI_VENV_DIR/.lock"
        pyver="$("$py" -c 'import sys; print(" ".join(sys.version.split()))')"
        want="$mode:$(_deps_stamp):$pyver"
        stamp="$dir/.ci-stamp"
        if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
            && "$dir/bin/python" -c 'import sys' >/dev/null 2>&1; then
            log "reusing venv $dir ($("$dir/bin/python" -V 2>&1))"
            exit 0
        fi
        have="$("$dir/bin/python" -c 'import sys; print(" ".join(sys.version.split()))' 2>/dev/null || true)"
        if [ "$have" != "$pyver" ]; then
            log "creating venv $dir from $py ($("$py" -V 2>&1))"
            rm -rf "$dir"
            "$py" -m venv "$dir"
            pip_q "$dir/bin/python" --upgrade pip setuptools wheel
        else
            log "updating venv $dir (dependencies changed)"
        fi
        if [ "$mode" = "test" ]; then
            pip_q "$dir/bin/python" -e . -r requirements-test.txt
        else
            pip_q "$dir/bin/python" -e .
        fi
        # Guard: prometheus-client in a project venv is the editable install of this checkout,
        # never the official client.
        "$dir/bin/python" - "$PWD" <<'EOF' || exit 1
import importlib.metadata as md, json, os, sys
from urllib.parse import unquote, urlparse
dist = md.distribution("prometheus-client")
info = json.loads(dist.read_text("direct_url.json") or "{}")
where = unquote(urlparse(info.get("url", "")).path)
if not info.get("dir_info", {}).get("editable") or os.path.realpath(where) != os.path.realpath(sys.argv[1]):
    raise SystemExit("prometheus-client in this venv is not the editable install of " + sys.argv[1])
EOF
        printf '%s\n' "$want" > "$stamp"
    ) 9>"$CI_VENV_DIR/.lock"
}

# ensure_official_venv PYTHON -> creates/reuses $OFFICIAL_VENV with prometheus-client==0.26.0
# and exports OFFICIAL_PYTHON.
ensure_official_venv() {
    local py="$1" opy="$OFFICIAL_VENV/bin/python"
    mkdir -p "$(dirname "$OFFICIAL_VENV")"
    (
        flock -w 900 9 || die "timed out waiting for $OFFICIAL_VENV.lock"
        if [ -x "$opy" ] && "$opy" -I -c "import importlib.metadata as m, prometheus_client; \
assert m.version('prometheus-client') == '$OFFICIAL_VERSION'" >/dev/null 2>&1; then
            log "reusing official client venv $OFFICIAL_VENV"
            exit 0
        fi
        log "creating official client venv $OFFICIAL_VENV (prometheus-client==$OFFICIAL_VERSION)"
        rm -rf "$OFFICIAL_VENV"
        "$py" -m venv "$OFFICIAL_VENV"
        pip_q "$opy" "prometheus-client==$OFFICIAL_VERSION"
    ) 9>"$OFFICIAL_VENV.lock"
    OFFICIAL_PYTHON="$opy"
    export OFFICIAL_PYTHON
}
