"""Runs INSIDE the official client's side venv: parses batches of texts with its parsers.

Protocol (one JSON document per line, both ways): request ``[[mode, text], ...]`` with mode
``"text"`` (``prometheus_client.parser``) or ``"om"`` (``prometheus_client.openmetrics.parser``);
response ``[result, ...]`` with each result as ``parser_wire.run_parse`` returns it.
Started as ``python -I _official_parse_server.py <dir of parser_wire.py>``.
"""

import json
import sys

sys.path.insert(0, sys.argv[1])

import parser_wire  # noqa: E402
from prometheus_client.openmetrics.parser import (  # noqa: E402
    text_string_to_metric_families as om_parse,
)
from prometheus_client.parser import text_string_to_metric_families as text_parse  # noqa: E402

PARSERS = {"text": text_parse, "om": om_parse}


def main() -> None:
    out = sys.stdout
    for line in sys.stdin:
        batch = json.loads(line)
        results = [parser_wire.run_parse(lambda t, p=PARSERS[mode]: list(p(t)), text)
                   for mode, text in batch]
        out.write(json.dumps(results) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
