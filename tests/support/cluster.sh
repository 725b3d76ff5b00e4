#!/usr/bin/env bash
# A three-node RabbitMQ cluster on loopback, beside the main broker, for Burrow's
# cluster tests. Same Debian package, no systemd: each node is `rabbitmq-server
# -detached` with its own node name, ports and directories under $BASE/<node>.
#
#   tests/support/cluster.sh start    start the nodes, join 2 and 3 to 1, add the user
#                                     (idempotent: when all is up it only verifies)
#   tests/support/cluster.sh stop     stop all three nodes and wait until they are gone
#   tests/support/cluster.sh status   nodes, Web-STOMP URLs, membership, memory
#   tests/support/cluster.sh stop-app N    rabbitmqctl stop_app on node N (its VM stays;
#                                     clients see their sockets close, Web-STOMP refuses)
#   tests/support/cluster.sh start-app N   rabbitmqctl start_app on node N, waits for Web-STOMP
#
# Node N (1..3): burrow-cN@localhost, AMQP 127.0.0.1:568N, distribution 2568N,
# management http://127.0.0.1:1568N, Web-STOMP ws://127.0.0.1:1569N/ws.
# The main broker (5672, 15672, 15674, 25672, 61613) is never touched.
#
# Run as root (or with sudo). The Debian wrappers in /usr/sbin run the server and
# the CLI as the rabbitmq user, whose HOME is /var/lib/rabbitmq, so every node
# and every rabbitmqctl call shares the main broker's cookie
# (/var/lib/rabbitmq/.erlang.cookie): no --erlang-cookie needed.
set -euo pipefail

