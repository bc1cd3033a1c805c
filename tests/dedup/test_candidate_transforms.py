"""The Beam steps that find near-duplicate pairs (curation.dedup.candidate_transforms)."""

from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from curation.dedup.candidate_transforms import BandEntriesByShard
from curation.dedup.minhash import band_keys
from curation.dedup.options import NearDedupOptions
from curation.dedup.sketch import band_shard, signature_array, sketch_text
from curation.dedup.survivor import Member
from tests.dedup.corpora import corpus_for_determinism

NEAR = NearDedupOptions()


def test_band_entries_leave_in_lists_per_shard_and_none_is_lost_at_the_bound():
    bands, rows = NEAR.bands_and_rows
    fn = BandEntriesByShard(bands, rows, shards=5, max_entries=3 * bands)  # full every third record
    records = corpus_for_determinism()
    members = [(r["id"], Member(r["id"], (0,), 1, sketch_text(r["text"], NEAR))) for r in records]
    fn.start_bundle()
    sent = [out for member in members for out in fn.process(member, window=GlobalWindow())]
    at_end = list(fn.finish_bundle())
    assert sent and all(isinstance(w, WindowedValue) for w in at_end)  # flushed before the end too
    sent += [w.value for w in at_end]
    entries = sorted(e for shard, batch in sent for e in batch)
    expected = sorted((key, record_id) for record_id, member in members
                      for key in band_keys(signature_array(member.sketch), bands, rows))
    assert entries == expected
    assert all(band_shard(key, 5) == shard for shard, batch in sent for key, _ in batch)
