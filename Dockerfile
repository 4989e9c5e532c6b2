# syntax=docker/dockerfile:1.7
# patentmatch service image: CPU-only, models and the CNIPA IPC scheme inside the image, nothing
# downloaded at run time. Build from the repository root, with the shared data folder as a named
# build context (the IPC scheme is copied from it):
#   docker build --build-context shared=../shared -t patentmatch .
# Air-gapped builds: point pip (and the model fetch, which uses pip) at a mirror:
#   docker build --build-arg PIP_INDEX_URL=https://mirror.example/simple \
#                --build-arg TORCH_INDEX_URL=https://mirror.example/torch-cpu ...
FROM python:3.11-slim

ARG PIP_INDEX_URL=https://pypi.org/simple
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG MODEL_NAME=multilingual-e5-small

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    PATENTMATCH_HOME=/data \
    PIP_INDEX_URL=${PIP_INDEX_URL} \
    PATENTMATCH_DATABASE_URL=sqlite:////data/patentmatch.db \
    PATENTMATCH_INDEX_DIR=/data/index \
    PATENTMATCH_MODELS_DIR=/opt/patentmatch/models \
    PATENTMATCH_SHARED_DIR=/opt/patentmatch/shared \
    PATENTMATCH_VAR_DIR=/data/var \
    PATENTMATCH_MODEL_NAME=${MODEL_NAME}

WORKDIR /opt/patentmatch
# The CPU build of torch first; PyPI's default wheel is the multi-GB CUDA build.
RUN pip install --no-cache-dir torch==2.13.0 --index-url "${TORCH_INDEX_URL}"

COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-cache-dir . \
    && patentmatch model fetch "${MODEL_NAME}"

# The CNIPA IPC scheme (labels and the scheme-title evidence of the ranking).
COPY --from=shared data/ipc/ipc_zh_2026_01.csv /opt/patentmatch/shared/data/ipc/ipc_zh_2026_01.csv
COPY scripts/docker-entrypoint.sh /usr/local/bin/patentmatch-entrypoint

RUN useradd --system --home /data patentmatch && mkdir -p /data && chown patentmatch /data
USER patentmatch
VOLUME ["/data"]
EXPOSE 8000
# /readyz is 503 while the database is unreachable or the index lags too far behind.
HEALTHCHECK --interval=15s --timeout=5s --start-period=600s --retries=3 \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"
# The entrypoint ends in `exec`, so SIGTERM reaches the server (graceful shutdown saves the index).
ENTRYPOINT ["patentmatch-entrypoint"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
