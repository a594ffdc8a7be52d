# One image for the worker and the HTTP service (and the LINE Pay sandbox, for local stacks):
#   docker build -t linepay-subscriptions .
#   docker run … linepay-subscriptions                                   # worker (default command)
#   docker run … linepay-subscriptions node dist/client/http/server.js   # HTTP service
# Configuration is the environment of docs/operations.md; docker-compose.yml wires a local stack.

# --- build: all dependencies, compile to dist/, prebundle the workflow code ---------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# --- runtime: production dependencies and dist/ only, as the unprivileged `node` user ------------
FROM node:20-bookworm-slim AS runtime
# The heap cap keeps a worker's RSS flat (bench/burst/README.md); the HTTP service needs no more either.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=160 --max-semi-space-size=4" \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js \
    DATA_DIR=/app/.data
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
  && mkdir -p /app/.data && chown node:node /app/.data
COPY --from=build /app/dist ./dist
USER node
# The worker and the service both stop cleanly on SIGTERM (in-flight activities get their grace time).
STOPSIGNAL SIGTERM
EXPOSE 3000
# The preload turns off the SDK's workflow stack-trace tracking (WORKER_WORKFLOW_STACK_TRACES).
CMD ["node", "--import", "./dist/worker/workflow-stack-traces.js", "dist/worker/main.js"]
