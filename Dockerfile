# colossal-bench image: the API (`cbench serve --no-worker`) and GPU workers (`cbench worker`) share it.
# CPU-only API images can skip the eval extra: docker build --build-arg EXTRAS="tracking,exports" .
FROM python:3.11-slim

ARG EXTRAS="eval,tracking,exports"
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1

# CJK fonts: CMMLU, C-Eval and GAOKAO questions are Chinese (pages, and screenshots rendered in the image)
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/colossal-bench
COPY pyproject.toml README.md ./
COPY app ./app
COPY cbench ./cbench
COPY evaluators ./evaluators
COPY contamination ./contamination
COPY datasets ./datasets
COPY migrations ./migrations
COPY alembic.ini ./
RUN pip install -e ".${EXTRAS:+[$EXTRAS]}"

ENV CBENCH_DATA_DIR=/data CBENCH_MODEL_ROOTS=/models
EXPOSE 8000
CMD ["cbench", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-worker"]
