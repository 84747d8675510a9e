# syntax=docker/dockerfile:1
# pairguard: build with the dev dependencies, run with production dependencies only.

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` builds, and the sources are not copied yet.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-lua.mjs scripts/copy-lua.mjs
COPY src src
RUN npm run build

FROM node:20-slim AS runtime
ENV NODE_ENV=production
# A young generation of 4 MB instead of V8's default 16 MB: in the benchmark peak RSS went from
# about 215 MB to about 175 MB at the same throughput (BENCHMARKS.md). `npm run bench` runs
# pairguard with the same setting (its --node-options).
ENV NODE_OPTIONS=--max-semi-space-size=4
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY bin bin
COPY --from=build /app/dist dist
USER node
EXPOSE 9464
ENTRYPOINT ["node", "bin/pairguard.js"]
CMD ["run"]
