#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-xen: xendm under a real Xen 4.17 and its real toolstack (xl,
# libxl), with Xen booted in QEMU under TCG (no KVM needed).  TAP output.
#
#  1. builds or reuses the cached Debian 12 dom0 image (build-image.sh);
#  2. makes this run's payload disk: xendm as `make install` staged it, the
#     guest configs of guests/ with device_model_override = the installed
#     path, the serial test firmware, the dom0 helpers (payload/);
#  3. boots Xen + dom0 in qemu-system-x86_64 (multiboot, SVM+NPT under
#     TCG), the dom0 disk opened with snapshot=on so the cache stays
#     pristine; host ports 127.0.0.1:PORT_BASE..+19 are forwarded to dom0
#     (agent, guest VNC displays, SPICE);
#  4. runs the guests with xl in dom0 and looks at them from the host with
#     real clients (gvnccapture, libvncclient viewers, `xl console`,
#     spicy-screenshot), Debian's qemu-system-xen alongside as reference;
#  5. powers dom0 off and prints the figures for bench/README.md.
#
# Environment (set by `make check-xen`):
#   XENDM_INSTALLED   where `make install` puts xendm ($(libexecdir)/xendm)
#   XEN_CHECK_STAGE   the DESTDIR of that `make install`
#   XEN_SCREEN        the xen-screen helper (tests/xen/xen-screen.c)
#   XEN_SERIAL_BIOS   the serial test firmware (tests/xen/serial-bios.S)
#   SEABIOS_DIR       Debian's SeaBIOS ROMs (the VGA font for reading text)
# Optional:
#   XEN_CHECK_WORK    run directory (default tests/xen/run in the build dir)
#   XEN_CHECK_CACHE   image cache (default ${XDG_CACHE_HOME:-/var/cache}/xendm-xen-tcg)
#   XEN_CHECK_PORT_BASE  first of the 20 host ports used (default 6000)
#   XEN_CHECK_BOOT_TIMEOUT  seconds for Xen + dom0 to come up (default 900)
#   XEN_CHECK_SPICE   0 = leave the SPICE case out (default 1)
#   XEN_CHECK_MIRROR  Debian mirror for the image (default: apt's own)
# Needs root (debootstrap/chroot for the image).  A missing tool fails the
# run and names the Debian package; nothing is skipped silently.
set -u

XEN_CHECK_DIR=$(cd "$(dirname "$0")" && pwd)
. "$XEN_CHECK_DIR/common.sh"

# The SPICE case (spicy-screenshot against the VNC picture); XEN_CHECK_SPICE=0
# in the environment leaves it out.
XEN_CHECK_SPICE=${XEN_CHECK_SPICE:-1}

: "${XENDM_INSTALLED:?set by make check-xen}" "${XEN_CHECK_STAGE:?set by make check-xen}"
: "${XEN_SCREEN:?set by make check-xen}" "${XEN_SERIAL_BIOS:?set by make check-xen}"
SEABIOS_DIR=${SEABIOS_DIR:-/usr/share/seabios}
VGA_ROM=$SEABIOS_DIR/vgabios-stdvga.bin
WORK=${XEN_CHECK_WORK:-$PWD/tests/xen/run}
PORT_BASE=${XEN_CHECK_PORT_BASE:-6000}
BOOT_TIMEOUT=${XEN_CHECK_BOOT_TIMEOUT:-900}
QEMU_XEN_DOM0=/usr/libexec/xen-qemu-system-i386 # Debian's, inside dom0
FIRMWARE_DOM0=/usr/local/share/xendm-check/serial-bios.bin

# host port -> dom0 port
PORT_AGENT=$PORT_BASE            # -> 7000, payload/agent.sh
PORT_VNC_XENDM=$((PORT_BASE + 1)) # -> 5901, VNC :1
PORT_VNC_QEMU=$((PORT_BASE + 2))  # -> 5902, VNC :2
PORT_VNC_SPICE=$((PORT_BASE + 3)) # -> 5903, VNC :3 of the SPICE guest
PORT_SPICE=$((PORT_BASE + 10))    # -> 5930
# the emulated machine
L1_MEM=3072
XEN_CMDLINE="console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M bootscrub=false loglvl=all guest_loglvl=all noreboot"
DOM0_CMDLINE="root=LABEL=xendom0 ro console=hvc0"
# bounds on waiting for events
BANNER_TIMEOUT=300 # xl create returned -> SeaBIOS done ("No bootable device") on screen
REBOOT_TIMEOUT=300 # SeaBIOS retries after 60 s, then libxl recreates the guest
SHUTDOWN_TIMEOUT=120

