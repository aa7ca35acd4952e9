# syntax=docker/dockerfile:1
# The etcd bridge's container image. Built by `cdk deploy` (DockerImageAsset, context = repository root,
# files limited by .dockerignore) or by hand: `docker build -t etcd-bridge .`. `npm run test:image` builds it
# and runs it against a local etcd (test/image/).
#
# The build stage runs on the build machine's own platform ($BUILDPLATFORM): the dependencies are pure
# JavaScript (no native addons), so node_modules and dist/ are the same on every CPU. The runtime stage has no
# RUN step, so building an arm64 image on an x86 machine (or the reverse) needs no emulation.
ARG NODE_IMAGE=node:24-slim
# Set by BuildKit; the legacy builder (test/image, where no BuildKit frontend can be pulled) is given it.
ARG BUILDPLATFORM

FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS build
WORKDIR /app
ENV CI=true
# Dependencies first, so the layer is reused while only sources change. `prepare` (= the TypeScript build)
# needs the sources, so scripts are skipped here and the build runs below.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# Compile to dist/ and drop devDependencies. Without a config/routes.json in the repository, the image gets
# `{}`: the bridge's default routes, everything else from the environment the ECS task sets.
RUN npm run build \
  && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
  && mkdir -p config \
  && if [ ! -f config/routes.json ]; then echo '{}' > config/routes.json; fi

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# Two malloc arenas, not one per thread: freed memory stays in fewer places (bin/v8-flags.js, BRIDGE_ENV).
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
# Files stay owned by root: the non-root user can read, not change, the application.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/config ./config
# The `node` user (uid 1000) ships with the official image (and with the stand-in test/image makes).
USER node
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# V8's heap settings for the bridge (bin/v8-flags.js, docs/performance.md): a young generation of 2 × 2 MB
# and a 128 MB old generation hold its ~40 MB live set; V8's defaults let a drain grow to ~400 MB on Node 24.
# Given here, the bin need not re-execute itself to add them (it adds only flags that are missing).
ENTRYPOINT ["node", "--max-semi-space-size=2", "--max-old-space-size=128", "bin/etcd-bridge.js"]
CMD ["start", "--config", "/app/config/routes.json", "--invoke", "lambda"]
