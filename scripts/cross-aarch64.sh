#!/usr/bin/env bash
# A robot's computer (Jetson, Raspberry Pi class: aarch64 Linux): cross-builds the binary with
# Debian's cross gcc and Rust's aarch64 target, takes ONNX Runtime's aarch64 build from its PyPI
# wheel, then, under qemu-user on this machine, runs the core's unit tests and drives a
# simulator lap with the shipped network on tract. Prints the time of each step. Not part of CI
# (the cross build alone takes about nine minutes on two cores).
#
# ONNX Runtime's lap is tried too, but under qemu-user ONNX Runtime crashes in its CPU
# detection (it reads the host's x86 /proc/cpuinfo and /sys topology as an ARM machine's), so
# its failure is reported, not fatal; on aarch64 hardware it reads the machine's own.
#
#   bash scripts/cross-aarch64.sh
#
# The binary is target/aarch64-unknown-linux-gnu/release/pilotnet-brain, with
# libonnxruntime.so beside it: copy that folder and models/ to the robot (docs/robot.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target=aarch64-unknown-linux-gnu
out="$root/target/$target/release"
sysroot=/usr/aarch64-linux-gnu
step() { printf '%s: %s\n' "$(date +%T)" "$*"; }

if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
    step "installing the cross toolchain and qemu-user (apt)"
    apt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user >/dev/null \
        || { apt-get update -qq && apt-get install -y -qq gcc-aarch64-linux-gnu \
            libc6-dev-arm64-cross qemu-user >/dev/null; }
fi
rustup target add "$target" >/dev/null
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $sysroot"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar

start=$SECONDS
step "cross-building the release binary (default features: ONNX Runtime and tract)"
cargo build --release --locked --target "$target"
step "built in $((SECONDS - start)) s: $(file -b "$out/pilotnet-brain" | cut -d, -f1-2)"

ORT_PLATFORM=manylinux_2_28_aarch64 ORT_DEST="$root/.runtimes/onnxruntime-aarch64" \
    bash scripts/setup-ort.sh
cp -L "$root"/.runtimes/onnxruntime-aarch64/libonnxruntime.so* "$out/"

start=$SECONDS
step "the core's unit tests under qemu-aarch64"
cargo test --release --locked --target "$target" --lib -- --skip ros::
step "unit tests took $((SECONDS - start)) s (build included)"

lap() {
    qemu-aarch64 -L "$sysroot" "$out/pilotnet-brain" sim --circuit lakeside --model fp32 \
        --backend "$1"
}
start=$SECONDS
step "a lap on lakeside with the shipped fp32 network on tract, under qemu-aarch64"
lap tract
step "lap on tract took $((SECONDS - start)) s of wall time under emulation"
step "the same lap on ONNX Runtime, under qemu-aarch64"
if lap ort; then
    step "lap on ort done"
else
    step "ONNX Runtime failed under qemu-user (status $?): its CPU detection reads the host's" \
        "x86 CPU description; try this lap on aarch64 hardware"
fi