n=0
nfail=0
qemu_pid=
t_run0=$(date +%s)

# ------------------------------------------------------------------ TAP ----
pass() {
    n=$((n + 1))
    echo "ok $n - $1"
}
# fail DESCRIPTION [DIAGNOSTIC TEXT...]
fail() {
    n=$((n + 1))
    nfail=$((nfail + 1))
    echo "not ok $n - $1"
    shift
    [ $# -gt 0 ] && printf '%s\n' "$@" | sed 's/^/# /'
    return 0
}
check() { # check DESCRIPTION CONDITION-RESULT(0/1) [DIAGNOSTIC...]
    local d=$1 r=$2
    shift 2
    if [ "$r" = 0 ]; then pass "$d"; else fail "$d" "$@"; fi
}
note() { sed 's/^/# /'; }
# what is going on, on stderr: automake's TAP driver writes it straight to
# tests/xen/check-xen.log (`tail -f` it), where the TAP lines arrive late
progress() { echo "check-xen: [$(($(date +%s) - t_run0))s] $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
kv() { printf '%s\n' "$1" | sed -n "s/^$2=//p" | tail -n 1; }

cleanup() {
    local p
    for p in ${bg_x:-} ${bg_q:-}; do kill "$p" 2>/dev/null; done
    if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill "$qemu_pid" 2>/dev/null
        for _ in $(seq 1 50); do
            kill -0 "$qemu_pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -9 "$qemu_pid" 2>/dev/null
        wait "$qemu_pid" 2>/dev/null
    fi
    qemu_pid=
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM

# The TAP lines carry the failures (a fatal one ends the run with the plan
# so far); a non-zero status would make the TAP driver count one more.
finish() {
    echo "# total wall time: $(($(date +%s) - t_run0)) s, $nfail failed"
    echo "1..$n"
    cleanup
    exit 0
}

# ------------------------------------------------------------ the agent ----
TOKEN=
# dom0 [SECONDS] SCRIPT: run SCRIPT in dom0 as root; prints its output,
# returns its status (255: no answer).
dom0() {
    local t=120 out rc
    case "$1" in [0-9]*) t=$1 && shift ;; esac
    out=$({
        printf '%s\n' "$TOKEN"
        printf '%s\n' "$*"
    } | timeout "$t" socat -t "$t" - "TCP:127.0.0.1:$PORT_AGENT" 2>&1)
    rc=$(printf '%s\n' "$out" | sed -n 's/^__XCHECK_RC=//p' | tail -n 1)
    printf '%s\n' "$out" | grep -v '^__XCHECK_RC='
    [ -n "$rc" ] || return 255
    return "$rc"
}
guest_diag() { dom0 "xcheck diag $1"; }

# ------------------------------------------------------------- screens ----
# wait_screen PORT TAG T0 SECONDS NAME [banner]: poll the VNC display at
# host PORT with gvnccapture until its text reads "No bootable device" on two
# captures in a row that are the same picture (the blinking cursor aside),
# or, with "banner", until the SeaBIOS banner shows.  Sets SCREEN_PNG,
# SCREEN_TEXT, BANNER_SECS (seconds from T0 to the first capture showing
# the banner) and BANNER_RSS (the device model's RSS in KiB right then, for
# the benchmark).  Status 0 when the screen got there in time.
wait_screen() {
    local port=$1 tag=$2 t0=$3 limit=$4 name=$5 until=${6:-final} png prev='' text end
    SCREEN_PNG=$WORK/$tag.png
    SCREEN_TEXT=
    BANNER_SECS=
    BANNER_RSS=
    end=$(($(date +%s) + limit))
    while [ "$(date +%s)" -lt "$end" ]; do
        png=$WORK/$tag-$RANDOM.png
        if timeout 30 gvnccapture -q "127.0.0.1:$((port - 5900))" "$png" >/dev/null 2>&1 &&
            text=$("$XEN_SCREEN" text "$VGA_ROM" "$png" 2>/dev/null); then
            SCREEN_TEXT=$text
            if [ -z "$BANNER_SECS" ] && printf '%s\n' "$text" | grep -q '^SeaBIOS (version '; then
                BANNER_SECS=$(since "$t0")
                BANNER_RSS=$(kv "$(dom0 "xcheck info $name")" vmrss_kb)
                if [ "$until" = banner ]; then
                    mv "$png" "$SCREEN_PNG"
                    return 0
                fi
            fi
            if printf '%s\n' "$text" | grep -q 'No bootable device'; then
                if [ -n "$prev" ] && "$XEN_SCREEN" same "$prev" "$png" >/dev/null 2>&1; then
                    mv "$png" "$SCREEN_PNG"
                    rm -f "$prev"
                    return 0
                fi
                [ -n "$prev" ] && rm -f "$prev"
                prev=$png
                continue
            fi
            [ -n "$prev" ] && rm -f "$prev" # the guest went on (rebooted): start over
            prev=''
        fi
        rm -f "$png"
        sleep 1
    done
    [ -n "$prev" ] && mv "$prev" "$SCREEN_PNG"
    return 1
}

# ------------------------------------------------------- preconditions ----
echo "# make check-xen: xendm under Xen 4.17 (TCG), run directory $WORK"
missing=
[ "$(id -u)" = 0 ] || missing="$missing root (the dom0 image is built with debootstrap and chroot);"
for t in qemu-system-x86_64:qemu-system-x86 debootstrap:debootstrap mkfs.ext4:e2fsprogs \
    gvnccapture:gvncviewer socat:socat timeout:coreutils flock:util-linux; do
    command -v "${t%%:*}" >/dev/null 2>&1 || missing="$missing ${t%%:*} (Debian package ${t#*:});"
done
if [ "$XEN_CHECK_SPICE" = 1 ]; then
    command -v spicy-screenshot >/dev/null 2>&1 ||
        missing="$missing spicy-screenshot (Debian package spice-client-gtk);"
fi
[ -x "$XEN_CHECK_STAGE$XENDM_INSTALLED" ] || missing="$missing $XEN_CHECK_STAGE$XENDM_INSTALLED (make install did not stage xendm);"
[ -x "$XEN_SCREEN" ] || missing="$missing $XEN_SCREEN (not built);"
[ -s "$XEN_SERIAL_BIOS" ] || missing="$missing $XEN_SERIAL_BIOS (not built);"
[ -s "$VGA_ROM" ] || missing="$missing $VGA_ROM (Debian package seabios);"
if [ -n "$missing" ]; then
    fail "host prerequisites" "missing:$missing"
    finish
fi
for p in $(seq "$PORT_BASE" $((PORT_BASE + 19))); do
    if ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
        fail "host prerequisites" "host port 127.0.0.1:$p is in use (another check-xen run?); set XEN_CHECK_PORT_BASE"
        finish
    fi
done
pass "host prerequisites (tools, root, staged xendm, free ports $PORT_BASE-$((PORT_BASE + 19)))"
rm -rf "$WORK"
mkdir -p "$WORK"

# ----------------------------------------------------------- the image ----
progress "dom0 image: building or reusing (log: $WORK/image.log)"
t=$(now)
bash "$XEN_CHECK_DIR/build-image.sh" "$XEN_CHECK_STAGE$XENDM_INSTALLED" >"$WORK/image.log" 2>&1
rc=$?
last=$(tail -n 1 "$WORK/image.log")
IMG=$(printf '%s\n' "$last" | sed -n 's/^image: \([^ ]*\) .*/\1/p')
if [ "$rc" != 0 ] || [ -z "$IMG" ]; then
    case "$last" in
    error:*) why=${last#error: } ;;
    *) why="build-image.sh failed (status $rc)" ;;
    esac
    fail "dom0 image: $why" "$(tail -n 25 "$WORK/image.log")"
    finish
fi
IMAGE_SECS=$(since "$t")
pass "dom0 image ready in ${IMAGE_SECS}s: ${last#image: }"
grep -E '^(mirror|debootstrap|packages:|ext4)' "$WORK/image.log" | cut -c1-200 | note

# --------------------------------------------------------- the payload ----
P=$WORK/payload
mkdir -p "$P/guests"
cp -a "$XEN_CHECK_STAGE" "$P/stage"
cp "$XEN_CHECK_DIR"/payload/boot.sh "$XEN_CHECK_DIR"/payload/agent.sh "$XEN_CHECK_DIR"/payload/xcheck "$P/"
cp "$XEN_SERIAL_BIOS" "$P/serial-bios.bin"
TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$TOKEN" >"$P/token"
render() { # render TEMPLATE NAME DM [VNCDISPLAY]
    sed -e "s|@NAME@|$2|g" -e "s|@DM@|$3|g" -e "s|@VNCDISPLAY@|${4:-0}|g" \
        -e "s|@SPICEPORT@|5930|g" -e "s|@FIRMWARE@|$FIRMWARE_DOM0|g" \
        "$XEN_CHECK_DIR/guests/$1.cfg" >"$P/guests/$2.cfg"
}
render vnc xendm-vnc "$XENDM_INSTALLED" 1
render vnc qemu-vnc "$QEMU_XEN_DOM0" 2
render serial xendm-serial "$XENDM_INSTALLED"
render cirrus xendm-cirrus "$XENDM_INSTALLED"
render spice xendm-spice "$XENDM_INSTALLED" 3
if ! mkfs.ext4 -q -F -L XENDMCHECK -d "$P" "$WORK/payload.ext4" 64M >"$WORK/payload.log" 2>&1; then
    fail "payload disk" "$(cat "$WORK/payload.log")"
    finish
fi

# ------------------------------------------------------------ the boot ----
fwd="hostfwd=tcp:127.0.0.1:$PORT_AGENT-:7000"
fwd="$fwd,hostfwd=tcp:127.0.0.1:$PORT_VNC_XENDM-:5901,hostfwd=tcp:127.0.0.1:$PORT_VNC_QEMU-:5902"
fwd="$fwd,hostfwd=tcp:127.0.0.1:$PORT_VNC_SPICE-:5903,hostfwd=tcp:127.0.0.1:$PORT_SPICE-:5930"
progress "booting Xen + dom0 under TCG (console: $WORK/console.log)"
t_boot=$(now)
qemu-system-x86_64 -nodefaults -machine pc -accel tcg,thread=multi,tb-size=1024 \
    -cpu qemu64,+svm,+npt -smp 2 -m "$L1_MEM" \
    -kernel "$IMG/xen" -append "$XEN_CMDLINE" \
    -initrd "$IMG/vmlinuz $DOM0_CMDLINE,$IMG/initrd.img" \
    -drive "file=$IMG/dom0.ext4,format=raw,if=virtio,snapshot=on,cache=unsafe" \
    -drive "file=$WORK/payload.ext4,format=raw,if=virtio,readonly=on" \
    -nic "user,model=virtio-net-pci,restrict=on,$fwd" \
    -display none -vga none -monitor none -serial "file:$WORK/console.log" \
    </dev/null >"$WORK/qemu.log" 2>&1 &
qemu_pid=$!
up=no
while [ "$(awk -v a="$t_boot" -v b="$(now)" 'BEGIN { print int(b - a) }')" -lt "$BOOT_TIMEOUT" ]; do
    kill -0 "$qemu_pid" 2>/dev/null || break
    if [ "$(dom0 20 'echo up' 2>/dev/null)" = up ]; then
        up=yes
        break
    fi
    sleep 3
done
BOOT_SECS=$(since "$t_boot")
if [ "$up" != yes ]; then
    fail "Xen and dom0 boot under TCG (no answer after ${BOOT_SECS}s)" \
        "--- qemu-system-x86_64:" "$(tail -n 5 "$WORK/qemu.log")" \
        "--- Xen/dom0 console (last 40 lines):" "$(tail -n 40 "$WORK/console.log" | tr -d '\r')"
    finish
fi
info=$(dom0 "xl info")
ver=$(kv "$(printf '%s\n' "$info" | sed 's/ *: */=/')" xen_version)
caps=$(kv "$(printf '%s\n' "$info" | sed 's/ *: */=/')" xen_caps)
case "$ver $caps" in
4.17*hvm-3.0-x86_64*) pass "Xen $ver boots under TCG in ${BOOT_SECS}s and runs HVM guests ($caps)" ;;
*)
    fail "Xen 4.17 with HVM support (xen_version '$ver', xen_caps '$caps')" "$(tail -n 30 "$WORK/console.log" | tr -d '\r')"
    finish
    ;;