BASE=${BURROW_CLUSTER_DIR:-/var/lib/burrow-cluster}
HOST=localhost
USER_NAME=${BURROW_RABBIT_USER:-burrow}
USER_PASSWORD=${BURROW_RABBIT_PASSWORD:-burrow}
# The browser tests' pages (8091, and 8096-8098 for suites run side by side) and
# the app (trunk serve, 8080) read the nodes' management API cross-origin.
CORS_ORIGINS=(http://127.0.0.1:8091 http://127.0.0.1:8096 http://127.0.0.1:8097 http://127.0.0.1:8098 http://127.0.0.1:8080)
NODES=(1 2 3)
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

say() { printf '  %s\n' "$*"; }
die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

name() { echo "burrow-c$1@$HOST"; }
dir() { echo "$BASE/c$1"; }
amqp_port() { echo $((5680 + $1)); }
dist_port() { echo $((25680 + $1)); }
mgmt_port() { echo $((15680 + $1)); }
ws_port() { echo $((15690 + $1)); }
ws_url() { echo "ws://127.0.0.1:$(ws_port "$1")/ws"; }

# The environment that makes node N (server and CLI alike).
node_env() {
    local d
    d=$(dir "$1")
    printf '%s\n' \
        "RABBITMQ_NODENAME=$(name "$1")" \
        "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1" \
        "RABBITMQ_NODE_PORT=$(amqp_port "$1")" \
        "RABBITMQ_DIST_PORT=$(dist_port "$1")" \
        "RABBITMQ_MNESIA_BASE=$d/mnesia" \
        "RABBITMQ_LOG_BASE=$d/log" \
        "RABBITMQ_CONFIG_FILE=$d/rabbitmq.conf" \
        "RABBITMQ_ADVANCED_CONFIG_FILE=$d/advanced.config" \
        "RABBITMQ_ENABLED_PLUGINS_FILE=$d/enabled_plugins" \
        "RABBITMQ_CONF_ENV_FILE=$d/rabbitmq-env.conf" \
        "RABBITMQ_PID_FILE=$d/rabbitmq.pid" \
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

# rabbitmqctl against node N. Output is the caller's business.
ctl() {
    local n=$1
    shift
    local env=()
    mapfile -t env < <(node_env "$n")
    $SUDO env "${env[@]}" rabbitmqctl -n "$(name "$n")" "$@"
}

node_config() {
    cat <<EOF
# Written by Burrow's tests/support/cluster.sh for node $(name "$1").
# Same settings as the main broker (see ./burrow setup), other ports.
web_stomp.ws_frame = binary
web_stomp.ws_opts.compress = false
web_stomp.tcp.ip = 127.0.0.1
web_stomp.tcp.port = $(ws_port "$1")
# rabbitmq_web_stomp pulls in rabbitmq_stomp: no plain STOMP listener (61613 is the main broker's).
stomp.listeners.tcp = none
management.tcp.ip = 127.0.0.1
management.tcp.port = $(mgmt_port "$1")
$(for i in "${!CORS_ORIGINS[@]}"; do echo "management.cors.allow_origins.$((i + 1)) = ${CORS_ORIGINS[$i]}"; done)
management.cors.max_age = 3600
collect_statistics_interval = 1000
# AMQP 0-9-1 on loopback (RABBITMQ_NODE_IP_ADDRESS/NODE_PORT say the same).
listeners.tcp.default = 127.0.0.1:$(amqp_port "$1")
# A stopped peer is normal here: never pause the survivors.
cluster_partition_handling = ignore
EOF
}

# Writes node N's files; prints "changed" when its configuration differs from before.
write_files() {
    local n=$1 d f changed=0
    d=$(dir "$n")
    $SUDO mkdir -p "$d/mnesia" "$d/log"
    f="$d/rabbitmq.conf"
    if [ "$(cat "$f" 2>/dev/null)" != "$(node_config "$n")" ]; then
        node_config "$n" | $SUDO tee "$f" >/dev/null
        changed=1
    fi
    f="$d/enabled_plugins"
    if [ "$(cat "$f" 2>/dev/null)" != "[rabbitmq_management,rabbitmq_web_stomp]." ]; then
        echo "[rabbitmq_management,rabbitmq_web_stomp]." | $SUDO tee "$f" >/dev/null
        changed=1
    fi
    [ -f "$d/rabbitmq-env.conf" ] || echo "# Empty: the environment comes from cluster.sh." | $SUDO tee "$d/rabbitmq-env.conf" >/dev/null
    [ -f "$d/advanced.config" ] || echo "[]." | $SUDO tee "$d/advanced.config" >/dev/null
    $SUDO chown -R rabbitmq:rabbitmq "$BASE"
    [ $changed -eq 0 ] || echo changed
}

# The node's Erlang VM pid, if it runs (from its pid file, checked against /proc).
node_pid() {
    local f pid
    f="$(dir "$1")/rabbitmq.pid"
    pid=$($SUDO cat "$f" 2>/dev/null) || return 1
    # The node name is not on beam.smp's command line; the pid file is per node.
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = beam.smp ] || return 1
    echo "$pid"
}

node_up() { node_pid "$1" >/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Running members as seen by node N, one per line (empty if N does not answer).
running_members() {
    ctl "$1" -q cluster_status --formatter json 2>/dev/null |
        python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin).get("running_nodes", [])))' 2>/dev/null || true
}

all_members() {
    ctl "$1" -q cluster_status --formatter json 2>/dev/null |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print("\n".join(d.get("disk_nodes", []) + d.get("ram_nodes", [])))' 2>/dev/null || true
}

# Waits until node N has booted (true), or its VM is gone (false: the boot failed).
await_node() { # n seconds
    local deadline=$((SECONDS + $2)) gone=0
    while [ $SECONDS -lt $deadline ]; do
        # await_startup fails at once while the node is not reachable yet, so retry.
        if ctl "$1" -q await_startup --timeout 5 >/dev/null 2>&1; then
            return 0
        fi
        # No VM for several rounds in a row (the pid file comes a moment after launch).
        if node_up "$1"; then gone=0; else gone=$((gone + 1)); fi
        [ $gone -lt 10 ] || return 1
        sleep 1
    done
    die "$(name "$1") did not boot within $2 s (see $(dir "$1")/log/)"
}

await_port() { # port what seconds
    local i
    for ((i = 0; i < $3 * 5; i++)); do
        port_open "$1" && return 0
        sleep 0.2
    done
    die "$2 (127.0.0.1:$1) did not open within $3 s"
}

