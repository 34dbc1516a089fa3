# syntax=docker/dockerfile:1
#
# One image for both scimflow processes. The SCIM server is the default command; the worker
# runs the same image with `npm run worker` (see docker-compose.yml). The app runs its
# TypeScript through tsx, a runtime dependency, so there is no build step.
#
#   docker build -t scimflow .
#   docker run --rm -p 8080:8080 -e DATABASE_URL=... -e TEMPORAL_ADDRESS=... scimflow
#   docker run --rm -e DATABASE_URL=... -e TEMPORAL_ADDRESS=... scimflow npm run worker

# The current Node.js LTS. The code runs on Node 20 and later (package.json engines); README
# "Versions" says which were tested.
ARG NODE_VERSION=26

# --- dependencies: production only, from the lockfile --------------------------------------
FROM node:${NODE_VERSION}-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts stay enabled: esbuild (under tsx) checks its platform binary in one.
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

# Dependencies and sources belong to root and are only readable by the app user. The app can
# write only DATA_DIR; tsx keeps its compile cache in /tmp.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY common ./common
COPY domain ./domain
COPY policy ./policy
COPY workflows ./workflows
COPY activities ./activities
COPY scim-server ./scim-server
COPY worker ./worker
COPY cli ./cli
# The CLIs import the embedded-database helpers (used only without DATABASE_URL).
COPY dev ./dev
# Example tenant configurations: `npm run tenant-config -- load --tenant <id> config/examples/…`
COPY config ./config
# The worker's workflow bundle, built once here: it starts faster and webpack's ~80 MB never
# enters its memory (without WORKFLOW_BUNDLE_PATH it would bundle at every start).
RUN npm run build:workflows -- /app/dist/workflows.js \
 && mkdir -p /app/data && chown node:node /app/data
ENV WORKFLOW_BUNDLE_PATH=/app/dist/workflows.js

# `node` (uid 1000) ships with the official image and has a home for npm's logs.
USER node

EXPOSE 8080

# The image has neither curl nor wget; Node's fetch does the probe. The worker serves no
# HTTP, so docker-compose.yml turns this check off for it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# npm forwards SIGTERM to tsx, and tsx to the app, so a stop drains in-flight requests and
# activities; run with an init (compose: `init: true`) so PID 1 reaps children.
CMD ["npm", "run", "scim-server"]