esac
dom0 "systemd-analyze; systemd-analyze blame | head -n 6" 2>/dev/null | note
out=$(dom0 "ldd $XENDM_INSTALLED | grep 'not found'; $XENDM_INSTALLED --version")
rc=$?
if [ "$rc" = 0 ] && ! printf '%s\n' "$out" | grep -q 'not found'; then
    pass "xendm runs in dom0 from $XENDM_INSTALLED ($(printf '%s\n' "$out" | head -n 1))"
else
    fail "xendm runs in dom0 from $XENDM_INSTALLED" "$out"
fi

# ------------------------------------------------------ cirrus: refused ----
name=xendm-cirrus
progress "vga='cirrus' with xendm (must be refused)"
out=$(dom0 "xcheck create $name")
log=$(dom0 "cat /var/log/xen/qemu-dm-$name.log")
expect="xendm: -device cirrus-vga: not supported yet"
if [ "$(kv "$out" rc)" != 0 ] && printf '%s\n' "$log" | grep -qF "$expect"; then
    pass "vga='cirrus': xl create fails, qemu-dm log says '$expect'"
else
    fail "vga='cirrus': xl create fails, qemu-dm log says '$expect'" "$out" "$(guest_diag $name)"
fi
out=$(dom0 "xl domid $name && echo 'domain still there'; xcheck dms")
if printf '%s\n' "$out" | grep -qE "^domain still there|^dm "; then
    fail "the failed create left no domain and no device model behind" "$out"
