# syntax=docker/dockerfile:1
# cacwatch: `cacwatch run` (scheduler, delivery workers, health server) as a non-root user.
# Build: docker build -t cacwatch .   Run: see README "Docker" (docker-compose.yml adds PostgreSQL).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CACWATCH_CONFIG=/etc/cacwatch/config.yaml \
    CACWATCH_DATABASE_URL=sqlite:////data/cacwatch.db \
    CACWATCH_DATA_DIR=/data \
    CACWATCH_HEALTH_PORT=8080

# PDF briefs embed a CJK TrueType font: WenQuanYi Zen Hei (Debian's fonts-wqy-zenhei), found
# at /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc (config briefs.font overrides the path).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-zenhei \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY scrapers ./scrapers
COPY storage ./storage
# tests/test_dockerfile.py runs this pip line in a fresh virtual environment: keep it one
# `pip install` of the build context, or update the test.
RUN pip install --no-cache-dir . \
    && groupadd --system --gid 10001 cacwatch \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin cacwatch \
    && mkdir -p /data /etc/cacwatch \
    && chown cacwatch:cacwatch /data
COPY config.yaml /etc/cacwatch/config.yaml

# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
# SQLite database, raw attachments (content-addressed) and the instance lock file.
VOLUME ["/data"]
WORKDIR /data
# /healthz /readyz /metrics (service.health_port; keep CACWATCH_HEALTH_PORT in step with it).
EXPOSE 8080
# The slim image has no curl: the standard library asks /healthz. Liveness only: a blocked
# source makes /readyz fail and alerts the operator, but restarting would not help.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CACWATCH_HEALTH_PORT', '8080'), timeout=4)"]
# SIGTERM: the service finishes the transaction and delivery in progress and exits 0
# (`docker stop` waits 10 s; service.shutdown_grace, 8 s by default, bounds the wait for deliveries).
STOPSIGNAL SIGTERM
CMD ["cacwatch", "run"]
