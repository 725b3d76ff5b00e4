#!/usr/bin/env bash
# A second broker for the test run: RabbitMQ 4.0.5 as Debian trixie packages it
# (with trixie's Erlang 27), installed from Debian's archive into a debootstrapped
# trixie directory and started from it with chroot, without systemd, beside the
# host's RabbitMQ 3.10.8 (whose epmd both use).
#
#   tests/support/broker4.sh setup    install (once; quick when done), configure, start,
#                                     add the users; exits 3 when it cannot be set up here
#   tests/support/broker4.sh start    start the node (idempotent), wait until it serves
#   tests/support/broker4.sh stop     stop it and wait until it is gone
#   tests/support/broker4.sh restart  stop, then start (what the durability tests ask for)
#   tests/support/broker4.sh status   running or not, version, ports, memory
#   tests/support/broker4.sh ctl ...  rabbitmqctl inside the chroot (its cookie)
#
# Node rabbit4@localhost: AMQP 127.0.0.1:5673, distribution 25673, management
# http://127.0.0.1:15673, Web-STOMP ws://127.0.0.1:15675/ws, no plain STOMP
# listener (61613 is the host broker's). Same settings and users as the host broker.
set -euo pipefail

BASE=${BURROW_RMQ4_DIR:-/var/lib/burrow-rmq4}
ROOT=$BASE/root
SUITE=trixie
MIRROR=${BURROW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
WANT_VERSION=4.0.5
NODE=rabbit4@localhost
AMQP_PORT=5673
DIST_PORT=25673
MGMT_PORT=15673
WS_PORT=15675
WS_URL=ws://127.0.0.1:$WS_PORT/ws
USER_NAME=${BURROW_RABBIT_USER:-burrow}
USER_PASSWORD=${BURROW_RABBIT_PASSWORD:-burrow}
# Test pages that read the management API cross-origin: the app (trunk serve), the
# browser tests (8091), the JS package's page (8096), side-by-side suites (8097,
# 8098) and parallel worktrees (8101-8105), as for the host broker.
CORS_PORTS=(8080 8091 8096 8097 8098 8101 8102 8103 8104 8105)
# debootstrap (about 214 MB) + RabbitMQ and Erlang (about 115 MB) + room for data.
MIN_FREE_KIB=$((1024 * 1024))
# Exit status for "cannot be set up on this machine": the caller goes on without it.
UNAVAILABLE=3

say() { printf '    %s\n' "$*"; }
die() { printf 'broker4: %s\n' "$*" >&2; exit 1; }
unavailable() { printf 'broker4: %s\n' "$*" >&2; exit $UNAVAILABLE; }

[ "$(id -u)" -eq 0 ] || die "run as root (it uses chroot and mount)"

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

# rabbitmqctl and friends inside the chroot, as its rabbitmq user (the Debian
# wrapper switches user), so they use the chroot's cookie and Erlang.
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
ctl() { in_root rabbitmqctl -n "$NODE" "$@"; }

installed_version() {
    chroot "$ROOT" dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || true
}

install_root() {
    local v
    v=$(installed_version)
    if [[ $v == "$WANT_VERSION"-* ]]; then
        say "RabbitMQ $v in $ROOT: installed"
        return 0
    fi
    local free
    free=$(df -Pk "$(dirname "$BASE")" | awk 'NR == 2 { print $4 }')
    [ "${free:-0}" -ge "$MIN_FREE_KIB" ] ||
        unavailable "only $((free / 1024)) MiB free under $(dirname "$BASE") (1024 wanted): no second broker"
    if ! command -v debootstrap >/dev/null; then
        say "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null ||
            unavailable "cannot install debootstrap: no second broker"
    fi
    if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
        say "debootstrap --variant=minbase $SUITE $ROOT (about 30 s, once)"
        rm -rf "$ROOT"
        mkdir -p "$ROOT"
        if ! debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$BASE/debootstrap.log" 2>&1; then
            rm -rf "$ROOT"
            unavailable "debootstrap of Debian $SUITE failed (archive unreachable? see $BASE/debootstrap.log): no second broker"
        fi
    fi
    # The package's maintainer scripts must not start a broker: we start it ourselves.
    printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
    chmod +x "$ROOT/usr/sbin/policy-rc.d"
    say "installing rabbitmq-server $WANT_VERSION from Debian $SUITE into the chroot (about 15 s, once)"
    mount_api
    local status=0
    {
        in_root apt-get update -q &&
            in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                "rabbitmq-server=$WANT_VERSION-*" &&
            in_root apt-get clean
    } >"$BASE/install.log" 2>&1 || status=$?
    [ "$status" -eq 0 ] || unavailable "installing rabbitmq-server $WANT_VERSION failed (see $BASE/install.log): no second broker"
    say "installed RabbitMQ $(installed_version) ($(du -smx "$ROOT" | cut -f1) MB in $ROOT)"
}

config() {
    local i=1 port
    cat <<EOF
# Written by Burrow's tests/support/broker4.sh: the settings of the host broker
# (see ./burrow setup), other ports.
web_stomp.ws_frame = binary
web_stomp.ws_opts.compress = false
web_stomp.tcp.ip = 127.0.0.1
web_stomp.tcp.port = $WS_PORT
# rabbitmq_web_stomp pulls in rabbitmq_stomp: no plain STOMP listener (61613 is the host broker's).
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

env_config() {
    cat <<EOF
# Written by Burrow's tests/support/broker4.sh.
NODENAME=$NODE
NODE_IP_ADDRESS=127.0.0.1
NODE_PORT=$AMQP_PORT
DIST_PORT=$DIST_PORT
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF
}

# Writes the node's files; prints "changed" when any differs from before.
write_config() {
    local etc=$ROOT/etc/rabbitmq changed=0
    mkdir -p "$etc"
    if [ "$(cat "$etc/rabbitmq.conf" 2>/dev/null)" != "$(config)" ]; then
        config >"$etc/rabbitmq.conf"
        changed=1
    fi
    if [ "$(cat "$etc/rabbitmq-env.conf" 2>/dev/null)" != "$(env_config)" ]; then
        env_config >"$etc/rabbitmq-env.conf"
        changed=1
    fi
    if [ "$(cat "$etc/enabled_plugins" 2>/dev/null)" != "[rabbitmq_management,rabbitmq_web_stomp]." ]; then
        echo "[rabbitmq_management,rabbitmq_web_stomp]." >"$etc/enabled_plugins"
        changed=1
    fi
    [ $changed -eq 0 ] || echo changed
}

# /proc, /dev/pts and /dev/shm inside the chroot: Erlang reads /proc, apt wants a pty.
mount_api() {
    mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
    mkdir -p "$ROOT/dev/pts" "$ROOT/dev/shm"
    mountpoint -q "$ROOT/dev/pts" || mount -t devpts -o newinstance,ptmxmode=0666 devpts "$ROOT/dev/pts"
    mountpoint -q "$ROOT/dev/shm" || mount -t tmpfs tmpfs "$ROOT/dev/shm"
}

umount_api() {
    local m
    for m in dev/shm dev/pts proc; do
        mountpoint -q "$ROOT/$m" && umount "$ROOT/$m" 2>/dev/null || true
    done
}

# The node's Erlang VM pid, if it runs: a beam.smp whose root is the chroot.
node_pid() {
    local pid
    for pid in $(pgrep -x beam.smp 2>/dev/null); do
        if [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$ROOT" ]; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

healthy() {
    node_pid >/dev/null && port_open $WS_PORT && port_open $MGMT_PORT &&
        curl -sf -u "$USER_NAME:$USER_PASSWORD" "http://127.0.0.1:$MGMT_PORT/api/whoami" >/dev/null
}

start() {
    [[ $(installed_version) == "$WANT_VERSION"-* ]] || die "not installed: tests/support/broker4.sh setup"
    if [ -n "$(write_config)" ] && node_pid >/dev/null; then
        say "configuration changed: restarting $NODE"
        stop
    fi
    if node_pid >/dev/null && port_open $WS_PORT && port_open $MGMT_PORT; then
        say "RabbitMQ $WANT_VERSION ($NODE) is running"
        return 0
    fi
    mount_api
    # The host's epmd serves both brokers; without one, the node would start the
    # chroot's, which would outlive it and serve the host's broker later.
    if ! port_open 4369; then
        command -v epmd >/dev/null || die "no epmd on the host (Debian's erlang-base, with rabbitmq-server)"
        without_inherited_fds epmd -daemon
    fi
    if ! node_pid >/dev/null; then
        mkdir -p "$BASE"
        # The wrapper runs the server as the rabbitmq user; its log goes to /var/log/rabbitmq in the chroot.
        without_inherited_fds chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
            rabbitmq-server -detached >"$BASE/start.log" 2>&1 || true
    fi
    # await_startup fails at once until the node has registered with epmd: poll.
    local deadline=$((SECONDS + 120)) gone=0
    while ! ctl -q await_startup --timeout 5 >/dev/null 2>&1; do
        if node_pid >/dev/null; then gone=0; else gone=$((gone + 1)); fi
        [ $gone -lt 10 ] || die "$NODE did not start (see $ROOT/var/log/rabbitmq/ and $BASE/start.log)"
        [ $SECONDS -lt $deadline ] || die "$NODE did not boot within 120 s (see $ROOT/var/log/rabbitmq/)"
        sleep 1
    done
    local i
    for ((i = 0; i < 150; i++)); do
        port_open $WS_PORT && port_open $MGMT_PORT && break
        sleep 0.2
    done
    port_open $WS_PORT || die "Web-STOMP ($WS_URL) did not open"
    say "RabbitMQ $WANT_VERSION started: $WS_URL, http://127.0.0.1:$MGMT_PORT"
}

users() {
    if ctl -q list_users 2>/dev/null | awk '{print $1}' | grep -qx "$USER_NAME"; then
        ctl -q change_password "$USER_NAME" "$USER_PASSWORD" >/dev/null
    else
        ctl -q add_user "$USER_NAME" "$USER_PASSWORD" >/dev/null
        say "created user $USER_NAME"
    fi
    ctl -q set_user_tags "$USER_NAME" administrator >/dev/null
    ctl -q set_permissions -p / "$USER_NAME" ".*" ".*" ".*" >/dev/null
    if ! ctl -q list_users 2>/dev/null | awk '{print $1}' | grep -qx burrow-noperm; then
        ctl -q add_user burrow-noperm burrow-noperm >/dev/null
        say "created user burrow-noperm (no permissions, for tests)"
    fi
}

setup() {
    install_root
    start
    healthy || users
    healthy || die "running but the management API does not accept $USER_NAME"
    say "users $USER_NAME (administrator, all permissions on /) and burrow-noperm"
}

stop() {
    local pid i
    if pid=$(node_pid); then
        say "stopping $NODE"
        ctl -q stop >/dev/null 2>&1 || true
        for ((i = 0; i < 300; i++)); do
            [ -e "/proc/$pid" ] || break
            sleep 0.2
        done
        [ ! -e "/proc/$pid" ] || die "$NODE did not stop within 60 s"
    fi
    # Erlang's helpers (erl_child_setup, inet_gethost) go with the VM; then unmount.
    umount_api
}

status() {
    local pid kb
    if pid=$(node_pid); then
        kb=$(ps -o rss= -p "$pid" | tr -d ' ')
        say "$NODE: running (pid $pid, RSS $((kb / 1024)) MiB), RabbitMQ $(installed_version)"
        if port_open $WS_PORT; then say "Web-STOMP $WS_URL: up"; else say "Web-STOMP $WS_URL: down"; fi
        if port_open $MGMT_PORT; then say "management http://127.0.0.1:$MGMT_PORT: up"; else say "management: down"; fi
        say "AMQP 127.0.0.1:$AMQP_PORT, distribution $DIST_PORT"
    elif [ -n "$(installed_version)" ]; then
        say "$NODE: stopped (RabbitMQ $(installed_version) installed in $ROOT)"
        return 1
    else
        say "$NODE: not installed ($ROOT)"
        return 1
    fi
}

case "${1:-}" in
    setup) setup ;;
    start) start ;;
    stop) stop ;;
    restart) stop; start ;;
    status) status ;;
    ctl) shift; ctl "$@" ;;
    *) echo "usage: $0 setup | start | stop | restart | status | ctl ARGS..." >&2; exit 2 ;;
esac