else
    pass "the failed create left no domain and no device model behind"
fi

# ------------------ stdvga + VNC: xendm, and qemu-xen side by side ----
# The same config with Debian's qemu-xen runs at the same time: for the
# figures of bench/README.md (both guests see the same load on this shared
# machine) and as a check of the environment (if it fails, so will xendm).
declare -A CREATE_S BANNER_S RSS_KB
# screen_bg RESULT ARGS...: wait_screen ARGS in the background, results to
# the files RESULT (key=value) and RESULT.text
screen_bg() {
    trap - EXIT INT TERM
    local res=$1 rc
    shift
    wait_screen "$@"
    rc=$?
    printf 'rc=%s\nbanner=%s\nrss=%s\npng=%s\n' "$rc" "$BANNER_SECS" "$BANNER_RSS" "$SCREEN_PNG" >"$res"
    printf '%s\n' "$SCREEN_TEXT" >"$res.text"
}
progress "stdvga + VNC: xendm, and Debian's qemu-xen side by side"
# Both are created paused (xl create -p, one at a time: xl serialises
# creation anyway), then unpaused together (QMP cont), so that the time to
# the banner of each is measured under the same conditions.
name=xendm-vnc
out=$(dom0 "xcheck create $name paused")
VNC_DOMID=$(kv "$out" domid)
VNC_DMPID=$(kv "$out" dmpid)
vnc_up=no
bg_x=
bg_q=
if [ "$(kv "$out" rc)" = 0 ] && [ -n "$VNC_DOMID" ]; then
    CREATE_S[xendm]=$(kv "$out" create_secs)
    pass "xendm: xl create (-p) of a stdvga + VNC guest succeeds: libxl saw state=running and its QMP answers (${CREATE_S[xendm]}s, domid $VNC_DOMID)"
    vnc_up=yes
