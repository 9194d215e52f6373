# syntax=docker/dockerfile:1
# Foreman production image: build dist/ in one stage, run it with runtime dependencies only.
#   docker build -t foreman .
#   docker run --rm -p 3000:3000 --env-file .env -e DATABASE_URL=postgres://… foreman
# The image sets NODE_ENV=production, so Probot's setup page is refused here: register the
# GitHub App first (README, "Registering the app") and pass APP_ID, the key and the secret.

# --- 1. build: compile src/ to dist/ (tsc -p tsconfig.build.json) --------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# patches/: applied to node_modules by patch-package at `npm ci` (postinstall; docs/adr/0015).
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- 2. runtime ------------------------------------------------------------------------------
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# git: agent workspaces are git repositories the host diffs (src/agents/git.ts).
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# Layout matters: dist/db/migrate.js resolves ../../migrations and
# dist/github/render-status-comment.js resolves ../../prompts/comments/status.md.hbs, i.e.
# /app/migrations and /app/prompts; dist/ui/render-page.js resolves ../../ui (the dashboard). app.yml is read from the working directory (/app).
COPY --from=build /app/dist ./dist
# bin/foreman.js (package.json `bin`) runs dist/ when it exists: `docker exec … npx foreman doctor`.
COPY bin ./bin
COPY migrations ./migrations
COPY prompts ./prompts
COPY ui ./ui
COPY app.yml ./
# DATA_DIR (./data) is only used by the embedded PostgreSQL when DATABASE_URL is unset.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/cli/main.js", "serve"]
