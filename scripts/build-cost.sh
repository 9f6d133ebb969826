#!/usr/bin/env bash
# What adding mock-idp to a project's tests costs, next to the usual choice today (wiremock): two tiny crates
# in a scratch directory, each a binary that starts one server on 127.0.0.1, built from clean in debug with
# their own lock files (what a dependant resolves). Prints the normal-tree crate count and the wall time of
# `cargo build` for each; then the same pair with reqwest beside it (the HTTP client a test drives either
# server with; its default TLS is rustls on aws-lc-rs, the C library that is most of mock-idp's build).
# Usage: scripts/build-cost.sh [scratch dir]   (needs the crates.io index)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${1:-$(mktemp -d)}"
mkdir -p "$scratch"

make_crate() { # name, dependency lines, main.rs
  mkdir -p "$scratch/$1/src"
  cat >"$scratch/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.1.0"
edition = "2024"

[dependencies]
tokio = { version = "1", features = ["macros", "rt"] }
$2
TOML
  printf '%s\n' "$3" >"$scratch/$1/src/main.rs"
}

make_crate tiny-mock-idp "mock-idp = { path = \"$repo/mock-idp\", default-features = false }" '
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let idp = mock_idp::MockIdp::start(mock_idp::Config::builtin()).await.expect("starts");
    println!("{}", idp.issuer());
}'
make_crate tiny-wiremock 'wiremock = "0.6"' '
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let server = wiremock::MockServer::start().await;
    println!("{}", server.uri());
}'

make_crate tiny-mock-idp-reqwest "mock-idp = { path = \"$repo/mock-idp\", default-features = false }
reqwest = \"0.13\"" "$(cat "$scratch/tiny-mock-idp/src/main.rs")"
make_crate tiny-wiremock-reqwest 'wiremock = "0.6"
reqwest = "0.13"' "$(cat "$scratch/tiny-wiremock/src/main.rs")"

printf '%-22s %8s %14s\n' crate crates "clean build s"
for name in tiny-mock-idp tiny-wiremock tiny-mock-idp-reqwest tiny-wiremock-reqwest; do
  dir="$scratch/$name"
  (cd "$dir" && cargo generate-lockfile -q)
  crates=$(cd "$dir" && cargo tree -e normal --prefix none -q | sed 's/ (\*)//' | sort -u | wc -l)
  rm -rf "$dir/target"
  start=$(date +%s.%N)
  (cd "$dir" && CARGO_TARGET_DIR="$dir/target" cargo build -q)
  end=$(date +%s.%N)
  make_crate tiny-mock-idp-reqwest "mock-idp = { path = \"$repo/mock-idp\", default-features = false }
reqwest = \"0.13\"" "$(cat "$scratch/tiny-mock-idp/src/main.rs")"
make_crate tiny-wiremock-reqwest 'wiremock = "0.6"
reqwest = "0.13"' "$(cat "$scratch/tiny-wiremock/src/main.rs")"

printf '%-22s %8d %14.1f\n' "$name" "$crates" "$(echo "$end - $start" | bc)"
done
