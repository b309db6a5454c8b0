# syntax=docker/dockerfile:1
# LLM Manager, headless (`llm-manager serve`), for GPU servers. Build and run: docker compose up -d
# (compose.yaml); details in docs/server.md. The image holds LLM Manager and its demo engine; your
# engines (llama-server, vLLM …) come from an image built FROM this one, or a read-only mount.

# ---- build: dependencies, TypeScript, the web UI ------------------------------------------------
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: no Electron binary download (a dev dependency of the desktop app), and no
# `prepare` build before the sources are in; the build runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.node.json ./
COPY src-shared ./src-shared
COPY src-main ./src-main
COPY src-renderer ./src-renderer
RUN npm run build:node && npm run build:renderer
# What runs needs only the production dependencies.
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime -----------------------------------------------------------------------------------
FROM node:24-slim AS runtime
ENV NODE_ENV=production \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/node ./dist/node
COPY --from=build /src/dist/renderer ./dist/renderer
COPY bin ./bin
COPY scripts/demo-engine.mjs ./scripts/demo-engine.mjs
COPY plugins ./plugins
# What a first start copies to /config/config.yaml: every interface, keys from
# LLM_MANAGER_API_KEYS (the node refuses 0.0.0.0 without one), logs in /logs.
COPY docker/config.yaml ./config.example.yaml
# The node image's own non-root user (uid 1000) owns the volumes.
RUN mkdir -p /config /logs && chown node:node /config /logs
USER node
VOLUME ["/config", "/logs"]
EXPOSE 8080
# node itself asks /health (no key needed; 503 while stopping): the slim image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The container's port is fixed at 8080 (map it with ports:); program.port in the config is not used.
ENTRYPOINT ["node", "/app/bin/llm-manager.js"]
CMD ["serve", "--config", "/config/config.yaml", "--host", "0.0.0.0", "--port", "8080"]
