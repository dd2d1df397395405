"""Parses Prometheus text exposition from stdin with the reference Python client's parser
(prometheus_client, pinned in tests/peers/requirements.txt) and prints every sample as JSON:
[{"family", "type", "name", "labels", "value"}]. A malformed exposition raises, exiting non-zero."""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families

samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        samples.append(
            {
                "family": family.name,
                "type": family.type,
                "name": sample.name,
                "labels": sample.labels,
                "value": sample.value,
            }
        )
json.dump(samples, sys.stdout)
