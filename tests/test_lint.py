"""prometheus_client.testing.lint: promlint's rules, checked against promtool 2.42 itself.

Every rule has a positive and a negative case; where promtool has the rule, our findings on the
same text must equal what ``promtool check metrics`` prints (as a set: promtool repeats a
label finding once per series, we report it once).
"""

import subprocess
from typing import List, Set, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary
from prometheus_client.metrics import disable_created_metrics, enable_created_metrics
from prometheus_client.metrics_core import GaugeMetricFamily
from prometheus_client.testing import Finding, lint
from prometheus_client.testing._lint import _UNIT_PREFIXES, _UNITS, ABBREVIATED_UNIT

PROMTOOL = "/usr/bin/promtool"
OUR_RULES = {"label-prefix", "too-many-labels"}


def promtool(text: str) -> Set[Tuple[str, str]]:
    """(metric, message) pairs promtool reports; asserts its exit status agrees."""
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    lines = [line for line in p.stderr.decode().splitlines() if line]
    assert not any(line.startswith("error") for line in lines), lines
    found = {tuple(line.split(" ", 1)) for line in lines}
    assert p.returncode == (3 if found else 0), (p.returncode, lines)
    return found  # type: ignore[return-value]


def ours(text: str) -> Set[Tuple[str, str]]:
    return {(f.metric, f.message) for f in lint(text) if f.rule not in OUR_RULES}


def family(name: str, typ: str = "gauge", help_text: str = "Help.", labels: str = "") -> str:
    """Text of one family with plausible samples for its type."""
    head = (f"# HELP {name} {help_text}\n" if help_text else "") + f"# TYPE {name} {typ}\n"
    extra = labels + "," if labels else ""
    if typ == "histogram":
        return head + f'{name}_bucket{{{extra}le="+Inf"}} 1\n{name}_sum{{{labels}}} 1\n{name}_count{{{labels}}} 1\n'
    if typ == "summary":
        return head + f'{name}{{{extra}quantile="0.5"}} 1\n{name}_sum{{{labels}}} 1\n{name}_count{{{labels}}} 1\n'
    return head + (f"{name}{{{labels}}} 1\n" if labels else f"{name} 1\n")