else
    fail "xendm: xl create of a stdvga + VNC guest succeeds" "$out" "$(guest_diag $name)"
fi
out=$(dom0 "xcheck create qemu-vnc paused")
qemu_up=no
if [ "$(kv "$out" rc)" = 0 ]; then
    CREATE_S[qemu]=$(kv "$out" create_secs)
    qemu_up=yes
else
    fail "reference: xl create with Debian's qemu-xen" "$out" "$(guest_diag qemu-vnc)"
fi
names=
[ "$vnc_up" = yes ] && names=$name
[ "$qemu_up" = yes ] && names="$names qemu-vnc"
t_go=$(now)
[ -n "$names" ] && unp=$(dom0 "xcheck unpause $names")
if [ "$qemu_up" = yes ]; then
    screen_bg "$WORK/qemu-vnc.res" "$PORT_VNC_QEMU" qemu-vnc "$t_go" "$BANNER_TIMEOUT" qemu-vnc banner &
    bg_q=$!
fi
if [ "$vnc_up" = yes ]; then
    screen_bg "$WORK/xendm-vnc.res" "$PORT_VNC_XENDM" xendm-vnc "$t_go" "$BANNER_TIMEOUT" "$name" &
    bg_x=$!
    out=$(dom0 "xcheck info $name")
    state=$(kv "$out" state)
    if [ "$(kv "$unp" "rc_$name")" = 0 ] && [ "$(kv "$out" dm_exe)" = "$XENDM_INSTALLED" ] &&
        [ "$(kv "$out" xs_dm_state)" = running ] && [ "$(kv "$out" qmp-libxl)" = present ] &&
        [ -n "$state" ] && ! [[ "$state" =~ [pscd] ]]; then
        pass "xendm: xl unpause (QMP cont) runs it; xl list shows it running ('$state': not paused, shut down, crashed or dying), device model $XENDM_INSTALLED, QMP socket, state=running"
    else
        fail "xendm: xl unpause runs the guest; xl list shows it running, with xendm as its device model" \
            "$unp" "$out" "$(guest_diag $name)"
    fi
