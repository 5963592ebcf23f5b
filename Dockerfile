# parcelbot in a container: `docker build -t parcelbot .` (see docs/deploy.md, "3. Install with Docker").
# Nothing secret is built in: the passphrase and the token are read at run time from secret files
# (/run/secrets/...), never from build arguments, ENV values or image layers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what the package needs; .dockerignore keeps data, secrets, tests and .git out of the context.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY schedules ./schedules
RUN pip install . \
    && useradd --system --user-group --uid 10001 --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin parcelbot \
    && mkdir /data && chown parcelbot:parcelbot /data && chmod 0700 /data

# The encrypted database lives in the volume; the image holds no state.
ENV PARCELBOT_DATA_DIR=/data \
    PARCELBOT_PASSPHRASE_FILE=/run/secrets/parcelbot_passphrase \
    PARCELBOT_TOKEN_FILE=/run/secrets/parcelbot_token
VOLUME /data
WORKDIR /data
USER parcelbot

# Opens the database with the passphrase and runs SQLite's integrity check (one scrypt: ~128 MiB, ~0.5 s).
HEALTHCHECK --interval=5m --timeout=60s --start-period=2m --retries=3 \
    CMD parcelbot check > /dev/null || exit 1

ENTRYPOINT ["parcelbot"]
CMD ["run"]
