# SPDX-License-Identifier: MIT
# What a cross build against Debian's multiarch layout needs, for the
# triplet a toolchain-<arch>.cmake file sets: the triplet's compiler, the
# libraries and headers of the <arch> dev packages (in /usr/lib/<triplet>
# and /usr/include/<triplet>, found through CMAKE_LIBRARY_ARCHITECTURE),
# and their pkg-config files only, never the build machine's.
#
# The dev packages come either from dpkg (the :<arch> packages installed
# beside the native ones, as for arm64) or, with
# -DSMARTHUB_CROSS_SYSROOT=<dir>, from a directory they were unpacked into
# without touching dpkg (scripts/cross-sysroot, as for armhf): the same
# layout under <dir>, which becomes the compiler's --sysroot.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${SMARTHUB_CROSS_TRIPLET}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${SMARTHUB_CROSS_TRIPLET})

# try_compile() reads this file again in a project of its own: hand it on.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES SMARTHUB_CROSS_SYSROOT)
if(SMARTHUB_CROSS_SYSROOT)
  set(_smarthub_root ${SMARTHUB_CROSS_SYSROOT})
  set(CMAKE_SYSROOT ${_smarthub_root})
  # The unpacked packages' shared libraries name others (libcurl needs
  # libnghttp2, ...) that the linker must find in the sysroot too.
  string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT
         " -Wl,-rpath-link,${_smarthub_root}/lib/${SMARTHUB_CROSS_TRIPLET}"
         " -Wl,-rpath-link,${_smarthub_root}/usr/lib/${SMARTHUB_CROSS_TRIPLET}")
  string(APPEND CMAKE_SHARED_LINKER_FLAGS_INIT
         " -Wl,-rpath-link,${_smarthub_root}/lib/${SMARTHUB_CROSS_TRIPLET}"
         " -Wl,-rpath-link,${_smarthub_root}/usr/lib/${SMARTHUB_CROSS_TRIPLET}")
  string(APPEND CMAKE_MODULE_LINKER_FLAGS_INIT
         " -Wl,-rpath-link,${_smarthub_root}/lib/${SMARTHUB_CROSS_TRIPLET}"
         " -Wl,-rpath-link,${_smarthub_root}/usr/lib/${SMARTHUB_CROSS_TRIPLET}")
  # The build machine's pkg-config, reading the sysroot's .pc files (their
  # prefix=/usr gets the sysroot in front); dpkg-buildpackage names
  # <triplet>-pkg-config, which only the :<arch> pkgconf package installs.
  set(PKG_CONFIG_EXECUTABLE pkg-config CACHE FILEPATH "pkg-config for the sysroot" FORCE)
  set(ENV{PKG_CONFIG_SYSROOT_DIR} ${_smarthub_root})
else()
  set(_smarthub_root /usr)
  unset(ENV{PKG_CONFIG_SYSROOT_DIR})
  unset(ENV{PKG_CONFIG_FDO_SYSROOT_RULES})
endif()

# The target's libraries live under <root>/usr/lib/<triplet>: search there
# for libraries and headers, but run programs (cmake's own helpers) from
# the build machine.
set(CMAKE_FIND_ROOT_PATH ${_smarthub_root})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config reads the environment when CMake runs it: only the target's
# .pc files (yaml-0.1), and no /usr/lib/x86_64-linux-gnu/pkgconfig.
if(SMARTHUB_CROSS_SYSROOT)
  # Also the build machine's /usr/share/pkgconfig, as without a sysroot:
  # systemd.pc (the unit's directory) is architecture-independent and not
  # in the sysroot. The freedesktop rules put the sysroot in front of -I
  # and -L only, so its variables stay the target's paths (/lib/systemd/system).
  set(ENV{PKG_CONFIG_LIBDIR}
      ${_smarthub_root}/usr/lib/${SMARTHUB_CROSS_TRIPLET}/pkgconfig:${_smarthub_root}/usr/share/pkgconfig:/usr/share/pkgconfig)
  set(ENV{PKG_CONFIG_FDO_SYSROOT_RULES} 1)
else()
  set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${SMARTHUB_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig)
endif()
unset(ENV{PKG_CONFIG_PATH})
