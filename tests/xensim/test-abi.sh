#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ABI check of the xensim shims against Debian's qemu-xen (TAP output).
#
# qemu-xen binds every libxen* function to a version node (VERS_1.0, ...)
# of a named library, and the dynamic loader refuses a library that lacks a
# node or a symbol the binary references.  For each shimmed soname this
# lists the undefined dynamic symbols of $QEMU_XEN whose version node the
# binary's version-needs section (.gnu.version_r) attributes to that soname
# -- node names such as VERS_1.0 repeat across libraries, so the node's index
# is what ties a symbol to a library -- and checks that the shim defines each
# of them with the same version.  Then it checks that the loader really picks
# the shims up (LD_TRACE_LOADED_OBJECTS) and that qemu-xen starts on them
# with every symbol bound up front (LD_BIND_NOW=1 ... -version).
#
# Environment:
#   XENSIM_SHIM_DIR  directory holding the built shims (required)
#   QEMU_XEN         qemu-xen binary (default /usr/libexec/xen-qemu-system-i386)
# Needs: nm and readelf (binutils), timeout (coreutils), the qemu-xen binary
# (qemu-system-xen).  A missing prerequisite fails the tests; nothing skips.

set -u

QEMU_XEN=${QEMU_XEN:-/usr/libexec/xen-qemu-system-i386}
SHIM_DIR=${XENSIM_SHIM_DIR:-}
SHIMS="libxenctrl.so.4.17 libxendevicemodel.so.1 libxenforeignmemory.so.1
libxenevtchn.so.1 libxengnttab.so.1"
# Upper bound for "qemu-xen -version" (it takes well under a second).
VERSION_TIMEOUT=30

n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n - $*"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $*"
}

# Print each line of stdin as a TAP diagnostic.
diag() {
	sed 's/^/# /'
}

nshims=0
for s in $SHIMS; do
	nshims=$((nshims + 1))
done
echo "1..$((nshims + 2))"

# ------------------------------------------------------- prerequisites --
# One reason that fails every test, or empty.
missing=
for tool in nm readelf; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		missing="$missing${missing:+; }$tool not found (install binutils)"
	fi
done
if ! command -v timeout >/dev/null 2>&1; then
	missing="$missing${missing:+; }timeout not found (install coreutils)"
fi
if [ ! -x "$QEMU_XEN" ]; then
	missing="$missing${missing:+; }$QEMU_XEN not found or not executable (install qemu-system-xen, or set QEMU_XEN)"
fi
if [ -z "$SHIM_DIR" ]; then
	missing="$missing${missing:+; }XENSIM_SHIM_DIR is not set"
elif [ ! -d "$SHIM_DIR" ]; then
	missing="$missing${missing:+; }shim directory $SHIM_DIR does not exist (build the shims first: make shims)"
fi

if [ -n "$missing" ]; then
	for s in $SHIMS; do
		not_ok "$s: $missing"
	done
	not_ok "qemu-xen -version on the shims: $missing"
	not_ok "loader resolves the shimmed sonames to the shim dir: $missing"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-abi.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
SHIM_DIR_P=$(cd "$SHIM_DIR" && pwd -P)

# ----------------------------------------------- what qemu-xen imports --
# "$tmp/imports": one line "soname symbol version" per versioned undefined
# dynamic symbol of qemu-xen.  readelf -V gives, per needed library (File:),
# its nodes (Name:) and their version indices (Version:); readelf --dyn-syms
# shows each symbol as name@node followed by "(index)".
LC_ALL=C readelf -V -W "$QEMU_XEN" >"$tmp/readelf-V" 2>"$tmp/err" &&
	LC_ALL=C readelf -W --dyn-syms "$QEMU_XEN" >"$tmp/dynsyms" 2>>"$tmp/err"
readelf_rc=$?

awk '
/^Version needs section/ { inneed = 1; next }
/^Version (symbols|definition) section/ { inneed = 0; next }
inneed && / File: / {
	for (i = 1; i < NF; i++)
		if ($i == "File:")
			file = $(i + 1)
	next
}
inneed && / Name: / {
	name = ""; idx = ""
	for (i = 1; i < NF; i++) {
		if ($i == "Name:")
			name = $(i + 1)
		if ($i == "Version:")
			idx = $(i + 1)
	}
	if (name != "" && idx != "")
		print idx, file, name
}
' "$tmp/readelf-V" >"$tmp/nodes"

# Symbols: "Num: Value Size Type Bind Vis Ndx Name [(index)]".
awk -v nodes="$tmp/nodes" '
BEGIN {
	while ((getline line < nodes) > 0) {
		split(line, f, " ")
		file[f[1]] = f[2]
		node[f[1]] = f[3]
	}
}
$7 == "UND" && index($8, "@") > 0 {
	at = index($8, "@")
	sym = substr($8, 1, at - 1)
	ver = substr($8, at + 1)
	sub(/^@/, "", ver)
	if (NF < 9 || $9 !~ /^\([0-9]+\)$/) {
		print "? " sym " " ver
		next
	}
	idx = substr($9, 2, length($9) - 2) + 0
	if (!(idx in file)) {
		print "? " sym " " ver
		next
	}
	if (node[idx] != ver)
		print "? " sym " " ver
	else
		print file[idx], sym, ver
}
' "$tmp/dynsyms" | LC_ALL=C sort -u >"$tmp/imports"

