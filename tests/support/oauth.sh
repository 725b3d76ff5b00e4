#!/usr/bin/env bash
# A RabbitMQ node that logs users in with OAuth2 tokens, beside the main broker:
# the host's RabbitMQ 3.10.8 package with rabbitmq_auth_backend_oauth2 and a
# local symmetric signing key (HS256), so no identity provider is needed. Tokens
# come from tests/support/mint_token.py (the same key). Modelled on cluster.sh.
#
#   tests/support/oauth.sh start    start the node (idempotent), add the user burrow
#   tests/support/oauth.sh stop     stop it and wait until it is gone
#   tests/support/oauth.sh status   running or not, ports, memory
#
# Node burrow-oauth@localhost: Web-STOMP ws://127.0.0.1:15676/ws, management
# http://127.0.0.1:15677, AMQP 127.0.0.1:5674, distribution 25674; no plain STOMP.
# Log in over STOMP with any login and a token as the passcode:
#   passcode=$(python3 tests/support/mint_token.py --expires-in 60)
# The internal backend comes second, so burrow/burrow still reads the management
# API (and a password that is not a token is checked there).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BASE=${BURROW_OAUTH_DIR:-/var/lib/burrow-oauth}
NODE=burrow-oauth@localhost
AMQP_PORT=5674
DIST_PORT=25674
MGMT_PORT=15677
WS_PORT=15676
USER_NAME=${BURROW_RABBIT_USER:-burrow}
USER_PASSWORD=${BURROW_RABBIT_PASSWORD:-burrow}
# The signing key's id and secret: test values, shared with mint_token.py.
KEY_ID=${BURROW_OAUTH_KEY_ID:-burrow-test-key}
SECRET=${BURROW_OAUTH_SECRET:-burrow-oauth-test-secret}
CORS_PORTS=(8080 8091 8096 8097 8098 8101 8102 8103 8104 8105)
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

say() { printf '    %s\n' "$*"; }
die() { printf 'oauth: %s\n' "$*" >&2; exit 1; }

node_env() {
    printf '%s\n' \
        "RABBITMQ_NODENAME=$NODE" \
        "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1" \
        "RABBITMQ_NODE_PORT=$AMQP_PORT" \
        "RABBITMQ_DIST_PORT=$DIST_PORT" \
        "RABBITMQ_MNESIA_BASE=$BASE/mnesia" \
        "RABBITMQ_LOG_BASE=$BASE/log" \
        "RABBITMQ_CONFIG_FILE=$BASE/rabbitmq.conf" \
        "RABBITMQ_ADVANCED_CONFIG_FILE=$BASE/advanced.config" \
        "RABBITMQ_ENABLED_PLUGINS_FILE=$BASE/enabled_plugins" \
        "RABBITMQ_CONF_ENV_FILE=$BASE/rabbitmq-env.conf" \
        "RABBITMQ_PID_FILE=$BASE/rabbitmq.pid" \
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
}

# Runs a command without the descriptors this shell inherited beyond 0-2: a broker
# (or epmd) started under `flock /tmp/burrow-broker.lock` would otherwise keep the
# lock's descriptor, and so the lock, for as long as it runs.
without_inherited_fds() {
    (
        for fd in /proc/$BASHPID/fd/*; do
            fd=${fd##*/}
            [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
        done
        exec "$@"
    )
}

ctl() {
    local env=()
    mapfile -t env < <(node_env)
    $SUDO env "${env[@]}" rabbitmqctl -n "$NODE" "$@"
}

config() {
    local i=1 port
    cat <<EOF
# Written by Burrow's tests/support/oauth.sh: the main broker's settings, other
# ports, and OAuth2 tokens first.
auth_backends.1 = rabbit_auth_backend_oauth2
auth_backends.2 = internal
web_stomp.ws_frame = binary
web_stomp.ws_opts.compress = false
web_stomp.tcp.ip = 127.0.0.1
web_stomp.tcp.port = $WS_PORT
stomp.listeners.tcp = none
management.tcp.ip = 127.0.0.1
management.tcp.port = $MGMT_PORT
EOF
    for port in "${CORS_PORTS[@]}"; do
        echo "management.cors.allow_origins.$i = http://127.0.0.1:$port"
        i=$((i + 1))
    done
    cat <<EOF
management.cors.max_age = 3600
collect_statistics_interval = 1000
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
EOF
}

