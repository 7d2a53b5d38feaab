#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-xen, inside dom0, run by xendm-check-boot from the payload
# disk: install this run's files (xendm where `make install` put it, the
# guest configs, the serial test firmware, the xcheck helper), wait for the
# Xen toolstack, then serve the host's commands on TCP port 7000 (QEMU
# forwards a 127.0.0.1 port of the host to it; the network of the emulated
# machine is QEMU's user-mode network with restrict=on, so nothing else can
# reach it).  Each connection is one agent.sh session.
set -u
P=/run/xendm-check/payload
echo "XENDM-CHECK: payload boot"
cp -r --preserve=mode "$P/stage/." /
install -m 0755 "$P/xcheck" /usr/local/sbin/xcheck
mkdir -p /etc/xen/xendm-check /usr/local/share/xendm-check /run/xendm-check/out
cp "$P"/guests/*.cfg /etc/xen/xendm-check/
cp "$P/serial-bios.bin" /usr/local/share/xendm-check/
i=0
until xl info >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -gt 300 ] && { echo "XENDM-CHECK: xl info does not answer"; break; }
    sleep 1
done
echo "XENDM-CHECK: agent listening on tcp port 7000"
# -t: after the host half-closes, wait for the session to finish
exec socat -t 3600 TCP-LISTEN:7000,reuseaddr,fork EXEC:"/bin/bash $P/agent.sh"
