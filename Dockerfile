# syntax=docker/dockerfile:1
# The demo service image. Built offline from a host-side wheelhouse (scripts/build-images
# fills build/wheelhouse), so the build needs no network and no package index.
# scripts/build-images passes the locally imported base (swiftdeploy-base:bookworm, a
# debootstrap root filesystem whose label pins its tarball's sha256); the default, used only
# by --slim-base, names its Python and Debian release.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# The tag is in BASE_IMAGE, which a linter cannot expand:
# hadolint ignore=DL3006
FROM ${BASE_IMAGE} AS build
ARG WHEELHOUSE=build/wheelhouse
COPY ${WHEELHOUSE}/ /wheelhouse/
# Only the demo service's own dependencies (requirements.txt), then the project wheel with
# --no-deps: the CLI's heavy dependencies (matplotlib, regopy, ...) have no place here.
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links=/wheelhouse \
        -r /wheelhouse/requirements.txt \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --no-deps /wheelhouse/swiftdeploy-*.whl \
    && /opt/venv/bin/python -c "import swiftdeploy.demo, granian, prometheus_client" \
    && /opt/venv/bin/python -m swiftdeploy.demo --openapi >/dev/null

# hadolint ignore=DL3006
FROM ${BASE_IMAGE}
RUN groupadd --system --gid 1001 app \
    && useradd --system --uid 1001 --gid 1001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MODE=stable \
    APP_VERSION=0.0.0 \
    APP_HOST=0.0.0.0 \
    APP_PORT=3000
USER 1001:1001
EXPOSE 3000
# No curl in the image: the interpreter that runs the service probes it.
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('APP_PORT', '3000'), timeout=2)"]
STOPSIGNAL SIGTERM
CMD ["python3", "-m", "swiftdeploy.demo"]
