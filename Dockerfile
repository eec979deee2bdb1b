# The NEXUS server image.
#
#   docker build -t nexus .
#   docker run -p 8000:8000 -e NEXUS_ADMIN_TOKEN=... \
#       -v nexus-workspaces:/workspaces -v nexus-data:/data nexus
#
# Without NEXUS_DATABASE_URL / NEXUS_REDIS_URL it runs with the embedded defaults
# (SQLite under /data, in-process bus); docker-compose.yml wires in PostgreSQL and Redis.

FROM node:22-slim AS web

# The browser IDE: static files the server serves at / (NEXUS_WEB_DIR).
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build


FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/nexus
ENV PATH=/opt/nexus/bin:$PATH

WORKDIR /src
# Dependencies first, from pyproject.toml alone, so that a code change does not
# reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt
COPY . .
RUN pip install .


FROM python:3.11-slim

ENV PATH=/opt/nexus/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NEXUS_WORKSPACE_ROOT=/workspaces \
    NEXUS_DATA_DIR=/data \
    NEXUS_WEB_DIR=/opt/nexus-web

# bubblewrap seals workspace processes (NEXUS_SANDBOX).
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 nexus \
    && useradd --system --uid 10001 --gid nexus --home-dir /home/nexus --create-home nexus \
    && mkdir -p /workspaces /data \
    && chown nexus:nexus /workspaces /data

COPY --from=build /opt/nexus /opt/nexus
COPY --from=web /web/dist /opt/nexus-web

USER nexus
WORKDIR /home/nexus
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

CMD ["nexus", "serve", "--host", "0.0.0.0", "--port", "8000"]
