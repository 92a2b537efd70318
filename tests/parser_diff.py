"""Differential comparison of our parsers with the official client's (side venv, subprocess).

``OfficialParsers(python)`` keeps one long-lived ``_official_parse_server.py`` process and
parses batches with it. ``compare(mode, text, ours, theirs)`` returns ``None`` when both agree,
the id of a documented difference (``docs/parser-differences.md``) when the disagreement is
one of those, or a description of an unexplained disagreement.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

import parser_wire

HERE = Path(__file__).resolve().parent


class OfficialParsers:
    def __init__(self, python: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        self.proc = subprocess.Popen(
            [python, "-I", str(HERE / "_official_parse_server.py"), str(HERE)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=tempfile.gettempdir(),
            text=True, encoding="utf-8", errors="surrogatepass",
        )

    def parse(self, batch: Sequence[Tuple[str, str]]) -> List[Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps([list(x) for x in batch]) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("official parser server died")
        result: List[Any] = json.loads(line)
        return result

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def ours(mode: str, text: str) -> List[Any]:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
    from prometheus_client.parser import text_string_to_metric_families as tx

    fn = om if mode == "om" else tx
    return parser_wire.run_parse(lambda t: list(fn(t)), text)


# Our rejection rules that correspond to documented spec violations of the official parser
# (it accepts these inputs). Keys are substrings of our error messages; ids are the sections
# of docs/parser-differences.md.
_OM_RULE_DIFFS = [
    ("whitespace inside a label set", "D1"),
    ("':' is not allowed in OpenMetrics label names", "D9"),
    ("expected a single space before the value", "D14"),
    ("expected a single space before the timestamp or exemplar", "D14"),
    ("invalid metric name '", "D19"),
    ("whitespace in the metric name", "D14"),
    ("in label name", "D19"),
    ("metadata line:", "D15"),
    ("native histogram values are only allowed", "D26"),
    ("native histogram", "D16"),
    ("unexpected text after the exemplar", "D18"),
]
_TEXT_RULE_DIFFS = [
    ("invalid metric name before '{'", "D2"),
    ("must be a double-quoted string", "D3"),
    ("invalid label name", "D3"),
    ("unexpected text after the timestamp", "D20"),
    ("missing sample value", "D23"),
    ("expected whitespace after the quoted metric name", "D22"),
    ("invalid metric name (quote UTF-8 names)", "D22"),
    ("in label name", "D19"),
    ("unterminated quoted metric name in the", "D22"),
    ("metric name given more than once", "D24"),
    ("empty label between two commas", "D24"),
    ("labels must be separated by ','", "D24"),
]
_INFO_RE = re.compile(r"(?m)^# TYPE \S+ info$")
# A comment whose first token is not a lone '#' but whose second token is HELP/TYPE.
_TEXT_FAKE_COMMENT_RE = re.compile(r"(?m)^[^\S\n]*#[^\s]+[^\S\n]+(?:HELP|TYPE)\b")
_TOKEN_RE = re.compile(r"invalid (?:number|[a-z ]+?) ('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")


def _has_fake_comment(text: str) -> bool:
    """D21: a comment line the official parser reads as HELP/TYPE although its first token is
    not a lone ``#`` (``#x HELP``), or whose words are separated by non-ASCII whitespace."""
    if _TEXT_FAKE_COMMENT_RE.search(text):
        return True
    for line in text.split("\n"):
        if line.lstrip().startswith("#") and ("HELP" in line or "TYPE" in line) and any(
                c.isspace() and c not in " \t\r\x0b\x0c" for c in line):
            return True
    return False


def _number_token_reason(msg: str) -> Optional[str]:
    m = _TOKEN_RE.search(msg)
    if not m:
        return None
    try:
        tok = ast.literal_eval(m.group(1))  # the repr() we wrote into the message
    except (ValueError, SyntaxError):
        return None
    if not isinstance(tok, str) or not tok:
        return None
    if not tok.isascii() or any(c.isspace() for c in tok) or "_" in tok:
        return "D4"
    if tok.lower().lstrip("+-") == "nan" and tok[0] in "+-":
        return "D6"
    if msg.find("invalid timestamp") >= 0:
        return "D18"
    return None


