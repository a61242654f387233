# shellcheck shell=bash disable=SC2154,SC2034 # scripts/test owns root, the totals and ctest_*
# SPDX-License-Identifier: MIT
#
# Sourced by scripts/test: the suite cross-built for another architecture
# and run under qemu-user (scripts/test --arch arm64), and CI's steps for
# it and for the Debian package. Uses scripts/test's run_suite, ctest_args,
# ctest_runner and totals.

# Tests left out under qemu, each with the reason, printed with the run.
declare -A cross_skips=(
	[lint/shellcheck]="checks the shell scripts with the build machine's shellcheck; nothing in it is built for the target (the native suite runs it)"
	[systemd/verify]="systemd-analyze verify is the build machine's and only reads the unit file (the native suite runs it)"
)
# Single Criterion tests (suite/test) left out, the rest of their program runs.
declare -A cross_skip_cases=(
	[exec/missing_tool_fails_the_connect]="qemu-user runs posix_spawn's CLONE_VM|CLONE_VFORK child as a plain fork, so exec's failure never reaches the daemon: it sees exit status 127, not 'cannot run' (on a Pi posix_spawnp reports ENOENT)"
)
# The test process makes itself a subreaper to adopt the group's
# straggler; qemu-user 7.2 answers prctl(PR_SET_CHILD_SUBREAPER) with
# EINVAL (not implemented), so these four cannot set up under qemu.
subreaper="needs prctl(PR_SET_CHILD_SUBREAPER), which qemu-user 7.2 refuses with EINVAL (a Pi's kernel has it)"
for name in exited_unreaped_child_still_owns_its_group running_child_and_its_group_are_signalled \
	stragglers_of_a_child_reaped_elsewhere_are_signalled stragglers_of_a_reaped_child_are_signalled; do
	cross_skip_cases[exec_group/$name]=$subreaper
done
unset subreaper name

# cross_suite <arch>: configures build-<arch>/ with cmake/toolchain-<arch>.cmake,
# builds, and runs ctest inside scripts/qemu-userns, where the kernel
# starts qemu-user for every <arch> program (the test, Criterion's workers,
# the daemon) while mosquitto and mpd run natively: the daemon under test
# talks TCP to them as on a Pi. The <arch> Criterion runtime is the one
# install-deps unpacked into .cache/cross/<arch>; for an architecture built
# from a sysroot (armhf, see scripts/cross-sysroot) everything is in the
# sysroot, Criterion included, and qemu takes it as the root it looks in
# first for the dynamic loader and the libraries (QEMU_LD_PREFIX).
cross_suite() {
	local arch=$1 cpu triplet
	case $arch in
	arm64) cpu=aarch64 triplet=aarch64-linux-gnu ;;
	armhf) cpu=arm triplet=arm-linux-gnueabihf ;;
	*)
		echo "scripts/test: --arch must be arm64 or armhf, not $arch" >&2
		total_failed=$((total_failed + 1))
		return 0
		;;
	esac
	"$root/scripts/install-deps" --test --arch "$arch"
	local sysroot lib skip_re='' name cross_env=() cross_cmake=()
	sysroot=$("$root/scripts/cross-sysroot" --path "$arch")
	if [[ -n $sysroot ]]; then
		lib=$sysroot/usr/lib/$triplet
		cross_env=("QEMU_LD_PREFIX=$sysroot")
		cross_cmake=("-DSMARTHUB_CROSS_SYSROOT=$sysroot")
	else
		lib=$root/.cache/cross/$arch/usr/lib/$triplet
		cross_env=("LD_LIBRARY_PATH=$lib")
	fi
	echo "== left out under qemu ($arch):"
	for name in "${!cross_skips[@]}"; do
		echo "  $name: ${cross_skips[$name]}"
		skip_re+="${skip_re:+|}^$name\$"
	done
	local cases=''
	for name in "${!cross_skip_cases[@]}"; do
		echo "  $name (Criterion test): ${cross_skip_cases[$name]}"
		cases+="${cases:+|}$name"
	done
	local saved_args=("${ctest_args[@]}")
	ctest_args=(-E "$skip_re" "${ctest_args[@]}")
	# Criterion's own filter, for every program: all but those cases.
	ctest_runner=(env "${cross_env[@]}" "CRITERION_TEST_PATTERN=!($cases)"
		"$root/scripts/qemu-userns" "$arch" --)
	# Under qemu every program is CPU-bound: one test per core.
	local start=$SECONDS ctest_jobs=${SMARTHUB_CTEST_JOBS:-$jobs}
	run_suite "${SMARTHUB_CROSS_BUILD_DIR:-build-$arch}" \
		-DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-$arch.cmake" "${cross_cmake[@]}" \
		-DCMAKE_CROSSCOMPILING_EMULATOR="qemu-$cpu-static" \
		-DSMARTHUB_SANITIZE=OFF -DSMARTHUB_BENCH=OFF \
		-DCRITERION_LIBRARY="$lib/libcriterion.so.3" \
		-DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$lib"
	echo "== $arch suite: $((SECONDS - start)) s (cross-build and qemu run)"
	ctest_runner=()
	ctest_args=("${saved_args[@]}")
}

# CI's share: the arm64 unit tests and one integration test (the arm64
# daemon against the native broker), then the amd64 package installed,
# upgraded and purged on this machine when that is safe (scripts/package-test
# says why not otherwise, and CI then counts it as failed only if it runs
# as root without systemd, where it must work).
# SMARTHUB_CI_ARMHF=1 runs the same for armhf after arm64: off by default,
# as it costs about 4 minutes on a fresh clone (the sysroot, Criterion
# built for armhf, the cross-build) and CI has about 20 in all.
ci_cross_and_package() {
	local saved_args=("${ctest_args[@]}") a arches=(arm64)
	[[ ${SMARTHUB_CI_ARMHF:-0} == 1 ]] && arches+=(armhf)
	ctest_args=(-R '^(unit/.*|integration/test_mqtt)$')
	for a in "${arches[@]}"; do
		cross_suite "$a"
	done
	ctest_args=("${saved_args[@]}")

	if ((EUID != 0)) || [[ -d /run/systemd/system ]]; then
		echo "== scripts/package-test left out: it installs the package, so it runs only as root" \
			"on a machine that systemd does not run (a container, as CI)"
		return 0
	fi
	echo "== scripts/package-test"
	local start=$SECONDS
	if "$root/scripts/package-test"; then
		total_passed=$((total_passed + 1))
	else
		echo "scripts/test: scripts/package-test failed" >&2
		total_failed=$((total_failed + 1))
	fi
	echo "== package build and test: $((SECONDS - start)) s"
}
