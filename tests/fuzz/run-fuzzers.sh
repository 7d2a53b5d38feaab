#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Smoke run of every libFuzzer target: a fixed seed and a bounded number of
# executions over the committed seed corpus, so a crash the fuzzers once
# found (kept in the corpus) or a new one on the same paths fails make check.
# The long runs (>= 1 M executions each) are recorded in tests/fuzz/README.md.
# TAP output.  Needs the fuzzers built by make (check_DATA).
set -u
RUNS=${FUZZ_SMOKE_RUNS:-20000}
dir=$(dirname "$0")
set -- fuzz-ioreq:ioreq fuzz-qmp:qmp fuzz-vga:vga
# fuzz-vnc exists when xendm is built with its VNC front end
grep -q '^#define HAVE_VNC 1' config.h 2>/dev/null && set -- "$@" fuzz-vnc:vnc
# fuzz-qxl exists when xendm is built with SPICE (QXL renders through it)
grep -q '^#define HAVE_SPICE 1' config.h 2>/dev/null && set -- "$@" fuzz-qxl:qxl
echo "1..$#"
n=0
fail=0
for f in "$@"; do
    n=$((n + 1))
    bin=tests/fuzz/${f%%:*}
    corpus=$dir/corpus/${f##*:}
    if [ ! -x "$bin" ]; then
        echo "not ok $n - $bin was not built (needs clang and libclang-rt-14-dev: scripts/install-deps)"
        fail=1
        continue
    fi
    case ${f%%:*} in
    fuzz-vga) extra=-entropic_scale_per_exec_time=1 ;; # huge modes are slow: favour fast inputs
    *) extra= ;;
    esac
    work=$(mktemp -d)
    cp "$corpus"/* "$work"/ 2>/dev/null
    if timeout 300 "$bin" -seed=1 -runs="$RUNS" -max_len=4096 $extra "$work" >"$work.log" 2>&1; then
        echo "ok $n - ${f%%:*}: $RUNS executions, no crash ($(grep -c . "$work.log") log lines)"
    else
        echo "not ok $n - ${f%%:*} crashed or timed out:"
        tail -n 30 "$work.log" | sed 's/^/# /'
        fail=1
    fi
    rm -rf "$work" "$work.log"
done
exit $fail
