# SPDX-License-Identifier: MIT
# What a cross build against Debian's multiarch layout needs, for the
# triplet a toolchain-<arch>.cmake file sets: the triplet's compiler, the
# libraries and headers of the :<arch> dev packages (in /usr/lib/<triplet>
# and /usr/include/<triplet>, found through CMAKE_LIBRARY_ARCHITECTURE),
# and their pkg-config files only, never the build machine's.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${SMARTHUB_CROSS_TRIPLET}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${SMARTHUB_CROSS_TRIPLET})

# /usr holds the target's libraries under /usr/lib/<triplet>: search it for
# libraries and headers, but run programs (cmake's own helpers) from the
# build machine.
set(CMAKE_FIND_ROOT_PATH /usr)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config reads the environment when CMake runs it: only the target's
# .pc files (yaml-0.1), and no /usr/lib/x86_64-linux-gnu/pkgconfig.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${SMARTHUB_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig)
unset(ENV{PKG_CONFIG_PATH})
