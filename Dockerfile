# lambda-inventory: the nightly job as a small, non-root image with only the runtime dependencies.
#   docker build -t lambda-inventory .
#   docker run --rm -v "$PWD/config:/config:ro" -v "$PWD/out:/data" lambda-inventory run
# Here, without a registry: scripts/container-smoke.sh (see the README).
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Dependencies first (pinned), so a code change does not reinstall them.
COPY requirements.lock ./
RUN python3 -m venv --without-pip /app \
 && python3 -m pip --python /app/bin/python install --no-compile -r requirements.lock
COPY pyproject.toml README.md ./
COPY inventory ./inventory
# Bytecode compiled once here (the runtime never writes it): without it every start compiled botocore, pyarrow,
# pydantic and aiohttp from source, ~1 s of CPU, 4 s at a quarter of a vCPU (docs/performance.md, Start-up).
# unchecked-hash: the image is immutable, so the sources are never stat'ed against their bytecode.
RUN python3 -m pip --python /app/bin/python install --no-compile --no-deps . \
 && find /app -name '__pycache__' -prune -exec rm -rf {} + \
 && find /app -path '*/pyarrow/include' -prune -exec rm -rf {} + \
 && find /app -path '*/pyarrow/tests' -prune -exec rm -rf {} + \
 && /app/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /app/lib

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="lambda-inventory" \
      org.opencontainers.image.description="Typed inventory of every AWS Lambda function across accounts and regions"
COPY --from=build /app /app
# The job's settings come from flags or these variables; logs are JSON lines on stderr (awslogs-friendly).
ENV PATH=/app/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LAMBDA_INVENTORY_CONFIG=/config/accounts.yaml \
    LAMBDA_INVENTORY_OUTPUT=/data/ \
    LAMBDA_INVENTORY_FORMAT=parquet \
    LAMBDA_INVENTORY_LOG_FORMAT=json
# A numeric non-root user; /data is where it may write.
RUN mkdir -p /data /config && chown 10001:10001 /data
# Declared volumes keep the image's ownership when mounted (ECS/Fargate), so uid 10001 can write there even
# with a read-only root filesystem.
VOLUME ["/data", "/tmp"]
USER 10001:10001
WORKDIR /data
ENTRYPOINT ["lambda-inventory"]
CMD ["run"]