# Why the import list cannot be trusted, or empty.
imports_bad=
if [ "$readelf_rc" -ne 0 ]; then
	imports_bad="readelf failed on $QEMU_XEN: $(head -n 1 "$tmp/err")"
elif grep -q '^? ' "$tmp/imports"; then
	imports_bad="readelf output not understood: versioned symbols without a matching version-needs index (binutils too old?): $(grep '^? ' "$tmp/imports" | head -n 3 | cut -d' ' -f2- | tr '\n' ' ')"
fi

# ------------------------------------------------- one test per soname --
for s in $SHIMS; do
	if [ -n "$imports_bad" ]; then
		not_ok "$s: $imports_bad"
		continue
	fi
	awk -v s="$s" '$1 == s { print $2 "@" $3 }' "$tmp/imports" >"$tmp/want"
	nwant=$(wc -l <"$tmp/want" | tr -d ' ')
	if [ "$nwant" -eq 0 ]; then
		not_ok "$s: $QEMU_XEN imports no versioned symbol from $s (not a Xen build of qemu?)"
		continue
	fi
	shim="$SHIM_DIR/$s"
	if [ ! -f "$shim" ]; then
		not_ok "$s: shim $shim missing; qemu-xen needs $nwant symbols from it"
		diag <"$tmp/want"
		continue
	fi
	# Defined dynamic symbols as name@node ("@@" default and "@" hidden
	# versions both satisfy a versioned reference).
	if ! LC_ALL=C nm -D --defined-only --with-symbol-versions "$shim" >"$tmp/nm" 2>"$tmp/err"; then
		not_ok "$s: nm failed on $shim: $(head -n 1 "$tmp/err")"
		continue
	fi
	awk 'NF >= 3 && index($3, "@") > 0 { sub(/@@/, "@", $3); print $3 }' "$tmp/nm" |
		LC_ALL=C sort -u >"$tmp/have"
	LC_ALL=C sort -u "$tmp/want" >"$tmp/want.s"
	LC_ALL=C comm -23 "$tmp/want.s" "$tmp/have" >"$tmp/missing"
	nmiss=$(wc -l <"$tmp/missing" | tr -d ' ')

	# The loader finds the file by name; its SONAME must agree.
	soname=$(LC_ALL=C readelf -d "$shim" 2>/dev/null |
		sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
	problems=
	if [ "$soname" != "$s" ]; then
		problems="SONAME is '${soname:-none}', not $s"
	fi
	if [ "$nmiss" -ne 0 ]; then
		problems="$problems${problems:+; }lacks $nmiss of the $nwant symbols qemu-xen imports: $(tr '\n' ' ' <"$tmp/missing" | sed 's/ $//')"
	fi
	if [ -n "$problems" ]; then
		not_ok "$s: $problems"
	else
		ok "$s defines all $nwant symbols qemu-xen imports from it, with their versions"
	fi
done

# The line of loader/program output that explains a failure best.
first_error() {
	printf '%s\n' "$1" | grep -m 1 -E 'error|not found|cannot|undefined' ||
		printf '%s\n' "$1" | head -n 1
}

# ----------------------------------------------------- the loader test --
out=$(LD_BIND_NOW=1 LD_LIBRARY_PATH="$SHIM_DIR" timeout "$VERSION_TIMEOUT" "$QEMU_XEN" -version 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -q 'QEMU emulator version'; then
	ok "qemu-xen -version loads on the shims with LD_BIND_NOW=1: $(printf '%s\n' "$out" | head -n 1)"
else
	case $rc in
	0) why="exit 0 but no 'QEMU emulator version' line" ;;
	124) why="no exit within ${VERSION_TIMEOUT}s" ;;
	*) why="exit status $rc" ;;
	esac
	not_ok "qemu-xen -version on the shims with LD_BIND_NOW=1: $why: $(first_error "$out")"
	printf '%s\n' "$out" | head -n 20 | diag
fi

# -------------------------------------------------- resolution test --
out=$(LD_TRACE_LOADED_OBJECTS=1 LD_LIBRARY_PATH="$SHIM_DIR" "$QEMU_XEN" 2>&1)
rc=$?
wrong=
for s in $SHIMS; do
	path=$(printf '%s\n' "$out" | awk -v s="$s" '$1 == s && $2 == "=>" { print $3; exit }')
	dir=
	if [ -n "$path" ] && [ -f "$path" ]; then
		dir=$(cd "$(dirname "$path")" && pwd -P)
	fi
	if [ "$dir" != "$SHIM_DIR_P" ]; then
		wrong="$wrong${wrong:+; }$s => ${path:-not found}"
	fi
done
if [ "$rc" -ne 0 ]; then
	not_ok "loader resolves the shimmed sonames to $SHIM_DIR: trace exited with $rc${wrong:+: $wrong}"
	printf '%s\n' "$out" | head -n 20 | diag
elif [ -n "$wrong" ]; then
	not_ok "loader resolves the shimmed sonames to $SHIM_DIR: $wrong"
else
	ok "loader resolves all $nshims shimmed sonames to $SHIM_DIR"
fi

[ "$failed" -eq 0 ]
