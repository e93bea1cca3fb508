#!/bin/sh
# In-guest half of harness/lab (runs as /lab/guest.sh over SSH).
#   guest.sh setup RUN   re-create both mtty devices (a used mtty keeps STOP),
#                        start the debugfs poller and the two inner QEMUs
#   guest.sh kill-dst    SIGKILL the destination QEMU (destination-killed)
#   guest.sh stop        stop the QEMUs and the poller; print what they left
# Ports (guest loopback only): QMP for the driver 4401 (source) / 4402
# (destination); QMP for a watcher: unix /run/lab/src.qmp, /run/lab/dst.qmp,
# and tcp 4411 / 4412 (dropbear 2022.83 refuses direct-streamlocal channels,
# so over SSH a watcher reaches QMP through direct-tcpip); the migration
# stream: tcp 127.0.0.1:4444.
set -eu
SRC_UUID=c0ffee00-0000-4000-8000-00000000000a
DST_UUID=c0ffee00-0000-4000-8000-00000000000b
MTTY=/sys/class/mdev_bus/mtty/mdev_supported_types
R=/run/lab
DBG=/sys/kernel/debug/vfio

qemu_cmd() {  # NAME UUID QMPPORT [extra...]; run it in a subshell: it becomes the QEMU (exec), so $! is its pid
    name=$1 uuid=$2 port=$3; shift 3
    exec qemu-system-x86_64 -accel tcg -m 32 -nodefaults -display none -vga none -name "$name" \
        -device "vfio-pci,id=mtty0,sysfsdev=/sys/bus/mdev/devices/$uuid,enable-migration=on,migration-events=on,x-device-dirty-page-tracking=off" \
        -qmp "tcp:127.0.0.1:$port,server=on,wait=off" \
        -qmp "unix:$R/$name.qmp,server=on,wait=off" \
        -qmp "tcp:127.0.0.1:$((port + 10)),server=on,wait=off" \
        "$@"
}

stop_all() {
    for p in src dst poll; do
        if [ -f "$R/$p.pid" ]; then
            kill "$(cat "$R/$p.pid")" 2>/dev/null || true
        fi
    done
    for i in 1 2 3 4 5 6 7 8 9 10; do
        alive=0
        for p in src dst poll; do
            [ -f "$R/$p.pid" ] && kill -0 "$(cat "$R/$p.pid")" 2>/dev/null && alive=1
        done
        [ $alive = 0 ] && break
        sleep 0.2
    done
    for p in src dst poll; do
        [ -f "$R/$p.pid" ] && kill -9 "$(cat "$R/$p.pid")" 2>/dev/null || true
    done
}

wait_port() {  # PORT: until something listens on 127.0.0.1:PORT
    for i in $(seq 1 200); do
        netstat -ltn 2>/dev/null | grep -q "127.0.0.1:$1 " && return 0
        sleep 0.1
    done
    echo "guest.sh: nothing listens on 127.0.0.1:$1" >&2
    return 1
}

case "${1:-}" in
setup)
    run=${2:?run name}
    stop_all
    rm -rf "$R"; mkdir -p "$R"
    for u in $SRC_UUID $DST_UUID; do
        [ -e /sys/bus/mdev/devices/$u ] && echo 1 > /sys/bus/mdev/devices/$u/remove
    done
    dst_type=mtty-2
    [ "$run" = port-mismatch ] && dst_type=mtty-1
    echo $SRC_UUID > $MTTY/mtty-2/create
    echo $DST_UUID > $MTTY/$dst_type/create
    extra=""
    case "$run" in
    slow-precopy|cancel|destination-killed)
        # RAM that is not zero, so pre-copy has megabytes to move
        # (made once per boot: urandom under TCG takes seconds)
        [ -s /run/ram.bin ] || head -c 8388608 /dev/urandom > /run/ram.bin
        extra="-device loader,file=/run/ram.bin,addr=0x1000000"
        ;;
    esac
    /lab/lab_poll $R/poll.txt "source=$DBG/$SRC_UUID/migration/state" \
        "destination=$DBG/$DST_UUID/migration/state" > $R/poll.err 2>&1 &
    echo $! > $R/poll.pid
    # shellcheck disable=SC2086
    qemu_cmd src $SRC_UUID 4401 $extra > $R/src.log 2>&1 &
    echo $! > $R/src.pid
    # shellcheck disable=SC2086
    qemu_cmd dst $DST_UUID 4402 $extra -incoming tcp:127.0.0.1:4444 > $R/dst.log 2>&1 &
    echo $! > $R/dst.pid
    wait_port 4401
    wait_port 4402
    echo "source=$SRC_UUID $(cat $MTTY/mtty-2/name)"
    echo "destination=$DST_UUID $(cat $MTTY/$dst_type/name)"
    ;;
kill-dst)
    kill -9 "$(cat $R/dst.pid)"
    ;;
alive)
    for p in src dst; do
        # a zombie (State: Z) has exited too
        if grep -qs '^State:[[:space:]]*[^Z]' "/proc/$(cat $R/$p.pid)/status"; then
            echo "$p alive"
        else
            echo "$p exited"
        fi
    done
    ;;
stop)
    stop_all
    echo "@@poll"; cat $R/poll.txt 2>/dev/null || true
    echo "@@src.log"; cat $R/src.log 2>/dev/null || true
    echo "@@dst.log"; cat $R/dst.log 2>/dev/null || true
    ;;
*)
    echo "usage: guest.sh setup RUN | kill-dst | alive | stop" >&2
    exit 2
    ;;
esac
