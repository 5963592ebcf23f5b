#!/usr/bin/env bash
# A drill for the Docker image, against the local Bot API emulator instead of Telegram:
#
#   bash deploy/container-drill.sh          (from the project root, with Docker and the dev venv)
#
# It builds the image, then runs it the way docs/deploy.md section 3 says (read-only root, no
# capabilities, no-new-privileges, secrets as files owned by the container's user, data in a named
# volume): `init`, the bot itself, `invite`, a coordinator joining through the emulator, the health
# check, a clean stop on SIGTERM. It also checks that the container runs as uid 10001 and that
# neither secret is anywhere in the image. Not part of CI (CI has no Docker engine).
set -euo pipefail

IMAGE=${IMAGE:-parcelbot:drill}
PORT=${PORT:-18081}
PYTHON=${PYTHON:-python}
TOKEN="424242:DRILL-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PASSPHRASE="drill passphrase $(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
VOLUME="parcelbot-drill-$$"
work=$(mktemp -d)
container=""
emulator=""

cleanup() {
    [ -n "$container" ] && docker rm -f "$container" >/dev/null 2>&1 || true
    [ -n "$emulator" ] && kill "$emulator" 2>/dev/null || true
    docker volume rm "$VOLUME" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'DRILL FAILED: %s\n' "$*" >&2; exit 1; }

step "build $IMAGE"
docker build -q --network host -t "$IMAGE" . >/dev/null

step "secrets as files only the container's user (10001) can read"
mkdir -m 0700 "$work/secrets"
printf '%s' "$PASSPHRASE" > "$work/secrets/parcelbot_passphrase"
printf '%s' "$TOKEN" > "$work/secrets/parcelbot_token"
chown 10001 "$work/secrets"/* && chmod 0400 "$work/secrets"/*

# What compose.yaml in docs/deploy.md sets, as docker run flags.
hardened=(--read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges:true
          -v "$VOLUME:/data"
          -v "$work/secrets/parcelbot_passphrase:/run/secrets/parcelbot_passphrase:ro"
          -v "$work/secrets/parcelbot_token:/run/secrets/parcelbot_token:ro"
          --network host -e "PARCELBOT_API_BASE_URL=http://127.0.0.1:$PORT/bot")

step "the Bot API emulator on 127.0.0.1:$PORT"
"$PYTHON" -m bot.emulator --port "$PORT" --token "$TOKEN" > "$work/emulator.out" 2> "$work/emulator.err" &
emulator=$!
for _ in $(seq 50); do grep -q READY "$work/emulator.out" 2>/dev/null && break; sleep 0.1; done
grep -q READY "$work/emulator.out" || fail "the emulator did not start: $(cat "$work/emulator.err")"
control="http://127.0.0.1:$PORT/_control"

step "init"
docker run --rm "${hardened[@]}" "$IMAGE" init

step "run the bot (health check every 5 s for the drill; the image says 5 min)"
container=$(docker run -d "${hardened[@]}" --health-interval 5s --health-start-period 2s "$IMAGE")
[ "$(docker exec "$container" id -u)" = 10001 ] || fail "the container does not run as uid 10001"

step "invite a coordinator and let them join"
link=$(docker run --rm "${hardened[@]}" "$IMAGE" invite --role coordinator | grep -o 'start=[A-Za-z0-9_-]*' | head -1)
[ -n "$link" ] || fail "no invite link printed"
curl -sf -X POST "$control/updates" -d "{\"message\": {\"user_id\": 7001, \"text\": \"/start ${link#start=}\"}}" >/dev/null
curl -sf "$control/wait?method=sendMessage&chat_id=7001&timeout=30" >/dev/null || fail "the bot did not answer"
since=$(curl -sf "$control/calls" | grep -o '"next": *[0-9]*' | grep -o '[0-9]*$')
curl -sf -X POST "$control/updates" -d '{"message": {"user_id": 7001, "text": "/help"}}' >/dev/null
curl -sf "$control/wait?method=sendMessage&chat_id=7001&timeout=30&since=$since" | grep -q '/board' \
    || fail "the new coordinator's /help does not offer /board: the invite did not take"

step "health check"
for _ in $(seq 60); do
    health=$(docker inspect --format '{{.State.Health.Status}}' "$container")
    [ "$health" = healthy ] && break
    sleep 1
done
[ "$health" = healthy ] || fail "health is '$health': $(docker inspect --format '{{json .State.Health}}' "$container")"

step "no secret in the image"
if docker image save "$IMAGE" | grep -a -q -e "$TOKEN" -e "$PASSPHRASE"; then fail "a secret is in the image"; fi
curl -sf "$control/violations" | grep -q '"result": *\[\]' || fail "Bot API violations: $(curl -s "$control/violations")"

step "stop on SIGTERM"
docker stop -t 30 "$container" >/dev/null
code=$(docker inspect --format '{{.State.ExitCode}}' "$container")
[ "$code" = 0 ] || fail "exit code $code after SIGTERM: $(docker logs "$container" 2>&1 | tail -5)"
if docker logs "$container" 2>&1 | grep -q -e "$TOKEN" -e "$PASSPHRASE"; then fail "a secret is in the logs"; fi

printf '\nDRILL PASSED: %s built, initialised, answered, healthy, stopped cleanly; no secret in image or logs.\n' "$IMAGE"