# The local key: {map, ...} with kty MAC and the secret as value (kty oct with a
# value fails on 3.10.8; oct wants k, base64url).
advanced_config() {
    cat <<EOF
%% Written by Burrow's tests/support/oauth.sh.
[{rabbitmq_auth_backend_oauth2, [
    {resource_server_id, <<"rabbitmq">>},
    {key_config, [
        {default_key, <<"$KEY_ID">>},
        {signing_keys, #{<<"$KEY_ID">> => {map, #{<<"kty">> => <<"MAC">>, <<"alg">> => <<"HS256">>, <<"value">> => <<"$SECRET">>}}}}
    ]}
]}].
EOF
}

write_files() {
    local changed=0
    $SUDO mkdir -p "$BASE/mnesia" "$BASE/log"
    if [ "$($SUDO cat "$BASE/rabbitmq.conf" 2>/dev/null)" != "$(config)" ]; then
        config | $SUDO tee "$BASE/rabbitmq.conf" >/dev/null
        changed=1
    fi
    if [ "$($SUDO cat "$BASE/advanced.config" 2>/dev/null)" != "$(advanced_config)" ]; then
        advanced_config | $SUDO tee "$BASE/advanced.config" >/dev/null
        changed=1
    fi
    local plugins="[rabbitmq_management,rabbitmq_web_stomp,rabbitmq_auth_backend_oauth2]."
    if [ "$($SUDO cat "$BASE/enabled_plugins" 2>/dev/null)" != "$plugins" ]; then
        echo "$plugins" | $SUDO tee "$BASE/enabled_plugins" >/dev/null
        changed=1
    fi
    [ -f "$BASE/rabbitmq-env.conf" ] || echo "# Empty: the environment comes from oauth.sh." | $SUDO tee "$BASE/rabbitmq-env.conf" >/dev/null
    $SUDO chown -R rabbitmq:rabbitmq "$BASE"
    [ $changed -eq 0 ] || echo changed
}

node_pid() {
    local pid
    pid=$($SUDO cat "$BASE/rabbitmq.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = beam.smp ] || return 1
    echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
    command -v rabbitmq-server >/dev/null || die "rabbitmq-server is not installed: run ./burrow setup"
    if [ -n "$(write_files)" ] && node_pid >/dev/null; then
        say "configuration changed: restarting $NODE"
        stop
    fi
    if node_pid >/dev/null && port_open $WS_PORT && port_open $MGMT_PORT; then
        say "$NODE is running: ws://127.0.0.1:$WS_PORT/ws, http://127.0.0.1:$MGMT_PORT"
        return 0
    fi
    if ! node_pid >/dev/null; then
        local env=()
        mapfile -t env < <(node_env)
        without_inherited_fds $SUDO env "${env[@]}" rabbitmq-server -detached >/dev/null 2>&1 || true
    fi
    # await_startup fails at once until the node has registered: poll.
    local deadline=$((SECONDS + 120)) gone=0
    while ! ctl -q await_startup --timeout 5 >/dev/null 2>&1; do
        if node_pid >/dev/null; then gone=0; else gone=$((gone + 1)); fi
        [ $gone -lt 10 ] || die "$NODE did not start (see $BASE/log/)"
        [ $SECONDS -lt $deadline ] || die "$NODE did not boot within 120 s (see $BASE/log/)"
        sleep 1
    done
    local i
    for ((i = 0; i < 150; i++)); do
        port_open $WS_PORT && port_open $MGMT_PORT && break
        sleep 0.2
    done
    port_open $WS_PORT || die "Web-STOMP (ws://127.0.0.1:$WS_PORT/ws) did not open"
    # For the management API (and AMQP) with a password: the internal backend.
    if ctl -q list_users 2>/dev/null | awk '{print $1}' | grep -qx "$USER_NAME"; then
        ctl -q change_password "$USER_NAME" "$USER_PASSWORD" >/dev/null
    else
        ctl -q add_user "$USER_NAME" "$USER_PASSWORD" >/dev/null
    fi
    ctl -q set_user_tags "$USER_NAME" administrator >/dev/null
    ctl -q set_permissions -p / "$USER_NAME" ".*" ".*" ".*" >/dev/null
    say "$NODE started: ws://127.0.0.1:$WS_PORT/ws (a token as the passcode), http://127.0.0.1:$MGMT_PORT ($USER_NAME)"
}

stop() {
    local pid i
    pid=$(node_pid) || return 0
    say "stopping $NODE"
    ctl -q stop >/dev/null 2>&1 || true
    for ((i = 0; i < 300; i++)); do
        [ -e "/proc/$pid" ] || return 0
        sleep 0.2
    done
    die "$NODE did not stop within 60 s"
}

status() {
    local pid kb
    if pid=$(node_pid); then
        kb=$(ps -o rss= -p "$pid" | tr -d ' ')
        say "$NODE: running (pid $pid, RSS $((kb / 1024)) MiB)"
        if port_open $WS_PORT; then say "Web-STOMP ws://127.0.0.1:$WS_PORT/ws: up"; else say "Web-STOMP: down"; fi
        say "management http://127.0.0.1:$MGMT_PORT, AMQP 127.0.0.1:$AMQP_PORT, distribution $DIST_PORT"
        say "a token: python3 $HERE/mint_token.py --expires-in 60"
    else
        say "$NODE: stopped"
        return 1
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start | stop | status" >&2; exit 2 ;;
esac
