# syntax=docker/dockerfile:1
# Build stage: install the locked dependencies into a virtual environment.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 UV_PROJECT_ENVIRONMENT=/opt/venv UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /src
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project

# Runtime stage: the environment and the code, run as an unprivileged user.
FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/srv/tthc PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8000 \
    DATABASE_URL=sqlite:////var/lib/tthc/tthc.db
RUN groupadd --system tthc && useradd --system --gid tthc --home /srv/tthc tthc \
    && mkdir -p /var/lib/tthc && chown tthc:tthc /var/lib/tthc \
    && printf '#!/bin/sh\nexec python -m app.cli "$@"\n' > /usr/local/bin/tthc-metrics \
    && chmod 755 /usr/local/bin/tthc-metrics
# The data: the SQLite database (DATABASE_URL above) and its WAL, and backups written beside it. Declared
# after the chown, so a new named volume starts owned by tthc; mount one (compose.yaml, docs/DEPLOYMENT.md).
VOLUME /var/lib/tthc
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv/tthc
COPY app ./app
COPY migrations ./migrations
COPY alembic.ini ./
USER tthc
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os,urllib.request,sys; sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8000\")}/readyz', timeout=4).status == 200 else 1)"
CMD ["sh", "-c", "tthc-metrics migrate && exec tthc-metrics serve --workers ${WORKERS:-2}"]
