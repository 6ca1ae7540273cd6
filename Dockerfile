# The gateway image; docker-compose.yml runs both the gateway and the simulator
# fleet from it. The build runs the same npm scripts as CI (`npm ci`,
# `npm run build`); test/integration/compose-smoke.test.ts replays this file's
# COPY and `npm run` steps without Docker.
#
# Node 22 is the LTS line in support that satisfies "engines" (>= 20.19) and
# every dependency's engines (fastify's cookie wants >= 22).
ARG NODE_IMAGE=node:22-bookworm-slim

# better-sqlite3 compiles from source with node-gyp: python3, make and g++.
FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci's postinstall (patch-package) applies these to aedes and mqtt-packet;
# without them the image would run the unpatched broker (PUBACK before the store).
COPY patches ./patches

# Production dependencies only, compiled here because the runtime stage has no toolchain.
FROM toolchain AS deps
RUN npm ci --omit=dev --no-audit --no-fund

# Everything, to compile the gateway (tsc) and bundle the dashboard (esbuild).
FROM toolchain AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY broker ./broker
COPY devices ./devices
COPY dashboard ./dashboard
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    DATA_DIR=/data
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The official image's unprivileged `node` user owns the data volume (SQLite, spool, registry).
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 1883 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/broker/main.js"]
