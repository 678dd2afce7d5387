"""Write lm-evaluation-harness task configs that read MMLU from the local CSV files instead of the Hub.

Each task copies lm-eval's own MMLU default template (`doc_to_text`, `doc_to_choice`, `doc_to_target`,
`fewshot_config`, `output_type`, metrics) and the subject's `description` from the installed `lm_eval` package, so
the prompts are lm-eval's, not ours. Only the dataset differs: the `csv` builder with `data_files` pointing at
`<data_dir>/mmlu/data/{dev,test}`. Every field is read as text (no pandas type guessing, no NA conversion) and
`\\r\\n` / `\\r` inside fields become `\\n`, as in `cais/mmlu` (built by reading the CSVs in text mode); a
`process_docs` hook turns the six CSV columns into the `question` / `choices` / `answer` (an int, 0-3) fields
of `cais/mmlu`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

COLUMNS = ("question", "A", "B", "C", "D", "answer")
TASK_PREFIX = "cbench_mmlu_"
KEPT_FIELDS = ("output_type", "doc_to_text", "doc_to_choice", "doc_to_target", "fewshot_config", "metric_list",
               "test_split", "fewshot_split")

UTILS_MODULE = "cbench_mmlu_csv"
UTILS_SOURCE = '''"""Helpers for the generated cbench MMLU-from-CSV lm-eval tasks (written by bench/lmeval_task.py)."""


def text(value):
    return value.replace("\\r\\n", "\\n").replace("\\r", "\\n")


def process_docs(dataset):
    def to_mmlu(row):
        return {"question": row["question"], "choices": [row["A"], row["B"], row["C"], row["D"]],
                "answer": "ABCD".index(row["letter"].strip())}

    source = dataset.rename_column("answer", "letter")
    return source.map(to_mmlu, remove_columns=source.column_names)
'''


def lmeval_mmlu_dir() -> Path:
    """The installed lm-eval's MMLU default task folder."""
    import lm_eval

    path = Path(lm_eval.__file__).parent / "tasks" / "mmlu" / "default"
    if not (path / "_default_template_yaml").is_file():
        raise ValueError(f"lm_eval at {path.parent.parent} has no MMLU default template; install lm_eval==0.4.13")
    return path


def _plain_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def lmeval_template() -> dict[str, Any]:
    """lm-eval's MMLU default template fields that decide prompts and scoring."""
    template = _plain_yaml(lmeval_mmlu_dir() / "_default_template_yaml")
    return {key: template[key] for key in KEPT_FIELDS if key in template}


def lmeval_description(subject: str) -> str:
    """lm-eval's description for an MMLU subject (from its own per-subject YAML)."""
    path = lmeval_mmlu_dir() / f"mmlu_{subject}.yaml"
    if not path.is_file():
        raise ValueError(f"lm-eval has no MMLU task for subject {subject!r}")
    return str(_plain_yaml(path)["description"])


def task_config(subject: str, data_dir: Path, template: dict[str, Any]) -> dict[str, Any]:
    """One task config (without the `!function` tags, added when writing)."""
    files = {split: str((data_dir / "mmlu" / "data" / split / f"{subject}_{split}.csv").resolve())
             for split in ("dev", "test")}
    for path in files.values():
        if not Path(path).is_file():
            raise ValueError(f"MMLU file {path} does not exist")
    return {
        "task": f"{TASK_PREFIX}{subject}",
        "dataset_path": "csv",
        "dataset_kwargs": {"data_files": files, "column_names": list(COLUMNS), "header": None, "na_filter": False},
        "description": lmeval_description(subject),
        "num_fewshot": 5,
        "target_delimiter": " ",
        "fewshot_delimiter": "\n\n",
        **template,
        "metadata": {"version": 1.0},
    }


def _render(config: dict[str, Any]) -> str:
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False, width=1000)
    converters = "".join(f"    {c}: !function {UTILS_MODULE}.text\n" for c in COLUMNS)
    text = text.replace("  na_filter: false\n", f"  na_filter: false\n  converters:\n{converters}", 1)
    return text + f"process_docs: !function {UTILS_MODULE}.process_docs\n"


def write_tasks(subjects: list[str], data_dir: Path, output_dir: Path) -> list[str]:
    """Write one YAML per subject plus the helper module into `output_dir`; returns the task names."""
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / f"{UTILS_MODULE}.py").write_text(UTILS_SOURCE, encoding="utf-8")
    template = lmeval_template()
    names = []
    for subject in subjects:
        config = task_config(subject, data_dir, template)
        (output_dir / f"{config['task']}.yaml").write_text(_render(config), encoding="utf-8")
        names.append(config["task"])
    return names
