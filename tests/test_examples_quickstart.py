"""examples/quickstart.py serves all four metric types and stops by itself after --seconds."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "quickstart.py"


def _value(body: str, pattern: str) -> float:
    match = re.search(r"^" + pattern + r" (\S+)$", body, re.MULTILINE)
    assert match, f"no sample matching {pattern!r} in:\n{body}"
    return float(match.group(1))


def _scrape_until(url: str, proc: subprocess.Popen[bytes], ready: str) -> str:
    """Scrape until the body contains `ready` (the loop has run at least once)."""
    last_error: object = None
    deadline = time.monotonic() + 60  # readiness bound only; nothing asserts on timing
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                body: str = resp.read().decode("utf-8")
                assert resp.status == 200
                if ready in body:
                    return body
        except (urllib.error.URLError, OSError) as exc:  # not listening yet, HTTP error, timeout
            last_error = exc
        time.sleep(0.05)
    out, err = proc.communicate(timeout=30) if proc.poll() is not None else (b"", b"")
    raise AssertionError(f"quickstart never served {ready!r} ({last_error}); stdout={out!r} stderr={err!r}")


def test_quickstart_serves_metrics_and_stops(free_port: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--port", str(free_port), "--seconds", "15"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        body = _scrape_until(f"http://127.0.0.1:{free_port}/metrics", proc, 'quickstart_requests_total{')

        assert "# TYPE request_processing_seconds summary" in body
        assert _value(body, "request_processing_seconds_count") >= 1
        assert _value(body, "request_processing_seconds_sum") > 0
        assert "# TYPE quickstart_requests_total counter" in body
        assert re.search(r'^quickstart_requests_total\{method="(GET|POST)",status="(200|500)"\} \S+$',
                         body, re.MULTILINE)
        assert "# TYPE quickstart_requests_in_progress gauge" in body
        assert 0 <= _value(body, "quickstart_queue_size") <= 20
        assert "# TYPE quickstart_request_latency_seconds histogram" in body
        assert _value(body, r'quickstart_request_latency_seconds_bucket\{le="\+Inf"\}') >= 1
        assert _value(body, "quickstart_request_latency_seconds_count") >= 1

        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err.decode(errors="replace")
    assert f"http://127.0.0.1:{free_port}/metrics" in out.decode()