fi

if [ "$qemu_up" = yes ]; then
    wait "$bg_q"
    res=$(cat "$WORK/qemu-vnc.res" 2>/dev/null)
    if [ "$(kv "$res" rc)" = 0 ]; then
        BANNER_S[qemu]=$(kv "$res" banner)
        RSS_KB[qemu]=$(kv "$res" rss)
        pass "reference: Debian's qemu-xen shows the SeaBIOS banner over VNC (create ${CREATE_S[qemu]}s, banner ${BANNER_S[qemu]}s after unpause)"
    else
        fail "reference: Debian's qemu-xen shows the SeaBIOS banner over VNC" "last screen:" \
            "$(cat "$WORK/qemu-vnc.res.text" 2>/dev/null)" "$(guest_diag qemu-vnc)"
    fi
    dom0 "xcheck destroy qemu-vnc" >/dev/null
fi

if [ "$vnc_up" = yes ]; then
    wait "$bg_x"
    res=$(cat "$WORK/xendm-vnc.res" 2>/dev/null)
    XENDM_PNG=
    if [ "$(kv "$res" rc)" = 0 ]; then
        BANNER_S[xendm]=$(kv "$res" banner)
        RSS_KB[xendm]=$(kv "$res" rss)
        XENDM_PNG=$(kv "$res" png)
        pass "xendm: gvnccapture shows SeaBIOS's screen, read back as text (banner ${BANNER_S[xendm]}s after unpause)"
        grep . "$WORK/xendm-vnc.res.text" | note
    else
        fail "xendm: gvnccapture shows SeaBIOS's screen (banner and 'No bootable device')" \
            "last screen read back:" "$(cat "$WORK/xendm-vnc.res.text" 2>/dev/null)" "$(guest_diag $name)"
    fi

    if [ -n "$XENDM_PNG" ]; then
        out=$("$XEN_SCREEN" grab 127.0.0.1 "$PORT_VNC_XENDM" 2 "$WORK/xendm-two" 60 2>&1)
        rc=$?
        same1=$("$XEN_SCREEN" same "$WORK/xendm-two-0.ppm" "$WORK/xendm-two-1.ppm" 2>&1)
        r1=$?
        same2=$("$XEN_SCREEN" same "$WORK/xendm-two-0.ppm" "$XENDM_PNG" 2>&1)
        r2=$?
        if [ "$rc" = 0 ] && [ "$r1" = 0 ] && [ "$r2" = 0 ]; then
            pass "xendm: two VNC viewers connected at once get the same image as gvnccapture ($same1)"
        else
            fail "xendm: two VNC viewers connected at once get the same image" "$out" \
                "viewer 0 vs viewer 1: $same1" "viewer 0 vs gvnccapture: $same2"
        fi
    fi
fi

