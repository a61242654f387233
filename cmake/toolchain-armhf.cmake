# SPDX-License-Identifier: MIT
# Cross-compiling for 32-bit ARM hard-float (Raspberry Pi OS 32-bit; ARMv7
# as Debian's armhf) with crossbuild-essential-armhf and the :armhf dev
# packages. See toolchain-arm64.cmake.
set(SMARTHUB_CROSS_TRIPLET arm-linux-gnueabihf)
set(CMAKE_SYSTEM_PROCESSOR arm)
include(${CMAKE_CURRENT_LIST_DIR}/cross-debian.cmake)
