# Production image: the API (and its outbox worker) on uvicorn; PostgreSQL runs separately.
FROM python:3.12-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv/minqing
RUN useradd --system --uid 10001 --home /srv/minqing minqing
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
COPY migrations ./migrations
COPY alembic.ini ./
RUN pip install -c constraints.txt -e . && mkdir -p var && chown -R minqing var
USER minqing
ENV MINQING_ENV=prod PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"
CMD ["sh", "-c", "mkdir -p $PROMETHEUS_MULTIPROC_DIR && minqing migrate && exec minqing serve --host 0.0.0.0 --port 8000 --workers ${MINQING_WORKERS:-4} --no-migrate"]
