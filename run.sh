#!/usr/bin/env bash
# Set up a Debian 12 machine, build hypercomp in Release, then run the main job or the tests.
#
#   ./run.sh train [key=value ...]   install what is missing, build, train on configs/default.yaml
#   ./run.sh test                    install what is missing, build, run the whole test suite
#
# Idempotent: packages already installed are not touched, and an up-to-date build is not redone.
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(
  build-essential cmake pkg-config
  libtorch-dev libopenblas0-openmp     # tensors and autograd, on an optimized BLAS
  libdnnl-dev                          # bfloat16 matrix products (oneDNN, which LibTorch links)
  libgloo-dev                          # headers of the collectives c10d runs on (distributed)
  libtbb-dev libyaml-cpp-dev           # parallelism, configs
  libcli11-dev libspdlog-dev nlohmann-json3-dev
  libgtest-dev libbenchmark-dev        # tests, benchmarks
  libbox2d-dev                         # physics
  libsfml-dev libfreetype-dev fonts-dejavu-core libgif-dev xvfb xauth  # rendering, plots, GIFs
  pybind11-dev python3-dev python3-numpy python3-pytest  # the Python package and its tests
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing ${#missing[@]} missing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

jobs=$(nproc)
mkdir -p build
if [ ! -f build/CMakeCache.txt ]; then
  echo "configuring; log: build/configure.log"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >build/configure.log 2>&1 ||
    { cat build/configure.log; exit 1; }
fi
# The build's percentage as it goes: on a terminal one line that updates, else a line at every
# tenth (a first build takes about ten minutes on two cores).
progress() {
  local shown=-1 tenth=-1 pct line
  while IFS= read -r line; do
    [[ $line =~ ^\[\ *([0-9]+)%\] ]] || continue
    pct=${BASH_REMATCH[1]}
    if [ -t 1 ]; then
      ((pct != shown)) && printf '\r  building: %3d%%' "$pct"
    elif ((pct / 10 > tenth)); then
      echo "  building: $pct%"
      tenth=$((pct / 10))
    fi
    shown=$pct
  done
  [ -t 1 ] && ((shown >= 0)) && echo
  return 0
}
echo "building hypercomp (Release, $jobs jobs); log: build/build.log"
if ! cmake --build build -j"$jobs" 2>&1 | tee build/build.log | progress; then
  grep -E "error|Error" -A5 build/build.log | head -80
  echo "build failed; full log: build/build.log"
  exit 1
fi

mode=${1:-}
shift || true
case "$mode" in
  train)
    exec build/app/hypercomp train configs/default.yaml "$@"
    ;;
  test)
    cd build
    exec ctest --output-on-failure -j"$jobs" --timeout 1200
    ;;
  *)
    echo "usage: ./run.sh train [key=value ...] | ./run.sh test" >&2
    exit 2
    ;;
esac