def _walk_samples(result: List[Any]) -> Any:
    for fam in result[1]:
        yield from fam[4]


def _norm_negative_subsecond(result: List[Any]) -> List[Any]:
    """D8: the official parser turns a -0.x timestamp into +0.x (Timestamp(0, x))."""
    out = json.loads(json.dumps(result))

    def fix(ts: Any) -> Any:
        if isinstance(ts, list) and ts[0] == "f":
            v = float(ts[1])
            if -1 < v < 0:
                return ["T", 0, int(round(-v * 1e9))]
        return ts

    for s in _walk_samples(out):
        s[3] = fix(s[3])
        if s[4] is not None:
            s[4][2] = fix(s[4][2])
    return out


def _norm_native(result: List[Any]) -> List[Any]:
    """D13: the official parser drops the timestamp and exemplars of native histogram samples."""
    out = json.loads(json.dumps(result))
    for s in _walk_samples(out):
        if s[5] is not None:
            s[3] = None
            s[5][9] = None
    return out


def _norm_help(result: List[Any]) -> List[Any]:
    """D12: the official parser strips whitespace at the start of HELP text."""
    out = json.loads(json.dumps(result))
    for fam in out[1]:
        fam[1] = fam[1].lstrip()
    return out


def _norm_negative_spans(result: List[Any]) -> List[Any]:
    """D16: the official parser drops native histogram span lists with a negative offset."""
    out = json.loads(json.dumps(result))
    for s in _walk_samples(out):
        nh = s[5]
        if nh is not None:
            for i in (5, 6):
                if nh[i] is not None and any(int(sp[0][1]) < 0 for sp in nh[i]):
                    nh[i] = None
    return out


_NORMALIZERS = [("D8", _norm_negative_subsecond), ("D13", _norm_native), ("D12", _norm_help),
                ("D16", _norm_negative_spans)]


def _official_exemplar_bug(text: str, msg: str) -> bool:
    """D10: the official parser rejects lines with an exemplar whose label values contain an
    escaped quote or end with a backslash."""
    for line in text.split("\n"):
        if " # {" in line and "\\" in line:
            return True
    return False


def compare(mode: str, text: str, ours_r: List[Any], theirs: List[Any]) -> Optional[str]:
    """None if both agree, a difference id (``D<n>``) if documented, else a description."""
    if ours_r[0] == "err" and ours_r[1] != "ValueError":
        return f"our parser raised {ours_r[1]}: {ours_r[2]}"
    if ours_r[0] == "err" and theirs[0] == "err":
        return None
    if ours_r == theirs:
        return None
    if theirs[0] == "err" and theirs[1] != "ValueError":
        return "D7"  # the official parser crashes with a non-ValueError exception
    if mode == "text" and _has_fake_comment(text):
        return "D21"
    if mode == "om" and _INFO_RE.search(text) and (
            (ours_r[0] == "err" and ("contiguous" in ours_r[2] or "went backwards" in ours_r[2]))
            or (theirs[0] == "err" and "Mix of timestamp presence" in theirs[2])
            or (ours_r[0] == "ok" and theirs[0] == "ok")):
        return "D25"
    if ours_r[0] == "err":
        msg = ours_r[2]
        if mode == "om" and "{count:" in msg and (
                "does not fit its family" in msg or "not an OpenMetrics number" in msg):
            # a native-histogram value the official parser attaches to the current histogram
            # family whatever the sample's name (D26), or reads after junk (D16)
            return "D26" if "does not fit its family" in msg else "D16"
        for needle, diff in (_OM_RULE_DIFFS if mode == "om" else _TEXT_RULE_DIFFS):
            if needle in msg:
                return diff
        reason = _number_token_reason(msg)
        if reason:
            return reason
        return f"we reject, official accepts: {msg}"
    if theirs[0] == "err":
        if mode == "om" and _official_exemplar_bug(text, theirs[2]):
            return "D10"
        return f"we accept, official rejects: {theirs[2]}"
    if mode == "om":
        a, b = ours_r, theirs
        used = []
        for diff, norm in _NORMALIZERS:
            na, nb = norm(a), norm(b)
            if na != a or nb != b:
                used.append(diff)
            a, b = na, nb
            if a == b:
                return "+".join(used)
    return "parsed families differ"
