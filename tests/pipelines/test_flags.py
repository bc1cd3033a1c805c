"""Every argument of a job is the job's own or a Beam option; anything else fails at launch."""

import pytest

from curation.dedup.options import ExactDedupOptions, NearDedupOptions
from curation.origin.options import OriginOptions
from curation.reading.options import ReadOptions
from curation.sampling.options import SampleOptions
from curation.writing.options import WriteOptions
from pipelines import curate, train_detector, verify

JOB = ["--input", "corpus.jsonl", "--output", "out"]
# Flags of Beam's runners, workers and portability layer must still pass through untouched.
BEAM = [
    "--runner", "PortableRunner", "--job_endpoint", "localhost:8099", "--environment_type=LOOPBACK",
    "--direct_num_workers", "2", "--direct_running_mode", "multi_processing", "--flink_master", "localhost:8081",
    "--project", "my-project", "--region", "us-central1", "--temp_location", "gs://my-bucket/tmp",
    "--no_use_public_ips", "--experiments=use_runner_v2", "--experiments", "another", "--sdk_worker_parallelism", "1",
]


def _exit_message(capsys, job, argv):
    with pytest.raises(SystemExit) as exited:
        job(argv)
    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()  # one line, no usage dump
    return line


def test_a_mistyped_flag_fails_naming_the_closest_known_one(capsys):
    line = _exit_message(capsys, curate.main, [*JOB, "--min-real-fraktion", "0.9"])
    assert "unknown flag --min-real-fraktion; did you mean --min-real-fraction?" in line
    # A typo in a Beam flag is named against Beam's flags.
    assert "did you mean --direct_num_workers?" in _exit_message(capsys, curate.main, [*JOB, "--direct_num_workrs=2"])


def test_the_unknown_flag_is_reported_before_the_required_flag_it_was_meant_to_be(capsys):
    line = _exit_message(capsys, train_detector.main, ["--input", "labelled.jsonl", "--outptu", "model"])
    assert "unknown flag --outptu; did you mean --output?" in line


def test_verify_checks_its_flags_like_every_job(capsys):
    line = _exit_message(capsys, verify.main, ["out", "--size-only"])
    assert "unknown flag --size-only; did you mean --sizes-only?" in line


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--min-real-fraction", "0.9", "0.8"], "unexpected argument '0.8'"),
        (["--direct_num_workers", "two"], "argument --direct_num_workers: invalid int value: 'two'"),
        (["--runner", "NoSuchRunner"], "Unexpected pipeline runner: NoSuchRunner"),
        (["--min-real"], "unknown flag --min-real"),  # no abbreviations
    ],
)
def test_stray_values_bad_beam_values_and_prefixes_fail(capsys, extra, message):
    assert message in _exit_message(capsys, curate.main, [*JOB, *extra])


def test_beam_flags_pass_through_unchanged():
    args, beam_args = curate.build_parser().parse_job_and_beam_args([*JOB, *BEAM, "--seed", "3"])
    assert beam_args == BEAM and args.seed == 3 and args.input == ["corpus.jsonl"]


def test_a_job_given_no_optional_flag_runs_on_the_options_own_defaults(tmp_path):
    # The flags take their defaults from the options: a default changed in one place changes both.
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"id": "a", "text": "x"}\n')
    output = str(tmp_path / "out")
    job = curate.plan_job(["--input", str(corpus), "--output", output, "--min-real-fraction", "0.8"])
    assert job.read == ReadOptions(inputs=(str(corpus),), run_id=job.run_id)
    assert job.exact_dedup == ExactDedupOptions() and job.near_dedup == NearDedupOptions()
    assert job.sampling == SampleOptions(min_real_fraction=0.8)
    assert job.origin == OriginOptions()
    assert job.write == WriteOptions(output=output, min_real_fraction=0.8)
    assert job.sampling.shards is job.write.shards  # one object: the sampler plans what the writer writes
