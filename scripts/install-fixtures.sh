#!/usr/bin/env bash
# Installs the third-party client libraries of harness/tests/fixtures/libs/ and
# harness/tests/fixtures/persona-libs/ from the package registries, the way their users install them: a
# Python virtual environment from requirements.txt (pinned) and `npm ci` from each package-lock.json.
# Installs python3-venv and Node.js from Debian first where they are missing.
# The virtual environment goes to $CARGO_TARGET_DIR/fixture-venv (default target/fixture-venv), where
# harness/tests/real_backends.rs and harness/tests/persona_libs.rs look for it.
set -euo pipefail
cd "$(dirname "$0")/.."
libs=harness/tests/fixtures/libs
persona_libs=harness/tests/fixtures/persona-libs
target="${CARGO_TARGET_DIR:-$PWD/target}"

need_apt=()
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

venv="$target/fixture-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# One venv for every Python fixture: the backends' and each persona library's pinned requirements.
reqs=(-r "$libs/flask-authlib/requirements.txt" -r "$persona_libs/python/requirements.txt")
for f in "$persona_libs"/*-python/requirements.txt; do
  reqs+=(-r "$f")
done
"$venv/bin/pip" install --quiet --disable-pip-version-check "${reqs[@]}"

for dir in "$libs/express-openid-connect" "$libs/authjs" "$persona_libs/node" "$persona_libs"/*-node; do
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
done

# Entra persona (issue 24): Auth.js's built-in Microsoft Entra ID provider, MSAL Python.
npm ci --prefix "$persona_libs/entra-node" --no-audit --no-fund --loglevel=error