# rule -> (text that breaks it, text that does not)
CASES = {
    "help": (family("jobs_total", "counter", help_text=""), family("jobs_total", "counter")),
    "base-unit": (family("request_duration_milliseconds"), family("request_duration_seconds")),
    "base-unit/prefix": (family("payload_kilobytes"), family("payload_bytes")),
    "base-unit/non-base": (family("uptime_hours"), family("uptime_seconds")),
    "counter-total": (family("jobs", "counter"), family("jobs_total", "counter")),
    "non-counter-total": (family("queue_total"), family("queue_length")),
    "reserved-suffix/bucket": (family("slots_bucket"), family("slot_buckets")),
    "reserved-suffix/count": (family("jobs_count"), family("jobs_counted")),
    "reserved-suffix/sum": (family("jobs_sum", "counter"), family("latency_seconds", "summary")),
    "reserved-label/le": (family("temperature_celsius", labels='le="1"'), family("latency_seconds", "histogram")),
    "reserved-label/quantile": (
        family("latency_seconds", "histogram", labels='quantile="0.5"'), family("latency_seconds", "summary"),
    ),
    "type-in-name": (family("jobs_gauge"), family("jobs_running")),
    "type-in-name/middle": (family("x_counter_total", "counter"), family("x_countery_total", "counter")),
    "colon": (family("job:requests:rate5m"), family("job_requests_rate5m")),
    "camel-case/metric": (family("requestCount"), family("request_count")),
    "camel-case/label": (family("requests_in_flight", labels='methodName="get"'),
                         family("requests_in_flight", labels='method_name="get"')),
    "abbreviated-unit": (family("latency_ms"), family("latency_seconds")),
    "abbreviated-unit/middle": (family("latency_ms_max"), family("latency_msx_max")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_positive_and_negative_match_promtool(case: str) -> None:
    rule = case.split("/")[0]
    bad, good = CASES[case]
    bad_findings = lint(bad)
    assert rule in {f.rule for f in bad_findings}, bad_findings
    assert all(f.rule != rule for f in lint(good)), lint(good)
    assert ours(bad) == promtool(bad)
    assert ours(good) == promtool(good)


def test_findings_name_the_metric_and_rule_in_promtool_order() -> None:
    text = family("b_ms", "counter") + family("a_ms", "counter", help_text="")
    findings = lint(text)
    assert findings == [
        Finding("a_ms", "counter-total", 'counter metrics should have "_total" suffix'),
        Finding("a_ms", "abbreviated-unit", "metric names should not contain abbreviated units"),
        Finding("a_ms", "help", "no help text"),
        Finding("b_ms", "counter-total", 'counter metrics should have "_total" suffix'),
        Finding("b_ms", "abbreviated-unit", "metric names should not contain abbreviated units"),
    ]
    assert str(findings[0]) == 'a_ms: counter metrics should have "_total" suffix [counter-total]'
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    assert p.stderr.decode().splitlines() == [f"{f.metric} {f.message}" for f in findings]


def test_untyped_families_skip_the_type_rules_like_promtool() -> None:
    text = 'x_total 1\nq_minutes{le="1",quantile="2"} 1\ny_gauge 2\n'
    assert ours(text) == promtool(text)
    # no _total / le / quantile rules for untyped families, but the type word still counts
    assert {f.rule for f in lint(text)} == {"help", "base-unit", "type-in-name"}


def test_a_label_finding_is_reported_once_though_promtool_repeats_it() -> None:
    text = family("requests_in_flight", labels='myLabel="a"') + 'requests_in_flight{myLabel="b"} 1\n'
    assert [f.rule for f in lint(text)] == ["camel-case"]
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    assert len(p.stderr.decode().splitlines()) == 2
    assert ours(text) == promtool(text)


class _Custom:
    def __init__(self, labels: List[str]) -> None:
        self.labels = labels

    def collect(self):  # type: ignore[no-untyped-def]
        g = GaugeMetricFamily("custom_things", "Things.", labels=self.labels)
        g.add_metric(["v"] * len(self.labels), 1)
        return [g]


def test_reserved_label_prefix_positive_and_negative() -> None:
    # Our parser (like Prometheus) rejects such text, so only a collector can produce it.
    assert [f.rule for f in lint(_Custom(["__shard"]))] == ["label-prefix"]
    assert "__shard" in lint(_Custom(["__shard"]))[0].message
    assert lint(_Custom(["shard"])) == []


def test_too_many_labels_positive_and_negative_and_threshold() -> None:
    eleven = ",".join(f'l{i}="v"' for i in range(11))
    ten = ",".join(f'l{i}="v"' for i in range(10))
    bad, good = family("wide_things", labels=eleven), family("wide_things", labels=ten)
    assert [f.rule for f in lint(bad)] == ["too-many-labels"]
    assert lint(good) == []
    assert lint(bad, max_labels=None) == [] and [f.rule for f in lint(good, max_labels=9)] == ["too-many-labels"]
    assert promtool(bad) == set() == promtool(good)  # promtool 2.42 has no such rule


def test_several_unit_words_report_the_first_non_base_one() -> None:
    # promtool's pick depends on Go's map order here; ours is deterministic.
    assert [f.message for f in lint(family("a_seconds_minutes_hours"))] == [
        'use base unit "seconds" instead of "minutes"'
    ]


def test_every_unit_word_and_prefix_matches_promtool() -> None:
    names = [f"a_{unit}" for unit in _UNITS] + [f"a_{p}{unit}" for p in _UNIT_PREFIXES for unit in ("seconds", "bits")]
    names += ["a_feet", "a_liters", "a_kilo", "a_Milliseconds", "a_mebibytes", "a_kilo_bytes"]
    text = "".join(family(n) for n in names)
    assert ours(text) == promtool(text)


def test_every_abbreviation_matches_promtool() -> None:
    names = [f"a_{a}" for a in ("s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d")]
    names += ["A_B_ms", "a_MS_x", "a_mins", "a_millis", "a__ms", "a_hr"]
    text = "".join(family(n) for n in names)
    found = ours(text)
    assert found == promtool(text)
    assert {m for m, msg in found if msg.startswith("metric names should not contain abbrev")} == set(names) - {
        "a_mins", "a_millis", "a_hr"
    }
    assert any(f.rule == ABBREVIATED_UNIT for f in lint(text))


def _registry_with_everything() -> CollectorRegistry:
    r = CollectorRegistry()
    Counter("foo_ms", "A counter.", ["methodName"], registry=r).labels("get").inc()
    Counter("bar", "", registry=r)
    Gauge("queue_total", "A gauge.", ["le"], registry=r).labels("1").set(1)
    Histogram("latency_milliseconds", "Latency.", ["quantile"], registry=r).labels("0.5").observe(1)
    Summary("size_bytes", "Sizes.", registry=r).observe(3)
    Info("buildInfo", "Build.", registry=r).info({"version": "1"})
    Enum("job_state", "State.", states=["a", "b"], registry=r)
    return r


def test_lint_of_a_collector_equals_promtool_on_its_scrape() -> None:
    from prometheus_client import generate_latest

    r = _registry_with_everything()
    disable_created_metrics()
    try:
        text = generate_latest(r).decode()
    finally:
        enable_created_metrics()
    found = {(f.metric, f.message) for f in lint(r) if f.rule not in OUR_RULES}
    assert found == promtool(text)
    assert ("foo_ms_total", "metric names should not contain abbreviated units") in found
    assert ("bar_total", "no help text") in found
    # ... and _created series of a collector are not families of their own
    assert not any(f.metric.endswith("_created") for f in lint(r))


def test_lint_of_openmetrics_text_sees_the_scraped_names() -> None:
    from prometheus_client.openmetrics.exposition import generate_latest

    r = _registry_with_everything()
    om = generate_latest(r).decode()
    assert lint(om) == lint(r)


def test_families_without_samples() -> None:
    # promtool's parser drops them, and so does lint() on text ...
    text = "# HELP foo F.\n# TYPE foo counter\nfoo_total 1\n# HELP bar_ms B.\n# TYPE bar_ms gauge\n"
    assert ours(text) == promtool(text) == {("foo_total", "no help text")}
    # ... but a collector is linted before its first child exists
    r = CollectorRegistry()
    Counter("jobs_ms", "Jobs.", ["queue"], registry=r)
    assert [(f.metric, f.rule) for f in lint(r)] == [("jobs_ms_total", "abbreviated-unit")]


def test_lint_accepts_bytes_and_rejects_bad_input() -> None:
    assert lint(family("jobs_count").encode()) == lint(family("jobs_count"))
    with pytest.raises(ValueError, match="line 2"):
        lint("# TYPE x gauge\nx{ 1\n")
    with pytest.raises(TypeError, match="collector"):
        lint(42)  # type: ignore[arg-type]


# -- property: random families, same findings as promtool ----------------------------------
_PLAIN = ["requests", "queue", "job", "latency", "payload", "x", "http", "api", "in_flight", "requestCount",
          "gauge", "counter", "summary", "histogram", "total", "count", "sum", "bucket", "info", "rate5m",
          "job:rate", "camelCase", "ms", "s", "b", "sec", "kb", "h"]
_UNIT_WORDS = sorted(_UNITS) + ["milliseconds", "kilobytes", "gibibytes", "microseconds", "megabits"]
_LABELS = ["method", "code", "myLabel", "pathName", "le", "quantile", "shard"]


@st.composite
def families(draw: st.DrawFn) -> str:
    out = []
    for i in range(draw(st.integers(1, 6))):
        parts = draw(st.lists(st.sampled_from(_PLAIN), min_size=0, max_size=3))
        if draw(st.booleans()):
            parts.insert(draw(st.integers(0, len(parts))), draw(st.sampled_from(_UNIT_WORDS)))
        name = "_".join([f"m{i}"] + parts)
        typ = draw(st.sampled_from(["counter", "gauge", "histogram", "summary", "untyped"]))
        reserved = {"histogram": "le", "summary": "quantile"}.get(typ)
        labels = draw(st.lists(st.sampled_from([x for x in _LABELS if x != reserved]), unique=True, max_size=3))
        help_text = draw(st.sampled_from(["", "Some help."]))
        label_text = ",".join(f'{k}="v"' for k in labels)
        if typ == "untyped" and draw(st.booleans()):  # bare sample lines, no HELP/TYPE
            out.append("".join(f'{name}{{{label_text}{"," if label_text else ""}n="{j}"}} 1\n'
                               for j in range(draw(st.integers(1, 3)))))
            continue
        out.append(family(name, typ, help_text, label_text))
    return "".join(out)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(families())
def test_random_families_match_promtool(text: str) -> None:
    assert ours(text) == promtool(text)
