"""The summary's explanation of the curated chain's drift follows the numbers it is given."""
from curation.simulation import report


def row(generation, perplexity, rare, synthetic_docs, synthetic_words, real_docs, coverage=1.0):
    return {
        "generation": generation, "perplexity": perplexity, "rare_type_share": rare, "vocab_coverage": coverage,
        "train_synthetic_share": synthetic_docs, "train_synthetic_word_share": synthetic_words,
        "train_real_docs": real_docs,
    }


def results(temperature=0.9, top_p=0.9):
    config = {"temperature": temperature, "top_p": top_p, "top_k": None, "undeclared_share": 0.2}
    return {"config": config, "real": {"train_docs": 100}, "curate": {"min_real_fraction": 0.8, "detector": True}}


def test_curated_drift_names_each_measured_cause():
    rows = [row(0, 100.0, 0.5, 0.0, 0.0, 100), row(1, 110.0, 0.4, 0.2, 0.2, 100),
            row(2, 113.0, 0.38, 0.21, 0.26, 90, coverage=0.97)]
    text = report.curated_drift(rows, results())
    assert "does **not** stay within 5% of generation 0 on perplexity (+13.0%) and rare types (-24.0%)" in text
    assert "21% synthetic by documents (the real floor allows 20%; the detector let some" in text
    assert "26% by words" in text and "synthetic documents kept are longer" in text
    assert "over-weights frequent words" in text
    assert "only 90 of the 100 real training documents were kept" in text and "coverage 0.970" in text
    assert "moved its perplexity by +2.7% (the drift is levelling off)" in text


def test_curated_drift_leaves_out_causes_the_run_did_not_have():
    rows = [row(0, 100.0, 0.5, 0.0, 0.0, 100), row(1, 108.0, 0.49, 0.2, 0.2, 100)]
    text = report.curated_drift(rows, results(temperature=1.0, top_p=None))
    assert "does **not** stay" in text
    for absent in ("let some", "longer", "over-weights", "were kept", "levelling"):
        assert absent not in text
    close = [row(0, 100.0, 0.5, 0.0, 0.0, 100), row(1, 103.0, 0.49, 0.2, 0.2, 100)]
    assert report.curated_drift(close, results()) == (
        "Curated stays within 5% of generation 0 on perplexity (+3.0%) and rare types (-2.0%)."
    )
