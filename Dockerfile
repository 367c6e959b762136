# Earmark bot image.
#
# Volume /data, owned by uid 1000 (the image's user; for a bind mount run
# `chown -R 1000:1000 ./data` first). It holds config.toml (optional: every key
# can be an EARMARK_* variable), the SQLite database, the encryption key and the
# heartbeat file that the HEALTHCHECK reads. See README.md, "Docker".
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EARMARK_DATABASE_URL=sqlite:///data/earmark.db \
    EARMARK_SECURITY_KEY_FILE=/data/secret.key \
    EARMARK_HEALTH_FILE=/data/earmark.health

WORKDIR /app
# Dependencies first, in a layer of their own: editing the code does not reinstall them.
COPY constraints.txt pyproject.toml docker/install.sh ./
RUN sh install.sh deps

# Then the code, installed without touching the dependencies.
COPY README.md config.example.toml ./
COPY bot ./bot
COPY cogs ./cogs
COPY core ./core
RUN sh install.sh app \
    && useradd --uid 1000 --user-group --home-dir /data --no-create-home earmark \
    && mkdir -p /data \
    && chown earmark:earmark /data

USER 1000:1000
# The working directory is the volume: /data/config.toml is read when present.
WORKDIR /data
VOLUME ["/data"]
# Healthy = the heartbeat is fresh, Discord is connected, the database answers and every
# scheduled job is alive (not only that the process exists).
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 \
    CMD ["earmark", "health"]
ENTRYPOINT ["earmark"]
CMD ["run"]
