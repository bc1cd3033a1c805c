"""Packed records round-trip exactly. (no Beam)"""

import math

from curation.packed import pack, unpack


def test_a_record_round_trips_value_for_value_and_in_key_order():
    record = {"id": "d1", "text": "caf\u00e9 \ud83d\ude00 text", "source_index": 2**40, "synthetic_score": 0.1 + 0.2,
              "cluster_id": None, "metadata": '{"a": 1}', "weight": -0.0}
    packed = pack(record)
    assert isinstance(packed, bytes)
    back = unpack(packed)
    assert back == record and list(back) == list(record)
    assert math.copysign(1.0, back["weight"]) == -1.0  # the sign of zero survives
    assert back["synthetic_score"].hex() == record["synthetic_score"].hex()
