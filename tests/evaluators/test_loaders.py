"""Native-file loaders against the real benchmark files (scoring.md §1, §2.1) and against corrupt copies."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from evaluators import catalog
from evaluators.loaders import gaokao_letters, load_file, load_questions, load_shots, resolve_data_path

SCORED_N = {"mmlu": (14042, 57), "cmmlu": (11582, 67), "agieval": (3337, 11), "gaokao": (1418, 7), "ceval": (1346, 52)}
AGIEVAL_N = {
    "logiqa-en": 651, "sat-math": 220, "sat-en": 206, "sat-en-without-passage": 206, "gaokao-english": 306,
    "logiqa-zh": 651, "gaokao-chinese": 246, "gaokao-geography": 199, "gaokao-history": 235, "gaokao-biology": 210,
    "gaokao-chemistry": 207,
}
GAOKAO_N = {
    "2010-2013_English_MCQs": 105, "2010-2022_Biology_MCQs": 150, "2010-2022_Chemistry_MCQs": 124,
    "2010-2022_History_MCQs": 287, "2010-2022_Math_I_MCQs": 214, "2010-2022_Math_II_MCQs": 218,
    "2010-2022_Political_Science_MCQs": 320,
}
AGIEVAL_SHOTS = {k: 3 for k in ("logiqa-en", "logiqa-zh", "sat-en", "sat-en-without-passage", "gaokao-english",
                                "gaokao-chinese")} | {k: 5 for k in ("sat-math", "gaokao-geography",
                                                                    "gaokao-history", "gaokao-biology",
                                                                    "gaokao-chemistry")}


@pytest.fixture(scope="module")
def loaded(data_dir: Path) -> dict:
    return {name: load_questions(catalog.load_spec(name), data_dir) for name in catalog.BENCHMARKS}


def _manifest_counts(data_dir: Path) -> dict[str, int]:
    with (data_dir / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        return {row["path"]: int(row["questions"]) for row in csv.DictReader(handle, delimiter="\t")
                if row["questions"] != "-"}


@pytest.mark.parametrize("name", catalog.BENCHMARKS)
def test_counts_per_benchmark_and_subject(name: str, loaded: dict, data_dir: Path):
    spec = catalog.load_spec(name)
    questions = loaded[name]
    n, subjects = SCORED_N[name]
    assert (sum(map(len, questions.values())), len(questions)) == (n, subjects)
    manifest = _manifest_counts(data_dir)
    for key, items in questions.items():
        assert len(items) == manifest[spec.split_path(spec.eval_split, key)], key
        assert [q.index for q in items] == list(range(len(items)))
        assert all(q.gold in q.letters == ("A", "B", "C", "D") for q in items)
    if name == "agieval":
        assert {k: len(v) for k, v in questions.items()} == AGIEVAL_N
    if name == "gaokao":
        assert {k: len(v) for k, v in questions.items()} == GAOKAO_N
    if name == "mmlu":
        assert len(questions["professional_law"]) == 1534


def test_subjects_in_sorted_file_name_order(loaded: dict):
    for name, questions in loaded.items():
        spec = catalog.load_spec(name)
        paths = [spec.split_path(spec.eval_split, k) for k in questions]
        assert paths == sorted(paths)
    assert list(loaded["gaokao"])[4:6] == ["2010-2022_Math_II_MCQs", "2010-2022_Math_I_MCQs"]


def test_ceval_test_split_unlabelled_with_ids(data_dir: Path):
    spec = catalog.load_spec("ceval")
    test = load_questions(spec, data_dir, split="test")
    assert sum(map(len, test.values())) == 12342
    first = test["accountant"][0]
    assert (first.gold, first.source_id, first.split) == ("", "0", "test")
    val = load_questions(spec, data_dir, split="val", subjects=["accountant"])
    assert len(val["accountant"]) == 49 and val["accountant"][0].gold in "ABCD"


@pytest.mark.parametrize("name", ["mmlu", "cmmlu", "ceval"])
def test_dev_shots_are_five_per_subject(name: str, data_dir: Path):
    spec = catalog.load_spec(name)
    for key in catalog.scored_subjects(name):
        shots = load_shots(spec, data_dir, key)
        assert len(shots) == 5 and all(s.split == "dev" and s.gold for s in shots)


def test_agieval_demo_counts_and_pairing(data_dir: Path):
    spec = catalog.load_spec("agieval")
    counts = {key: len(load_shots(spec, data_dir, key)) for key in catalog.scored_subjects("agieval")}
    assert counts == AGIEVAL_SHOTS
    sat_en = load_shots(spec, data_dir, "sat-en")
    without = load_shots(spec, data_dir, "sat-en-without-passage")
    assert [d.question for d in without] == [d.question for d in sat_en]
    assert all(d.passage for d in sat_en) and not any(d.passage for d in without)
    assert [d.gold for d in sat_en] == ["C", "B", "C"]
    assert sat_en[0].passage.startswith("Solar panel installations continue")
    assert load_shots(spec, data_dir, "logiqa-en")[0].options[0].startswith("(A)")


def test_gaokao_is_zero_shot_and_question_stripped(loaded: dict, data_dir: Path):
    assert load_shots(catalog.load_spec("gaokao"), data_dir, "2010-2022_Math_I_MCQs") == []
    first = loaded["gaokao"]["2010-2022_Math_I_MCQs"][0]
    assert first.question.startswith("1. （5 分)") and first.question.endswith("D. $\\{0,1,2\\}$")
    assert first.gold == "D" and first.options == ()
    assert all(q.question == q.question.strip() for v in loaded["gaokao"].values() for q in v)


def test_gaokao_letter_rule():
    assert gaokao_letters("x A. a B．b C.c D. d") == ("A", "B", "C", "D")
    assert gaokao_letters("A. a B. b D. d") == ("A", "B")  # cut at the first gap
    assert gaokao_letters("B. b C. c") == ()


def test_crlf_normalised_everywhere(loaded: dict, data_dir: Path):
    for name in ("mmlu", "cmmlu", "ceval"):  # JSON-escaped "\r" in AGIEval strings is data, kept as is
        for items in loaded[name].values():
            assert not any("\r" in q.question or any("\r" in o for o in q.options) for q in items)
    shot = load_shots(catalog.load_spec("mmlu"), data_dir, "college_mathematics")[2]
    assert shot.question.startswith("Let A be a real 2x2 matrix. Which of the following statements must be true?\nI. ")
    val = loaded["ceval"]["advanced_mathematics"][14]  # CRLF inside the quoted field
    assert "\\begin{cases}\nx\\text{，}-1\\leq x\\leq2\\\\\n0\\text{，}" in val.question


def test_leading_spaces_preserved(loaded: dict):
    mmlu = loaded["mmlu"]
    assert sum(q.question.startswith(" ") for items in mmlu.values() for q in items) == 648
    assert mmlu["business_ethics"][3].question.startswith(" ______ is an employee's preferred ratio")


def test_agieval_fields(loaded: dict):
    item = loaded["agieval"]["logiqa-zh"][0]
    assert item.passage.startswith("某乡镇进行新区规划") and item.options[0] == "(A)市民公园在行政服务区的北面"
    assert all(q.passage == "" for q in loaded["agieval"]["sat-en-without-passage"])


# ------------------------------------------------------------------------------------------ bad input


def _copy(data_dir: Path, tmp_path: Path, rel: str) -> Path:
    target = tmp_path / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(data_dir / rel, target)
    return target


def test_missing_data_dir_and_file(tmp_path: Path):
    spec = catalog.load_spec("mmlu")
    with pytest.raises(ValueError, match=r"data directory .*nowhere does not exist; run `cbench data fetch"):
        load_questions(spec, tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"missing data file .*abstract_algebra_test.csv.*CBENCH_DATA_DIR"):
        load_questions(spec, tmp_path, subjects=["abstract_algebra"])


def test_path_escaping_data_dir(tmp_path: Path):
    (tmp_path / "secret.csv").write_text("x", encoding="utf-8")
    inner = tmp_path / "data"
    inner.mkdir()
    with pytest.raises(ValueError, match="escapes the data directory"):
        resolve_data_path(inner, "../secret.csv")
    (inner / "link.csv").symlink_to(tmp_path / "secret.csv")
    with pytest.raises(ValueError, match="escapes the data directory"):
        resolve_data_path(inner, "link.csv")


def test_unknown_subject(data_dir: Path):
    with pytest.raises(ValueError, match="unknown mmlu subject 'nope'"):
        load_questions(catalog.load_spec("mmlu"), data_dir, subjects=["nope"])


@pytest.mark.parametrize(
    ("name", "rel", "content", "message"),
    [
        ("mmlu", "mmlu/data/test/anatomy_test.csv", "q,a,b,c,d,A\nq,a,b,c,A\n", r"line 2: expected 6 columns"),
        ("mmlu", "mmlu/data/test/anatomy_test.csv", "q,a,b,c,d,A\nq,a,b,c,d,E\n", r"line 2: gold 'E'"),
        ("mmlu", "mmlu/data/test/anatomy_test.csv", 'q,a,b,c,d,A\n"q,a\n', r"anatomy_test.csv"),
        ("cmmlu", "cmmlu/data/test/anatomy.csv", ",Question,A,B,C,D,Answer\n0,q,a,b,c,d,\n", r"line 2: gold ''"),
        ("ceval", "ceval/val/accountant_val.csv", "id,question,A,B,C,D\n0,q,a,b,c,d\n", r"lacks column\(s\) answer"),
        ("agieval", "agieval/data/v1/sat-math.jsonl", '{"options": ["(A)1","(B)2"], "label": "A"}\n{bad\n',
         r"sat-math.jsonl, line 2: bad JSON"),
        ("agieval", "agieval/data/v1/sat-math.jsonl", '{"options": ["(A)1","(B)2"], "label": "C"}\n',
         r"line 1: gold 'C' is not one of A, B"),
        ("gaokao", "gaokao/Data/Objective_Questions/2010-2022_Biology_MCQs.json",
         '{"example": [{"question": "A. x B. y", "answer": ["C"]}]}', r"example 0: gold 'C'"),
        ("gaokao", "gaokao/Data/Objective_Questions/2010-2022_Biology_MCQs.json", "{", r"bad GAOKAO-Bench JSON"),
    ],
)
def test_corrupt_files_name_file_and_row(tmp_path: Path, name: str, rel: str, content: str, message: str):
    path = tmp_path / rel
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8")
    spec = catalog.load_spec(name)
    split = spec.eval_split
    subject = next(f.subject for f in spec.files if f.path == rel)
    with pytest.raises(ValueError, match=message) as info:
        load_file(spec, tmp_path, subject, split)
    assert rel.rsplit("/", 1)[-1] in str(info.value)


def test_corrupt_demo_cell(tmp_path: Path, data_dir: Path):
    target = _copy(data_dir, tmp_path, "agieval/data/few_shot_prompts.csv")
    rows = list(csv.reader(target.open(encoding="utf-8", newline="")))
    rows[1][rows[0].index("sat-math")] = "{'question': "
    with target.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    spec = catalog.load_spec("agieval")
    with pytest.raises(ValueError, match=r"few_shot_prompts.csv, row at line \d+, column 'sat-math': bad literal"):
        load_shots(spec, tmp_path, "sat-math")
    assert len(load_shots(spec, tmp_path, "sat-en")) == 3
