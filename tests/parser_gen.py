"""Input generator for the parser differential tests and fuzzing.

Driven by a ``random.Random`` (so hypothesis can drive it via ``st.randoms()`` and the long
fuzz script can drive it from a seed): ``Gen(rnd).om_exposition()`` /
``Gen(rnd).text_exposition()`` build valid expositions with every family type, escapes, UTF-8,
timestamps, exemplars and native histograms; ``mutate(rnd, text)`` damages a text in the ways
that matter to a parser (characters, tokens, whole lines).
"""

from __future__ import annotations

import random
from typing import List

_LEGACY_FIRST = "abcdefghijklmnopqrstuvwxyzABCXYZ_:"
_LEGACY_REST = _LEGACY_FIRST + "0123456789"
_LABEL_FIRST = "abcdefghijklmnopqrstuvwxyzABCXYZ_"
_LABEL_REST = _LABEL_FIRST + "0123456789"
_VALUE_CHARS = 'abcxyz019 _-.,:;={}#"\\\n\t/é☃😱\x00\x7f'
_UTF8_NAME_CHARS = "abc._-:/ é☃😱0123456789\"\\\n"


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _help_escape_text(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\n", "\\n")


class Gen:
    def __init__(self, rnd: random.Random) -> None:
        self.r = rnd

    # -- atoms ---------------------------------------------------------------------------
    def legacy_name(self) -> str:
        r = self.r
        return r.choice(_LEGACY_FIRST.replace(":", "")) + "".join(
            r.choice(_LEGACY_REST) for _ in range(r.randrange(0, 8)))

    def label_name(self) -> str:
        r = self.r
        while True:
            n = r.choice(_LABEL_FIRST) + "".join(r.choice(_LABEL_REST) for _ in range(r.randrange(0, 6)))
            if not n.startswith("__") and n not in ("le", "quantile"):
                return n

    def utf8_name(self) -> str:
        r = self.r
        return "".join(r.choice(_UTF8_NAME_CHARS) for _ in range(r.randrange(1, 8)))

    def label_value(self) -> str:
        r = self.r
        if r.random() < 0.4:
            return r.choice(["", "GET", "/api/v1", "200", "x y", "é"])
        return "".join(r.choice(_VALUE_CHARS) for _ in range(r.randrange(0, 10)))

    def help_text(self) -> str:
        r = self.r
        return "".join(r.choice(_VALUE_CHARS) for _ in range(r.randrange(0, 16)))

    def labelsets(self, n: int) -> List[List[tuple]]:
        names = [self.label_name() for _ in range(self.r.randrange(0, 4))]
        names = list(dict.fromkeys(names))
        out: List[List[tuple]] = []
        seen = set()
        for _ in range(n * 2):
            ls = [(k, self.label_value()) for k in names]
            key = tuple(ls)
            if key not in seen:
                seen.add(key)
                out.append(ls)
            if len(out) == n:
                break
        return out

    def number(self, kind: str = "any") -> str:
        r = self.r
        if kind == "count":
            v = r.choice([0, 1, 2, 7, 100, 2 ** 53, r.randrange(0, 10 ** 6)])
            return r.choice([str(v), f"{v}.0", f"{float(v)!r}"]) if v < 2 ** 53 else str(v)
        if kind == "nonneg":
            c = r.randrange(9)
            if c == 0:
                return "+Inf"
            if c == 1:
                return str(r.randrange(0, 1000))
            return repr(abs(r.choice([0.0, 0.5, 1e-9, 123.456, 1e21, r.random() * 1000])))
        c = r.randrange(14)
        return [
            "0", "1", "-1", "+Inf", "-Inf", "NaN", "1.5", "-0.0", "1e3", "2.5e-07", ".5", "1.",
            repr(r.uniform(-1e6, 1e6)), str(r.randrange(-10 ** 12, 10 ** 12)),
        ][c]

    def om_timestamp(self) -> str:
        r = self.r
        c = r.randrange(6)
        if c == 0:
            return str(r.randrange(0, 2 * 10 ** 9))
        if c == 1:
            return f"{r.randrange(0, 2 * 10 ** 9)}.{r.randrange(0, 10 ** 9):0{r.randrange(1, 12)}d}"
        if c == 2:
            return repr(r.uniform(1e9, 2e9))
        if c == 3:
            return "1.5e3"
        if c == 4:
            return str(-r.randrange(1, 10 ** 6))
        return "0"

    def text_timestamp(self) -> str:
        r = self.r
        return str(r.choice([0, 1, -1, 1700000000000, r.randrange(-10 ** 13, 10 ** 13)]))

    # -- OpenMetrics ---------------------------------------------------------------------
    def _om_labels(self, ls: List[tuple], extra: str = "") -> str:
        parts = [f'{k}="{_escape(v)}"' for k, v in ls]
        if extra:
            parts.append(extra)
        if not parts:
            return "{}" if self.r.random() < 0.1 else ""
        self.r.shuffle(parts)
        return "{" + ",".join(parts) + "}"

    def _exemplar(self) -> str:
        r = self.r
        ls = [(self.label_name(), self.label_value()) for _ in range(r.randrange(0, 3))]
        ls = list(dict(ls).items())
        ts = f" {self.om_timestamp()}" if r.random() < 0.5 else ""
        body = ",".join(f'{k}="{_escape(v)}"' for k, v in ls)
        return f" # {{{body}}} {self.number()}{ts}"

    def om_family(self, name: str, typ: str) -> List[str]:
        r = self.r
        lines: List[str] = []
        unit = ""
        if typ not in ("info", "stateset") and r.random() < 0.2:
            unit = r.choice(["seconds", "bytes", "x"])
            name = f"{name}_{unit}"
        meta = []
        if r.random() < 0.9:
            meta.append(f"# TYPE {name} {typ}")
        if r.random() < 0.6:
            meta.append(f"# HELP {name} {_escape(self.help_text())}")
        if unit:
            meta.append(f"# UNIT {name} {unit}")
        r.shuffle(meta)
        lines.extend(meta)
        if typ == "unknown" and not meta:
            pass
        ts_mode = r.random() < 0.15
        for ls in self.labelsets(r.randrange(0 if meta else 1, 4)):
            ts = f" {self.om_timestamp()}" if ts_mode else ""
            if typ in ("gauge", "unknown") or (typ == "unknown" and not meta):
                lines.append(f"{name}{self._om_labels(ls)} {self.number()}{ts}")
            elif typ == "counter":
                ex = self._exemplar() if r.random() < 0.3 else ""
                lines.append(f"{name}_total{self._om_labels(ls)} {self.number('nonneg')}{ts}{ex}")
                if r.random() < 0.5:
                    lines.append(f"{name}_created{self._om_labels(ls)} {self.number()}{ts}")
            elif typ in ("histogram", "gaugehistogram"):
                if typ == "histogram" and r.random() < 0.15:
                    lines.append(f"{name}{self._om_labels(ls)} {self.native()}")
                    continue
                bounds = sorted({r.choice([-5.0, -1.0, 0.0, 0.005, 0.1, 1.0, 2.5, 10.0, 1e6, 1e-05])
                                 for _ in range(r.randrange(0, 5))})
                acc = 0
                for b in bounds + [float("inf")]:
                    acc += r.randrange(0, 5)
                    le = "+Inf" if b == float("inf") else r.choice([repr(b), repr(b), str(b)])
                    ex = self._exemplar() if r.random() < 0.2 else ""
                    extra = 'le="' + le + '"'
                    lines.append(f"{name}_bucket{self._om_labels(ls, extra)} {acc}{ts}{ex}")
                if r.random() < 0.8:
                    neg = bool(bounds) and bounds[0] < 0
                    if typ == "histogram":
                        lines.append(f"{name}_count{self._om_labels(ls)} {acc}{ts}")
                        if not neg:
                            lines.append(f"{name}_sum{self._om_labels(ls)} {self.number('nonneg')}{ts}")
                        else:
                            lines.pop()
                    else:
                        lines.append(f"{name}_gcount{self._om_labels(ls)} {acc}{ts}")
                        gs = self.number() if neg else self.number("nonneg")
                        lines.append(f"{name}_gsum{self._om_labels(ls)} {gs}{ts}")
                if typ == "histogram" and r.random() < 0.3:
                    lines.append(f"{name}_created{self._om_labels(ls)} {self.number()}{ts}")
            elif typ == "summary":
                for q in sorted({r.choice(["0", "0.5", "0.9", "0.99", "1.0", "1e-05"])
                                 for _ in range(r.randrange(0, 3))}):
                    v = r.choice(["NaN", self.number("nonneg")])
                    extra = 'quantile="' + q + '"'
                    lines.append(f"{name}{self._om_labels(ls, extra)} {v}{ts}")
                if r.random() < 0.7:
                    lines.append(f"{name}_count{self._om_labels(ls)} {self.number('count')}{ts}")
                    lines.append(f"{name}_sum{self._om_labels(ls)} {self.number('nonneg')}{ts}")
                if r.random() < 0.3:
                    lines.append(f"{name}_created{self._om_labels(ls)} {self.number()}{ts}")
            elif typ == "info":
                lines.append(f"{name}_info{self._om_labels(ls)} {r.choice(['1', '1.0'])}{ts}")
            elif typ == "stateset":
                for state in sorted({self.label_value() for _ in range(r.randrange(1, 3))}):
                    extra = name + '="' + _escape(state) + '"'
                    lines.append(f"{name}{self._om_labels(ls, extra)} {r.choice(['0', '1'])}{ts}")
        return lines

    def native(self) -> str:
        r = self.r
        parts = [f"count:{r.randrange(0, 100)}", f"sum:{r.choice(['0', '1.5', '100', '-3'])}",
                 f"schema:{r.randrange(-4, 9)}", f"zero_threshold:{r.choice(['0', '0.001', '1e-128'])}",
                 f"zero_count:{r.randrange(0, 5)}"]
        for side in ("negative", "positive"):
            if r.random() < 0.5:
                spans = [(r.randrange(-3, 4), r.randrange(0, 3)) for _ in range(r.randrange(1, 3))]
                n = sum(ln for _, ln in spans)
                parts.append(f"{side}_spans:[{','.join(f'{o}:{ln}' for o, ln in spans)}]")
                parts.append(f"{side}_deltas:[{','.join(str(r.randrange(-5, 6)) for _ in range(n))}]")
        return "{" + ",".join(parts) + "}"

    def om_exposition(self) -> str:
        r = self.r
        lines: List[str] = []
        used: set = set()
        for _ in range(r.randrange(0, 5)):
            name = self.legacy_name()
            if any(name.startswith(u) or u.startswith(name) for u in used):
                continue
            used.add(name)
            typ = r.choice(["counter", "gauge", "summary", "histogram", "gaugehistogram", "unknown",
                            "info", "stateset"])
            lines.extend(self.om_family(name, typ))
        lines.append("# EOF")
        return "\n".join(lines) + ("\n" if r.random() < 0.8 else "")

    # -- Prometheus text -----------------------------------------------------------------
    def _ws(self) -> str:
        r = self.r
        return r.choice([" ", " ", " ", "  ", "\t", " \t "])

    def _text_labels(self, ls: List[tuple], extra: str = "", qname: str = "") -> str:
        r = self.r
        parts = []
        for k, v in ls:
            kk = f'"{_escape(k)}"' if r.random() < 0.1 else k
            parts.append(f'{kk}="{_escape(v)}"')
        if extra:
            parts.append(extra)
        r.shuffle(parts)
        if qname:
            parts.insert(0, qname)
        if not parts:
            return "{}" if r.random() < 0.1 else ""
        sep = "," if r.random() < 0.8 else ", "
        trail = "," if r.random() < 0.1 else ""
        return "{" + sep.join(parts) + trail + "}"

    def text_family(self) -> List[str]:
        r = self.r
        quoted = r.random() < 0.15
        name = self.utf8_name() if quoted else self.legacy_name()
        shown = f'"{_escape(name)}"' if quoted else name
        typ = r.choice(["counter", "gauge", "summary", "histogram", "untyped", "untyped"])
        lines = []
        meta = []
        if r.random() < 0.8:
            meta.append(f"# HELP {shown} {_help_escape_text(self.help_text())}")
        if r.random() < 0.85:
            meta.append(f"# TYPE {shown} {typ}")
        r.shuffle(meta)
        lines.extend(meta)
        if r.random() < 0.1:
            lines.append("# just a comment")
        if r.random() < 0.1:
            lines.append("")
        for ls in self.labelsets(r.randrange(0, 4)):
            def sample(suffix: str, value: str, extra: str = "", ls: List[tuple] = ls) -> str:
                full = name + suffix
                ts = f"{self._ws()}{self.text_timestamp()}" if r.random() < 0.15 else ""
                if quoted:
                    qname = '"' + _escape(full) + '"'
                    return self._text_labels(ls, extra, qname) + f"{self._ws()}{value}{ts}"
                return f"{full}{self._text_labels(ls, extra)}{self._ws()}{value}{ts}"

            if typ == "histogram":
                acc = 0
                for b in ["0.1", "1.0", "+Inf"]:
                    acc += r.randrange(0, 3)
                    lines.append(sample("_bucket", str(acc), f'le="{b}"'))
                lines.append(sample("_count", str(acc)))
                lines.append(sample("_sum", self.number()))
            elif typ == "summary":
                lines.append(sample("", self.number(), 'quantile="0.5"'))
                lines.append(sample("_count", self.number("count")))
                lines.append(sample("_sum", self.number()))
            else:
                lines.append(sample("", self.number()))
        return lines

    def text_exposition(self) -> str:
        lines: List[str] = []
        for _ in range(self.r.randrange(0, 5)):
            lines.extend(self.text_family())
        return "\n".join(lines) + ("\n" if lines and self.r.random() < 0.9 else "")


_INTERESTING = [
    "{", "}", '"', "\\", ",", "=", " ", "\t", "\n", "#", "_", ".", "+", "-", "e", "0", "1", "9",
    "é", "١", "\r", "\x0b", "\x1c", "\u2028", "\x85", "\xa0", "# ", "# EOF", "NaN", "Inf", "le",
    "quantile", "_total", "_created", "_bucket", "_count", "_sum", "__name__", ":", "}}", "{}",
    '=""', "\\n", '\\"', "\\\\", " # {", "[", "]", "0:1",
]


def mutate(rnd: random.Random, text: str) -> str:
    """Apply 1-3 random damaging edits to ``text``."""
    for _ in range(rnd.randrange(1, 4)):
        c = rnd.randrange(8)
        n = len(text)
        if c == 0 and n:  # delete a char
            i = rnd.randrange(n)
            text = text[:i] + text[i + 1:]
        elif c == 1:  # insert an interesting fragment
            i = rnd.randrange(n + 1)
            text = text[:i] + rnd.choice(_INTERESTING) + text[i:]
        elif c == 2 and n:  # replace a char
            i = rnd.randrange(n)
            text = text[:i] + rnd.choice(_INTERESTING) + text[i + 1:]
        else:
            lines = text.split("\n")
            i = rnd.randrange(len(lines))
            j = rnd.randrange(len(lines))
            if c == 3:
                lines.insert(j, lines[i])
            elif c == 4:
                del lines[i]
            elif c == 5:
                lines[i], lines[j] = lines[j], lines[i]
            elif c == 6:  # duplicate a line's tail / cut a line
                k = rnd.randrange(len(lines[i]) + 1)
                lines[i] = lines[i][:k] if rnd.random() < 0.5 else lines[i] + lines[i][k:]
            else:  # swap a token
                toks = lines[i].split(" ")
                if len(toks) > 1:
                    a, b = rnd.randrange(len(toks)), rnd.randrange(len(toks))
                    toks[a], toks[b] = toks[b], toks[a]
                    lines[i] = " ".join(toks)
            text = "\n".join(lines)
    return text


def inputs(rnd: random.Random, mode: str, count: int) -> List[str]:
    """``count`` inputs for ``mode`` ("om" or "text"): about a third valid, the rest mutated."""
    g = Gen(rnd)
    make = g.om_exposition if mode == "om" else g.text_exposition
    out = []
    for _ in range(count):
        t = make()
        if rnd.random() < 0.65:
            t = mutate(rnd, t)
        out.append(t)
    return out
