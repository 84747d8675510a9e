# syntax=docker/dockerfile:1
# pairguard: build with the dev dependencies, run with production dependencies only.

# Node 24 LTS, the supported runtime (package.json engines; CI runs the suite on it).
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs an install script (the codecs ship prebuilt binaries).
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-lua.mjs scripts/build-info.mjs scripts/
COPY src src
# .git is not in the build context: `docker build --build-arg PAIRGUARD_REVISION=$(git rev-parse --short=12 HEAD) .`
# puts the revision into pairguard_build_info and `pairguard --version`.
ARG PAIRGUARD_REVISION=unknown
RUN npm run build

FROM node:24-slim AS runtime
ENV NODE_ENV=production
# A young generation of 4 MB instead of V8's default 16 MB: in the benchmark peak RSS went from
# about 215 MB to about 175 MB at the same throughput (BENCHMARKS.md). `npm run bench` runs
# pairguard with the same setting (its --node-options).
# kafkajs 2.2.4 arms a few timers with negative delays (Node runs them after 1 ms, as kafkajs
# means); Node 24 warns about each on stderr, which is noise in an on-call log.
ENV NODE_OPTIONS="--max-semi-space-size=4 --disable-warning=TimeoutNegativeWarning"
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY bin bin
COPY --from=build /app/dist dist
USER node
EXPOSE 9464
ENTRYPOINT ["node", "bin/pairguard.js"]
CMD ["run"]
