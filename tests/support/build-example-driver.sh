#!/bin/sh
# SPDX-License-Identifier: MIT
# The out-of-tree path a driver author takes, for the ctest fixture of
# integration/test_example_driver: install smarthub into a DESTDIR under
# the build tree, then build examples/driver with its own Makefile and
# nothing but that install's smarthub-plugin.pc.
# Usage: build-example-driver.sh <build dir> <source dir> <output dir>
set -eu
build=$1 src=$2 out=$3
root=$build/example-destdir
rm -rf "$root" "$out"
DESTDIR=$root cmake --install "$build" >"$build/example-install.log"
pc=$(find "$root" -name smarthub-plugin.pc -print | head -n 1)
[ -n "$pc" ] || { echo "no smarthub-plugin.pc under $root" >&2; exit 1; }
mkdir -p "$out"
cp "$src/examples/driver/example.c" "$src/examples/driver/Makefile" "$out/"
PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$root \
	make -C "$out" CFLAGS="-O2 -g -Wall -Wextra -Werror" example.so
