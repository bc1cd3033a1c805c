"""The dataset card (OUTPUT/README.md) states what the manifest proves."""

import shlex

import pyarrow.parquet as pq

from curation.provenance.card import CARD_FILE, reproduce_command, write_dataset_card
from curation.provenance.manifest import class_totals, summarize
from pipelines import curate
from tests.factories import N_GOOD, REAL_BELOW, bytes_run


def test_card_states_the_achieved_ratio_and_matches_the_manifest(curated_output):
    out, manifest, _ = curated_output
    card = write_dataset_card(manifest, out)
    with open(f"{out}/{CARD_FILE}", encoding="utf-8") as f:
        assert f.read() == card
    totals = class_totals(manifest)
    assert totals == {"real": N_GOOD // 2, "synthetic": N_GOOD // 2}
    rows = manifest["tables"]["data"]["rows"]
    assert f"**Achieved real fraction: {100 * totals['real'] / rows:.2f}%**" in card
    assert "real : synthetic = 1.000 : 1" in card
    balance = manifest["accounting"]
    assert f"{balance['records_read']:,} records" in card
    assert f"| output | data/ | {balance['output']:,} |" in card
    for shard in manifest["tables"]["data"]["shards"]:
        assert f"| {shard['name']} | {shard['rows']:,} | {shard['classes']['real']:,} |" in card
        assert shard["sha256"] in card
    for reason, n in manifest["reasons"]["rejected"].items():
        assert f"| {reason} | {n:,} |" in card
    # The detector and the sampler did not run in this job: said so, not omitted.
    assert "## Synthetic-text detector\n\nnot run" in card
    assert "## Strata and tails\n\nnot run" in card
    assert "| `synthetic_score` | double | yes |" in card


def test_text_bytes_per_origin_match_the_shards_and_the_card_states_the_real_share(curated_output):
    out, manifest, _ = curated_output
    written: dict = {}
    for shard in manifest["tables"]["data"]["shards"]:
        table = pq.read_table(f"{out}/{shard['path']}", columns=["origin", "text"]).to_pylist()
        per_shard: dict = {}
        for row in table:
            per_shard[row["origin"]] = per_shard.get(row["origin"], 0) + len(row["text"].encode("utf-8"))
        assert shard["class_text_bytes"] == per_shard
        for origin, n in per_shard.items():
            written[origin] = written.get(origin, 0) + n
    assert class_totals(manifest, "class_text_bytes") == written
    card = write_dataset_card(manifest, out)
    share = 100 * written["real"] / sum(written.values())
    assert f"Real share of the text: {share:.2f}% of {sum(written.values()):,} UTF-8 bytes" in card
    assert f"real share of text {share / 100:.1%}" in summarize(manifest)


def test_reproduce_command_parses_back_to_the_recorded_config(curated_output):
    out, manifest, _ = curated_output
    argv = shlex.split(reproduce_command(manifest["config"], out))
    assert argv[:3] == ["python", "-m", "pipelines.curate"]
    args, beam_args = curate.build_parser().parse_known_args(argv[3:])
    assert beam_args == []
    assert args.output == out
    recorded = {k: v for k, v in vars(args).items() if k in manifest["config"]}
    assert recorded == manifest["config"]


def test_card_shows_every_stage_when_it_ran(full_output):
    out, manifest = full_output
    card = write_dataset_card(manifest, out)
    assert "not run" not in card
    assert f"below **{REAL_BELOW:.4g}**" in card
    assert "| test_metrics.overall.auroc | 0.97 |" in card
    assert "Requested floor on the real fraction of every shard: 25.00%" in card
    assert "| duplicate | duplicates/ | 1 |" in card
    assert "| near | 1 |" in card and "| over_stratum_quota | 2 |" in card
    # Strata rarest first, with the share kept.
    assert card.index("| topic-1 | 4 | 4 | 100.00% |") < card.index("| topic-0 | 7 | 4 | 57.14% |")
    assert "| tail.rarest_decile_kept_share | 1 |" in card


def test_card_states_the_byte_floor_and_each_user_stratum_by_origin(full_output):
    out, manifest = full_output
    card = write_dataset_card(bytes_run(manifest), out)
    assert "**Real share of the text: 75.00% of 400 UTF-8 bytes.**" in card
    assert "Requested floor on the real share of the text of every shard: 25.00% (`--ratio-unit bytes`" in card
    assert "Quotas count UTF-8 bytes of text. Each origin's budget is allocated by `unimax` across the user strata" in card
    # Rarest user stratum first; per origin in, out, kept; then the share of its text kept.
    assert card.index("| genre=b | 2 | 2 | 100.00% | 0 | 0 | n/a | 100.00% |") < card.index(
        "| genre=a | 4 | 4 | 100.00% | 6 | 1 | 16.67% | 50.00% |"
    )
    assert "| real_share.text | 0.75 |" in card and "| user_strata.genre" not in card
