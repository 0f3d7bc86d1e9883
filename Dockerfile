# Production image: the API (`minqing serve`), the worker (`minqing worker`) and the one-shot
# `minqing migrate` all run from it; PostgreSQL runs separately (docker-compose.yml).
# Python here is the version the test suite runs on.
ARG PYTHON_IMAGE=python:3.11-slim

# --- dependencies: rebuilt only when pyproject.toml or constraints.txt change ----------------------
FROM ${PYTHON_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/minqing
ENV PATH=/opt/minqing/bin:$PATH
WORKDIR /tmp/deps
COPY pyproject.toml constraints.txt ./
# The project's dependencies without the project (its code is not here yet), at the tested versions;
# setuptools builds the project's own (editable) install in the final stage.
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > requirements.txt \
    && pip install -c constraints.txt -r requirements.txt "setuptools>=69"

# --- the image ---------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/minqing/bin:$PATH
RUN useradd --system --uid 10001 --home /srv/minqing minqing
COPY --from=deps /opt/minqing /opt/minqing
WORKDIR /srv/minqing
COPY pyproject.toml constraints.txt README.md alembic.ini ./
COPY migrations ./migrations
COPY app ./app
RUN pip install --no-deps --no-build-isolation -e . \
    && mkdir -p var/attachments && chown -R minqing var
USER minqing
# Each command creates what it needs (the metrics directory, the worker's heartbeat under var/).
ENV MINQING_ENV=prod PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus MINQING_WORKERS=4
EXPOSE 8000
# The API's healthcheck; docker-compose.yml gives the worker its own (`minqing worker --check`).
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD ["python", "-c", "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"]
# Migrations are the one-shot `minqing migrate` service's job (docker-compose.yml); `serve` reads
# its number of worker processes from MINQING_WORKERS.
CMD ["minqing", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-migrate"]