# Everything up, joined, user present, listeners answering? (the fast path)
healthy() {
    local n members
    for n in "${NODES[@]}"; do
        node_up "$n" && port_open "$(ws_port "$n")" && port_open "$(mgmt_port "$n")" || return 1
    done
    members=$(running_members 1)
    for n in "${NODES[@]}"; do
        grep -qx "$(name "$n")" <<<"$members" || return 1
    done
    curl -sf -u "$USER_NAME:$USER_PASSWORD" "http://127.0.0.1:$(mgmt_port 1)/api/whoami" >/dev/null
}

memory() {
    local n pid total=0 kb
    for n in "${NODES[@]}"; do
        if pid=$(node_pid "$n"); then
            kb=$(ps -o rss= -p "$pid" | tr -d ' ')
            total=$((total + kb))
            say "$(name "$n"): RSS $((kb / 1024)) MiB (pid $pid)"
        fi
    done
    say "cluster total RSS: $((total / 1024)) MiB"
}

start_node() {
    local env=()
    mapfile -t env < <(node_env "$1")
    without_inherited_fds $SUDO env "${env[@]}" rabbitmq-server -detached >/dev/null 2>&1 || true
}

start() {
    command -v rabbitmq-server >/dev/null || die "rabbitmq-server is not installed: run ./burrow setup"
    [ -r /var/lib/rabbitmq/.erlang.cookie ] || $SUDO test -r /var/lib/rabbitmq/.erlang.cookie ||
        die "no /var/lib/rabbitmq/.erlang.cookie: run ./burrow setup first"
    local n changed=()
    for n in "${NODES[@]}"; do
        [ -z "$(write_files "$n")" ] || changed+=("$n")
    done
    # A node whose configuration changed restarts to read it.
    for n in "${changed[@]}"; do
        if node_up "$n"; then
            say "$(name "$n"): configuration changed, restarting"
            stop_node "$n"
        fi
    done
    if healthy; then
        say "cluster already running: $(name 1), $(name 2), $(name 3)"
        return 0
    fi
    for n in "${NODES[@]}"; do
        if node_up "$n" && [ "$(ctl "$n" -q eval 'rabbit_boot_state:get().' 2>/dev/null)" = stopped ]; then
            # The VM runs but its app was stopped (rabbitmqctl stop_app): start it again.
            say "starting the rabbit app on $(name "$n") (it was stopped)"
            ctl "$n" -q start_app >/dev/null
        fi
    done
    # Start every stopped node at once: a node that was clustered waits at boot for
    # the peer that stopped last, so starting them one by one could stall. Nodes
    # booting together sometimes fail (3.10 feature-flag sync with a peer still
    # booting: {incompatible_feature_flags,{badrpc,...{badmap,undefined}...}}); such a
    # node's VM exits, and it boots fine once the others are up: start it again.
    local attempt failed=()
    for attempt in 1 2 3; do
        for n in "${NODES[@]}"; do
            if ! node_up "$n"; then
                say "starting $(name "$n")"
                start_node "$n"
            fi
        done
        failed=()
        for n in "${NODES[@]}"; do
            await_node "$n" 300 || failed+=("$n")
        done
        [ ${#failed[@]} -gt 0 ] || break
        for n in "${failed[@]}"; do
            say "$(name "$n") stopped while booting (attempt $attempt, see $(dir "$n")/log/)"
        done
    done
    [ ${#failed[@]} -eq 0 ] || die "$(name "${failed[0]}") does not boot (see $(dir "${failed[0]}")/log/)"
    # Users live in the cluster-wide database: create it on node 1 before joining.
    if ctl 1 -q list_users 2>/dev/null | awk '{print $1}' | grep -qx "$USER_NAME"; then
        ctl 1 -q change_password "$USER_NAME" "$USER_PASSWORD" >/dev/null
    else
        ctl 1 -q add_user "$USER_NAME" "$USER_PASSWORD" >/dev/null
        say "created user $USER_NAME"
    fi
    ctl 1 -q set_user_tags "$USER_NAME" administrator >/dev/null
    ctl 1 -q set_permissions -p / "$USER_NAME" ".*" ".*" ".*" >/dev/null
    ctl 1 -q set_cluster_name burrow-cluster >/dev/null
    local members
    members=$(all_members 1)
    for n in 2 3; do
        grep -qx "$(name "$n")" <<<"$members" && continue
        say "joining $(name "$n") to $(name 1)"
        ctl "$n" -q stop_app >/dev/null
        if ! ctl "$n" -q join_cluster "$(name 1)" >/dev/null 2>&1; then
            # Left over from some other cluster: start it afresh.
            ctl "$n" -q reset >/dev/null
            ctl "$n" -q join_cluster "$(name 1)" >/dev/null
        fi
        ctl "$n" -q start_app >/dev/null
        await_node "$n" 120 || die "$(name "$n") stopped after joining (see $(dir "$n")/log/)"
    done
    for n in "${NODES[@]}"; do
        await_port "$(ws_port "$n")" "Web-STOMP of $(name "$n")" 30
        await_port "$(mgmt_port "$n")" "management of $(name "$n")" 30
    done
    healthy || die "cluster started but does not check out: see tests/support/cluster.sh status"
    say "cluster running: $(ws_url 1) $(ws_url 2) $(ws_url 3)"
    memory
}

stop_node() {
    local i pid
    pid=$(node_pid "$1") || return 0
    say "stopping $(name "$1")"
    ctl "$1" -q stop >/dev/null 2>&1 || true
    # The node deletes its pid file before the VM exits: wait for the process.
    for ((i = 0; i < 300; i++)); do
        [ -e "/proc/$pid" ] || return 0
        sleep 0.2
    done
    die "$(name "$1") did not stop within 60 s"
}

stop() {
    local n pids=() status=0
    # Nodes 2 and 3 together, node 1 last: the one the others wait for at the next boot.
    for n in 3 2; do
        stop_node "$n" &
        pids+=($!)
    done
    for n in "${pids[@]}"; do
        wait "$n" || status=1
    done
    stop_node 1
    return $status
}

status() {
    local n up
    for n in "${NODES[@]}"; do
        if node_up "$n"; then
            up="running (pid $(node_pid "$n"))"
            if port_open "$(ws_port "$n")"; then up="$up, Web-STOMP up"; else up="$up, Web-STOMP down"; fi
        else
            up="stopped"
        fi
        say "$(name "$n"): $up; $(ws_url "$n"); http://127.0.0.1:$(mgmt_port "$n"); amqp 127.0.0.1:$(amqp_port "$n")"
    done
    for n in "${NODES[@]}"; do
        if node_up "$n"; then
            echo "cluster_status from $(name "$n"):"
            ctl "$n" -q cluster_status --formatter json 2>&1 | python3 -c '
import json, sys
d = json.load(sys.stdin)
members, running = d["disk_nodes"] + d["ram_nodes"], set(d["running_nodes"])
print("  cluster name:", d["cluster_name"])
for m in sorted(members):
    print("  member %s: %s" % (m, "running" if m in running else "not running"))
for a in d["alarms"]:
    print("  alarm:", a)
for p in d["partitions"].items():
    print("  partition:", p)' || say "(cluster_status failed)"
            memory
            return 0
        fi
    done
    echo "no cluster node is running"
}

# stop_app / start_app on one node: what the cluster test does to the node a
# browser connection is on (the VM stays up, so start_app brings it back in seconds).
app() { # stop|start n
    local n=$2
    case "$n" in 1 | 2 | 3) ;; *) die "no node $n (1, 2 or 3)" ;; esac
    node_up "$n" || die "$(name "$n") is not running: tests/support/cluster.sh start"
    if [ "$1" = stop ]; then
        ctl "$n" -q stop_app >/dev/null
        say "$(name "$n"): app stopped"
    else
        ctl "$n" -q start_app >/dev/null
        await_node "$n" 120 || die "$(name "$n") stopped while starting its app"
        await_port "$(ws_port "$n")" "Web-STOMP of $(name "$n")" 30
        say "$(name "$n"): app started"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    stop-app) app stop "${2:-}" ;;
    start-app) app start "${2:-}" ;;
    *) echo "usage: $0 start | stop | status | stop-app N | start-app N" >&2; exit 2 ;;
esac
