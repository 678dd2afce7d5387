"""The benchmark definition files, their validation and the catalog built on them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from evaluators import catalog
from evaluators.dataset_spec import load_spec_file

YAML_FILES = sorted(catalog.DATASETS_DIR.glob("*.yaml"))


def test_every_benchmark_has_exactly_one_yaml():
    assert sorted(p.stem for p in YAML_FILES) == sorted(catalog.BENCHMARKS)
    assert not (catalog.DATASETS_DIR / "__init__.py").exists()


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.stem)
def test_every_yaml_file_loads(path: Path):
    spec = load_spec_file(path)
    assert spec.name == path.stem
    assert spec.expected_n == sum(s.counts[spec.eval_split] for s in spec.subjects)
    read = {f.path for f in spec.files}
    for subject in spec.subjects:  # every file the loaders can open has a checksum
        for split in subject.counts:
            assert spec.split_path(split, subject.key) in read
    if spec.shots_file:
        assert spec.shots_file in read


EXPECTED = {  # benchmark: (N, subjects, eval split, metric)
    "mmlu": (14042, 57, "test", "first_token"),
    "cmmlu": (11582, 67, "test", "first_token"),
    "agieval": (3337, 11, "test", "combined"),
    "gaokao": (1418, 7, "test", "first_token"),
    "ceval": (1346, 52, "val", "first_token"),
}


@pytest.mark.parametrize("name", catalog.BENCHMARKS)
def test_catalog_counts(name: str):
    n, subjects, split, metric = EXPECTED[name]
    spec = catalog.load_spec(name)
    assert catalog.expected_count(name) == n
    assert len(catalog.scored_subjects(name)) == subjects
    assert (spec.eval_split, spec.metric) == (split, metric)


def test_catalog_order_and_templates():
    assert catalog.BENCHMARKS == ("mmlu", "cmmlu", "agieval", "gaokao", "ceval")
    assert catalog.TEMPLATE_IDS == ("colossaleval", "colossaleval-2023-09", "harness")
    assert catalog.load_spec("mmlu") is catalog.load_spec("mmlu")


def test_ceval_test_split_is_exportable_and_unlabelled():
    spec = catalog.load_spec("ceval")
    assert spec.export_splits == ["test"] and spec.unlabelled_splits == ["test"]
    assert sum(s.counts["test"] for s in spec.subjects) == 12342


def test_gaokao_stores_both_metrics_and_lists_unscored_files():
    spec = catalog.load_spec("gaokao")
    assert spec.stored_metrics == ["first_token", "combined"]
    assert "2010-2022_Physics_MCQs" in {u.key for u in spec.unscored}


def test_agieval_unscored_subsets_and_demo_counts():
    spec = catalog.load_spec("agieval")
    assert {"lsat-ar", "lsat-lr", "lsat-rc", "aqua-rat", "jec-qa-kd", "jec-qa-ca", "gaokao-physics",
            "gaokao-mathqa", "math", "gaokao-mathcloze"} == {u.key for u in spec.unscored}
    shots = {s.key: s.shots for s in spec.subjects}
    assert {k for k, v in shots.items() if v == 3} == {
        "gaokao-chinese", "gaokao-english", "logiqa-en", "logiqa-zh", "sat-en", "sat-en-without-passage"}
    assert {k for k, v in shots.items() if v == 5} == {
        "sat-math", "gaokao-geography", "gaokao-history", "gaokao-biology", "gaokao-chemistry"}
    # sorted file-name order: "sat-en-without-passage.jsonl" < "sat-en.jsonl"
    assert catalog.scored_subjects("agieval")[-3:] == ("sat-en-without-passage", "sat-en", "sat-math")
    langs = {s.key: s.language for s in spec.subjects}
    assert langs["sat-en-without-passage"] == "en" and langs["gaokao-english"] == "en" and langs["logiqa-zh"] == "zh"


@pytest.mark.parametrize(
    ("name", "key", "display"),
    [
        ("mmlu", "high_school_us_history", "High School US History"),
        ("mmlu", "high_school_government_and_politics", "High School Government And Politics"),
        ("mmlu", "us_foreign_policy", "US Foreign Policy"),
        ("mmlu", "abstract_algebra", "Abstract Algebra"),
        ("cmmlu", "college_actuarial_science", "大学精算学"),
        ("cmmlu", "agronomy", "农学"),
        ("ceval", "college_chemistry", "大学化学"),
        ("ceval", "accountant", "注册会计师"),
        ("agieval", "sat-en-without-passage", "sat-en-without-passage"),
        ("gaokao", "2010-2013_English_MCQs", "English MCQs"),
        ("gaokao", "2010-2022_Math_II_MCQs", "Math II MCQs"),
    ],
)
def test_display_names(name: str, key: str, display: str):
    assert catalog.load_spec(name).subject(key).display == display


def test_validate_request_accepts_and_rejects():
    catalog.validate_request("mmlu", "colossaleval", ["anatomy"])
    catalog.validate_request(["mmlu", "agieval"], "harness", ["anatomy", "sat-math"])
    with pytest.raises(ValueError, match=r"unknown benchmark 'nope'; valid: mmlu, cmmlu"):
        catalog.validate_request("nope", "colossaleval")
    with pytest.raises(ValueError, match=r"unknown template 'x'; valid: colossaleval, colossaleval-2023-09"):
        catalog.validate_request("mmlu", "x")
    with pytest.raises(ValueError, match=r"unknown subject\(s\) 'anatomyy' for mmlu; valid: abstract_algebra"):
        catalog.validate_request("mmlu", "colossaleval", ["anatomyy"])
    with pytest.raises(ValueError, match="unknown benchmark"):
        catalog.load_spec("../etc/passwd")


def test_expected_count_for_subjects():
    assert catalog.expected_count("mmlu", ["abstract_algebra", "anatomy"]) == 100 + 135
    with pytest.raises(ValueError, match="unknown mmlu subject"):
        catalog.expected_count("mmlu", ["nope"])


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _raw(name: str) -> dict:
    return yaml.safe_load((catalog.DATASETS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.update(expected_n=1), "expected_n 1 != sum of subject counts"),
        (lambda r: r.update(format="xml"), "format"),
        (lambda r: r.update(eval_split="val"), "split 'val' is not in splits"),
        (lambda r: r["splits"].update(test="../../etc/{subject}.csv"), "must be relative"),
        (lambda r: r["subjects"][0].update(key="../x"), "subjects.0.key"),
        (lambda r: r["files"][0].update(sha256="xyz"), "files.0.sha256"),
        (lambda r: r.update(surprise=1), "surprise"),
        (lambda r: r.update(metric="combined"), "not in stored_metrics"),
    ],
)
def test_bad_spec_files_give_clear_errors(tmp_path: Path, change, message: str):
    raw = _raw("mmlu")
    change(raw)
    with pytest.raises(ValueError, match="bad.yaml") as info:
        load_spec_file(_write(tmp_path, raw))
    assert message in str(info.value)


def test_unparseable_yaml(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot read dataset spec .*broken.yaml"):
        load_spec_file(path)
    path.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected a mapping"):
        load_spec_file(path)
