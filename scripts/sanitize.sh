#!/bin/sh
# Sanitizer builds, run by CI:
#   scripts/sanitize.sh asan   ASan + UBSan build in build-asan (-O1, line tables only: 40% less
#                              compile time than -O2 -g; UBSan without pointer-overflow, a check
#                              for pointer arithmetic that wraps around the address space, which
#                              alone made a compile a third longer), the whole test
#                              suite but Pacemaker's two cluster tests (label pacemaker: they test
#                              the agent, and the daemons they start run under ASan in every
#                              other test)
#   scripts/sanitize.sh tsan   TSan build in build-tsan, the database, domain and common (metrics)
#                              unit tests
# Any report fails the run (UBSan does not recover; TSan and ASan exit non-zero). Suppressions
# are for omniORB internals only, each with its reason: tests/sanitizers/. Warnings are not
# errors here: GCC 12 reports false "maybe uninitialized" under sanitizer instrumentation (the
# Release build of .ci/run holds the warnings gate).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
SUPP=$PWD/tests/sanitizers
case ${1:-} in
  asan)
    flags="-fsanitize=address,undefined -fno-sanitize=pointer-overflow"
    flags="$flags -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOPENOSERV_WERROR=OFF \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DOPENOSERV_BENCHMARKS=OFF \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
    cmake --build build-asan -j "$(nproc)"
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86"
    export LSAN_OPTIONS="suppressions=$SUPP/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
    export OPENOSERV_SCALE_ENDPOINTS=1000  # endpoint_scale_test: 10,000 TLS sessions are slow under ASan
    export OPENOSERV_SIM_ENDPOINTS=100     # endpoint_sim_test: its 2 s heartbeats, beside another test
    cd build-asan
    ctest --output-on-failure -j "$(nproc)" -LE pacemaker ;;
  tsan)
    cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOPENOSERV_WERROR=OFF \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DOPENOSERV_BENCHMARKS=OFF \
      -DCMAKE_CXX_FLAGS="-fsanitize=thread" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" >/dev/null
    cmake --build build-tsan -j "$(nproc)" --target db_test domain_test common_test
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
    build-tsan/bin/db_test
    build-tsan/bin/domain_test
    build-tsan/bin/common_test ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan" >&2
    exit 2 ;;
esac
