"""Command-line pieces shared by pipelines.train_detector and pipelines.evaluate_detector."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Mapping

from curation.detection.labelled import DEFAULT_LABEL_MAP, LabelledFields, parse_label_map
from curation.detection.options import TrainConfig


def add_labelled_arguments(parser: argparse.ArgumentParser) -> None:
    """--input and the flags that map a user's labelled file onto LabelledFields."""
    parser.add_argument("--input", required=True, help="labelled JSONL(.gz) or Parquet file, or a glob")
    parser.add_argument("--text-field", default="text")
    parser.add_argument("--label-field", default="label")
    parser.add_argument("--id-field", default="id", help="records without one get their content hash")
    parser.add_argument("--domain-field", default="domain", help="'' if the data has none")
    parser.add_argument("--generator-field", default="generator", help="'' if the data has none")
    parser.add_argument(
        "--label-map",
        default=",".join(f"{k}={v}" for k, v in DEFAULT_LABEL_MAP.items()),
        help="label values to real/synthetic, e.g. human=real,ai=synthetic",
    )


def labelled_fields(args: argparse.Namespace) -> LabelledFields:
    return LabelledFields(
        text=args.text_field,
        label=args.label_field,
        id=args.id_field,
        domain=args.domain_field or None,
        generator=args.generator_field or None,
        label_map=parse_label_map(args.label_map),
    )


def add_train_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field (--window-tokens, --word-ngrams, --dim, --epoch, --lr, --min-count)."""
    defaults = TrainConfig()
    for field in dataclasses.fields(TrainConfig):
        default = getattr(defaults, field.name)
        parser.add_argument("--" + field.name.replace("_", "-"), type=type(default), default=default)


def train_config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(**{field.name: getattr(args, field.name) for field in dataclasses.fields(TrainConfig)})


def metrics_table(slices: Mapping[str, Any]) -> str:
    """Plain-text table of slice_metrics output: overall, then per domain, then per generator."""
    columns = ("n", "n_real", "n_synthetic", "auroc", "f1", "tpr_at_1pct_fpr", "tpr_at_5pct_fpr")
    rows = [("overall", "all", slices["overall"])]
    for group in ("by_domain", "by_generator"):
        rows += [(group[3:], name, summary) for name, summary in slices[group].items()]
    header = f"{'slice':<10} {'value':<18} " + " ".join(f"{c:>15}" for c in columns)
    lines = [header, "-" * len(header)]
    for group, name, summary in rows:
        cells = " ".join(_cell(summary[c]) for c in columns)
        lines.append(f"{group:<10} {name:<18} {cells}")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return f"{'-':>15}"
    return f"{value:>15.4f}" if isinstance(value, float) else f"{value:>15}"
