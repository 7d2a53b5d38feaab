#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-xen, inside dom0: one command session of the host's driver.
# The first line must be this run's token (a random string check-xen.sh
# wrote to the payload disk), the rest, up to the end of the input, is a
# bash script.  It runs with stdin from /dev/null, its output (stderr
# included) goes back, followed by a last line "__XCHECK_RC=<status>".
P=/run/xendm-check/payload
IFS= read -r tok || exit 1
if [ "$tok" != "$(cat "$P/token")" ]; then
    echo "xendm-check agent: wrong token"
    exit 1
fi
script=$(cat)
cd /root || exit 1
bash -c "$script" </dev/null 2>&1
echo "__XCHECK_RC=$?"
