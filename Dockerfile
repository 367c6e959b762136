# Earmark bot image. Mount a volume at /data: it holds config.toml, the SQLite
# database and the encryption key.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    EARMARK_CONFIG=/data/config.toml \
    EARMARK_DATABASE_URL=sqlite:///data/earmark.db \
    EARMARK_SECURITY_KEY_FILE=/data/secret.key

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
COPY core ./core
RUN pip install --no-cache-dir . \
    && useradd --system --uid 1000 --home /data earmark \
    && mkdir -p /data && chown earmark /data

USER earmark
VOLUME ["/data"]
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
