# SPDX-License-Identifier: MIT
# Cross-compiling for 64-bit ARM (Raspberry Pi 3/4/5 with a 64-bit OS) with
# Debian's crossbuild-essential-arm64 and the :arm64 dev packages
# (dpkg --add-architecture arm64; scripts/install-deps --arch arm64 does
# both). scripts/test --arch arm64 uses it; the Debian package build does
# not need it, since dpkg-buildpackage -a arm64 passes the same settings.
set(SMARTHUB_CROSS_TRIPLET aarch64-linux-gnu)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/cross-debian.cmake)
