# syntax=docker/dockerfile:1
# Production image: api (`loupe serve`), worker (`loupe worker`) and migrations (`loupe migrate`).
# PostgreSQL and Redis are external (LOUPE_DATABASE_URL / LOUPE_REDIS_URL); see docker-compose.yml.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/loupe \
 && /opt/loupe/bin/pip install --upgrade pip \
 && /opt/loupe/bin/pip install .

FROM python:3.11-slim AS runtime
ENV PATH=/opt/loupe/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LOUPE_ENV=production \
    LOUPE_MIGRATIONS_DIR=/app/migrations \
    LOUPE_DATA_DIR=/app/data
RUN groupadd --system loupe && useradd --system --gid loupe --home-dir /app --shell /usr/sbin/nologin loupe
COPY --from=build /opt/loupe /opt/loupe
WORKDIR /app
COPY --chown=loupe:loupe migrations ./migrations
COPY --chown=loupe:loupe alembic.ini ./
# Local state: the click spool (used while Redis is unreachable) and uploaded story media. Mount a volume.
RUN mkdir -p /app/data && chown loupe:loupe /app/data
VOLUME ["/app/data"]
USER loupe
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["loupe", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
