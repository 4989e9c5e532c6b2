# patentmatch service image: CPU-only, models provisioned at build time (never at run time).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    PATENTMATCH_HOME=/data \
    PATENTMATCH_DATABASE_URL=sqlite:////data/patentmatch.db \
    PATENTMATCH_INDEX_DIR=/data/index \
    PATENTMATCH_MODELS_DIR=/opt/patentmatch/models \
    PATENTMATCH_VAR_DIR=/data/var

WORKDIR /opt/patentmatch
# The CPU build of torch first; PyPI's default wheel is the multi-GB CUDA build.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-cache-dir . \
    && patentmatch model fetch multilingual-e5-small

RUN useradd --system --home /data patentmatch && mkdir -p /data && chown patentmatch /data
USER patentmatch
VOLUME ["/data"]
EXPOSE 8000
CMD ["sh", "-c", "patentmatch db upgrade && patentmatch serve --host 0.0.0.0 --port 8000"]
