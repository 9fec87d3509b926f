# syntax=docker/dockerfile:1
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CACWATCH_CONFIG=/etc/cacwatch/config.yaml \
    CACWATCH_DATABASE_URL=sqlite:////data/cacwatch.db \
    CACWATCH_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY scrapers ./scrapers
COPY storage ./storage
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin cacwatch \
    && mkdir -p /data /etc/cacwatch \
    && chown cacwatch:cacwatch /data
COPY config.yaml /etc/cacwatch/config.yaml

USER cacwatch
VOLUME ["/data"]
WORKDIR /data
CMD ["cacwatch", "run"]
