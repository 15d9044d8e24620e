# syntax=docker/dockerfile:1
# One image for the operator, the webhook and the CLI: `layerwatch operator|webhook|scan|sbom`.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a self-contained virtual environment with layerwatch and its dependencies.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/layerwatch
# Dependencies exactly as tested (hash-checked lock), then layerwatch itself without resolving
# again; byte-compiled here, because the final root filesystem is read-only.
COPY requirements.lock pyproject.toml README.md ./
COPY operator ./operator
COPY webhook ./webhook
RUN /opt/layerwatch/bin/pip install --require-hashes --no-deps -r requirements.lock \
    && /opt/layerwatch/bin/pip install --no-deps . \
    && /opt/layerwatch/bin/layerwatch --help > /dev/null

# --- final: no compilers, no pip cache, a non-root user, state only under a mounted volume.
FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="layerwatch" \
      org.opencontainers.image.description="Container-image vulnerability scanning inside Kubernetes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/layerwatch/layerwatch"
RUN groupadd --system --gid 10001 layerwatch \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent layerwatch \
    && mkdir -p /var/cache/layerwatch \
    && chown 10001:10001 /var/cache/layerwatch
COPY --from=build /opt/layerwatch /opt/layerwatch
# HOME=/tmp and the cache on a volume keep the root filesystem read-only friendly.
ENV PATH=/opt/layerwatch/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    LAYERWATCH_CACHE_DIR=/var/cache/layerwatch
USER 10001:10001
VOLUME ["/var/cache/layerwatch"]
ENTRYPOINT ["layerwatch"]
CMD ["--help"]
