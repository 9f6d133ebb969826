#!/usr/bin/env bash
# The published harness's own tests, run from its packaged files the way a user of the crate would run them:
# both crates packaged now, unpacked under target/package-test/, and `cargo test` in the harness's, with
# mock-idp taken from its packaged copy (it is not on crates.io yet). Catches a file the package leaves out
# or a dependency feature that only the workspace's unification turned on.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' harness/Cargo.toml | head -1)
cargo package -q --no-verify --allow-dirty -p mock-idp -p mock-idp-harness
target="${CARGO_TARGET_DIR:-$PWD/target}"
mkdir -p "$target" && target="$(cd "$target" && pwd)"
scratch="$target/package-test"
rm -rf "$scratch/mock-idp-$version" "$scratch/mock-idp-harness-$version"
mkdir -p "$scratch"
for crate in mock-idp mock-idp-harness; do
  tar -xzf "$target/package/$crate-$version.crate" -C "$scratch"
done
cd "$scratch/mock-idp-harness-$version"
CARGO_TARGET_DIR="$scratch/target" cargo test --config "patch.crates-io.mock-idp.path=\"$scratch/mock-idp-$version\""