# ---------------------------------------- xendm: serial = 'pty', power ----
name=xendm-serial
progress "xendm: serial='pty', xl console, xl shutdown -F"
out=$(dom0 "xcheck create $name")
SER_DOMID=$(kv "$out" domid)
SER_DMPID=$(kv "$out" dmpid)
if [ "$(kv "$out" rc)" = 0 ] && [ -n "$SER_DOMID" ]; then
    pass "xendm: xl create of a guest with serial='pty' succeeds"
    out=$(dom0 "xcheck serial $SER_DOMID")
    q=$(kv "$out" qmp_serial0)
    x=$(kv "$out" xs_serial0)
    if [ -n "$x" ] && [ "$q" = "pty:$x" ]; then
        pass "xendm: query-chardev reports serial0 on $q, the pty xenstore gives xl console"
    else
        fail "xendm: query-chardev reports serial0 on the pty xenstore gives xl console" "$out"
    fi
    out=$(dom0 90 "xcheck console $name 'ping xendm' 'hello from the guest on COM1' 'PING XENDM'")
    if [ "$(kv "$out" seen_expect1)" = yes ] && [ "$(kv "$out" seen_expect2)" = yes ]; then
        pass "xendm: xl console shows what the guest writes to COM1, and what is typed reaches it (echo 'PING XENDM')"
    else
        fail "xendm: xl console shows the guest's COM1 output and carries input back" "$out" "$(guest_diag $name)"
    fi
    out=$(dom0 $((SHUTDOWN_TIMEOUT + 30)) "xcheck shutdown $name $SHUTDOWN_TIMEOUT")
    if [ "$(kv "$out" rc)" = 0 ]; then
        pass "xendm: xl shutdown -F powers the guest off through ACPI PM1a_CNT ($(kv "$out" shutdown_secs)s)"
    else
        fail "xendm: xl shutdown -F powers the guest off through ACPI" "$out" "$(guest_diag $name)"
    fi
    out=$(dom0 "xcheck gone $SER_DOMID $SER_DMPID")
    if [ "$(printf '%s\n' "$out" | grep -c '=gone$')" = 5 ]; then
        pass "xendm: after the power-off the domain, xendm, its QMP sockets and xenstore node are gone"
    else
        fail "xendm: after the power-off the domain, xendm, its QMP sockets and xenstore node are gone" "$out"
    fi
else
    fail "xendm: xl create of a guest with serial='pty' succeeds" "$out" "$(guest_diag $name)"
fi

# -------------------------------------- xendm: SeaBIOS reboot, destroy ----
name=xendm-vnc
if [ "$vnc_up" = yes ]; then
    progress "xendm: waiting for SeaBIOS's reboot (60 s after 'No bootable device')"
    out=$(dom0 $((REBOOT_TIMEOUT + 30)) "xcheck wait-domid $name $VNC_DOMID $REBOOT_TIMEOUT")
    new=$(kv "$out" domid)
    if [ -n "$new" ] && [ "$new" != "$VNC_DOMID" ]; then
        pass "xendm: SeaBIOS's reboot after 60 s: libxl restarts the guest as domid $new (was $VNC_DOMID)"
        t_re=$(now)
        out=$(dom0 "xcheck gone $VNC_DOMID $VNC_DMPID; xcheck info $name")
        newpid=$(kv "$out" dmpid)
        if [ "$(printf '%s\n' "$out" | grep -c '=gone$')" = 5 ] && [ -n "$newpid" ] &&
            [ "$newpid" != "$VNC_DMPID" ] && [ "$(kv "$out" dm_exe)" = "$XENDM_INSTALLED" ]; then
            pass "xendm: the old xendm (pid $VNC_DMPID), its sockets and xenstore node are gone; a new xendm (pid $newpid) runs"
        else
            fail "xendm: the old xendm, its sockets and xenstore node are gone; a new xendm runs" "$out"
        fi
        out=$(dom0 "xcheck dms")
        if [ "$(printf '%s\n' "$out" | grep -c '^dm ')" = 1 ] &&
            printf '%s\n' "$out" | grep -q "domid=$new name=$name "; then
            pass "xendm: one device model process in dom0, the new one (no stale processes)"
        else
            fail "xendm: one device model process in dom0, the new one" "$out"
        fi
        if wait_screen "$PORT_VNC_XENDM" xendm-vnc-reboot "$t_re" "$BANNER_TIMEOUT" "$name" banner; then
            pass "xendm: the restarted guest shows the SeaBIOS banner over VNC again"
        else
            fail "xendm: the restarted guest shows the SeaBIOS banner over VNC again" "$SCREEN_TEXT" "$(guest_diag $name)"
        fi
        VNC_DOMID=$new
        VNC_DMPID=$newpid
    else
        fail "xendm: SeaBIOS's reboot restarts the guest with a new domid" "$out" "$(guest_diag $name)"
    fi
    out=$(dom0 "xcheck destroy $name; xcheck gone $VNC_DOMID $VNC_DMPID")
    if [ "$(kv "$out" rc)" = 0 ] && [ "$(printf '%s\n' "$out" | grep -c '=gone$')" = 5 ]; then
        pass "xendm: xl destroy removes the domain, xendm, its QMP sockets and xenstore node"
    else
        fail "xendm: xl destroy removes the domain, xendm, its QMP sockets and xenstore node" "$out"
    fi
