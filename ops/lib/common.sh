# Shared by ops/run, ops/test and .ci/run: install the Debian packages the project needs
# (only those missing; `apt-get update` at most once), then configure and build Release.
# Source it; it changes nothing unless something is missing or out of date.

# Every package the build, the tests and the tools need, from Debian 12's archive.
CUSTOS_PACKAGES=(
  g++ cmake ninja-build pkg-config
  libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
  librocksdb-dev rocksdb-tools libjemalloc-dev
  librdkafka-dev kcat
  libsimdjson-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev libsodium-dev libutf8proc-dev libcurl4-openssl-dev
  python3 python3-requests python3-jwt python3-cryptography python3-confluent-kafka
  python3-aiosmtpd python3-pyotp curl systemd
  prometheus
  chromium
)

custos_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

custos_missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

# custos_ensure_packages [extra packages…]
# Node.js and npm build the console (api/console): Debian's nodejs and npm, unless a node with
# its own npm is installed already (nodesource's nodejs package carries npm and conflicts with
# Debian's).
custos_ensure_packages() {
  local missing extra=()
  command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 || extra=(nodejs npm)
  missing=$(custos_missing_packages "${CUSTOS_PACKAGES[@]}" "${extra[@]}" "$@")
  [ -z "$missing" ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "ops: these Debian packages are missing and this is not root (no sudo):" $missing >&2
      return 1
    fi
  fi
  custos_log "installing Debian packages:" $missing
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
}

# Configures (once) and builds the Release preset into build/.
custos_build_release() {
  if [ ! -f build/build.ninja ]; then
    custos_log "configuring (cmake --preset release)"
    cmake --preset release >/dev/null
  fi
  custos_log "building (cmake --build --preset release)"
  cmake --build --preset release
}

# Lints api/openapi.yaml with Redocly's CLI (npm registry, pinned), installed under build/.
REDOCLY_VERSION=2.77.0
custos_lint_openapi() {
  if ! command -v npm >/dev/null 2>&1; then custos_ensure_packages nodejs npm; fi
  local prefix=build/node
  if [ ! -x "$prefix/node_modules/.bin/redocly" ] ||
     ! grep -q "\"version\": \"$REDOCLY_VERSION\"" "$prefix/node_modules/@redocly/cli/package.json" 2>/dev/null; then
    custos_log "installing @redocly/cli@$REDOCLY_VERSION (npm) into $prefix"
    npm install --silent --no-audit --no-fund --prefix "$prefix" "@redocly/cli@$REDOCLY_VERSION" >/dev/null
  fi
  # Recommended rules, less one: /console/ is the console's address, and a trailing slash is
  # what a browser's address for a directory-style page has.
  custos_log "linting api/openapi.yaml (redocly lint, recommended rules)"
  REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
    "$prefix/node_modules/.bin/redocly" lint --format=summary \
    --skip-rule=no-path-trailing-slash api/openapi.yaml
}
