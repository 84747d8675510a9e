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
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY bin bin
COPY --from=build /app/dist dist
USER node
EXPOSE 9464
ENTRYPOINT ["node", "bin/pairguard.js"]
CMD ["run"]