fi

# --------------------------------------------------------------- SPICE ----
if [ "$XEN_CHECK_SPICE" = 1 ]; then
    name=xendm-spice
    progress "xendm: stdvga + VNC + SPICE"
    out=$(dom0 "xcheck create $name")
    if [ "$(kv "$out" rc)" = 0 ]; then
        pass "xendm: xl create of a stdvga + VNC + SPICE guest succeeds"
        if wait_screen "$PORT_VNC_SPICE" xendm-spice-vnc "$(now)" "$BANNER_TIMEOUT" "$name"; then
            vpng=$SCREEN_PNG
            spng=$WORK/xendm-spice.ppm
            sout=$(timeout 60 spicy-screenshot -h 127.0.0.1 -p "$PORT_SPICE" -o "$spng" 2>&1)
            same=$("$XEN_SCREEN" same "$spng" "$vpng" 2>&1)
            r=$?
            stext=$("$XEN_SCREEN" text "$VGA_ROM" "$spng" 2>&1)
            if [ "$r" = 0 ] && printf '%s\n' "$stext" | grep -q '^SeaBIOS (version '; then
                pass "xendm: spicy-screenshot shows the same screen as VNC ($same)"
            else
                fail "xendm: spicy-screenshot shows the same screen as VNC" "$sout" "$same" "$stext"
            fi
        else
            fail "xendm: the SPICE guest shows SeaBIOS's screen over VNC" "$SCREEN_TEXT" "$(guest_diag $name)"
        fi
        dom0 "xcheck destroy $name" >/dev/null
    else
        fail "xendm: xl create of a stdvga + VNC + SPICE guest succeeds" "$out" "$(guest_diag $name)"
    fi
else
    echo "# SPICE case off (XEN_CHECK_SPICE=1 turns it on)"
fi

# ------------------------------------------------------------ the end ----
out=$(dom0 "xcheck dms; xl list")
if printf '%s\n' "$out" | grep -q '^dm '; then
    fail "no device model left running in dom0 at the end" "$out"
else
    pass "no device model left running in dom0 at the end"
fi
progress "powering dom0 off"
dom0 10 "(sleep 1; systemctl poweroff) >/dev/null 2>&1 &" >/dev/null
for _ in $(seq 1 300); do
    kill -0 "$qemu_pid" 2>/dev/null || break
    sleep 0.5
done
cleanup

{
    echo "check-xen figures: xl create -p (s), unpause of both -> SeaBIOS banner on VNC (s), RSS of the DM in dom0 then (KiB)"
    echo "dom0 image: ${IMAGE_SECS}s ($(tail -n 1 "$WORK/image.log" | sed 's/^image: [^ ]* //')); Xen+dom0 boot to agent: ${BOOT_SECS}s"
    printf '%-10s %10s %10s %10s\n' dm xl_create banner rss_kib_at_banner
    for dm in qemu xendm; do
        printf '%-10s %10s %10s %10s\n' "$dm" "${CREATE_S[$dm]:--}" "${BANNER_S[$dm]:--}" "${RSS_KB[$dm]:--}"
    done
} >"$WORK/bench.txt"
note <"$WORK/bench.txt"
finish
