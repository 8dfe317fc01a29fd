#!/usr/bin/env bash
# Installs the real VS Code that the extension's end-to-end tests drive: code-server (pinned in
# package.json beside this script; 4.100.3 = VS Code 1.100.3, runs on Node 20) plus Debian's
# Chromium, into ./node_modules of this folder. This folder is NOT an npm workspace: the root
# `npm ci` never installs it (code-server's own postinstall fails as root and wants GitHub).
#
#   bash extension/e2e/vscode-host/install.sh [--force]
#
# Idempotent: when ./.installed holds the expected stamp and the tree is there, it only checks the
# apt packages and exits. --force reinstalls. Any failure stops with "install.sh: FAILED: <step>".
#
# What it does (see shared research notes "vscode-host.md" for why each step is needed):
#   1. apt: chromium, libkrb5-dev (kerberos native module), ripgrep (replaces @vscode/ripgrep's
#      GitHub download), and the native build tools, each only when missing; `apt-get update`
#      at most once, only when a package has no candidate or an install fails.
#   2. npm ci --ignore-scripts here (code-server's postinstall.sh is replayed by hand below).
#   3. npm rebuild argon2 (native, loaded at startup even with --auth none).
#   4. lib/vscode: npm install --omit=dev --ignore-scripts; link /usr/bin/rg into @vscode/ripgrep/bin;
#      npm_config_yes=true npm rebuild (node-pty, spdlog, kerberos, native-watchdog, ...).
#   5. The rest of postinstall.sh: node_modules.asar link, the two bin script links, and
#      `npm install --omit=dev` in lib/vscode/extensions.
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STAMP="$HERE/.installed"
CS="$HERE/node_modules/code-server"
VSC="$CS/lib/vscode"

STEP="start"
step() { STEP="$1"; echo "install.sh: [${SECONDS}s] $STEP" >&2; }
die() { echo "install.sh: FAILED: $*" >&2; exit 1; }
trap 'rc=$?; echo "install.sh: FAILED (exit $rc) during step: $STEP" >&2; exit $rc' ERR

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$arg' (usage: install.sh [--force])" ;;
  esac
done

command -v node >/dev/null || die "node is not on PATH"
command -v npm >/dev/null || die "npm is not on PATH"
VERSION="$(node -p "require(process.argv[1]).dependencies['code-server']" "$HERE/package.json")"
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "package.json must pin an exact code-server version, found '$VERSION'"
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
# The stamp records what the native modules were built for: a different Node ABI needs a rebuild.
EXPECTED_STAMP="code-server@$VERSION node-abi=$(node -p process.versions.modules)"

# ---------------------------------------------------------------------------------------------
# 1. apt packages, only the missing ones.
step "checking system packages"
missing=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -f /usr/include/gssapi/gssapi.h ]] || missing+=(libkrb5-dev)
[[ -x /usr/bin/rg ]] || missing+=(ripgrep)
have_cmd make || missing+=(make)
have_cmd g++ || missing+=(g++)
have_cmd python3 || missing+=(python3)
have_cmd pkg-config || missing+=(pkg-config)

if ((${#missing[@]})); then
  step "apt-get install ${missing[*]}"
  SUDO=()
  if [[ "$(id -u)" != 0 ]]; then
    have_cmd sudo || die "need root (or sudo) to apt-get install: ${missing[*]}"
    SUDO=(sudo)
  fi
  have_cmd apt-get || die "apt-get not found; install these yourself: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  updated=0
  apt_update() {
    ((updated)) && return 0
    updated=1
    echo "install.sh: apt-get update" >&2
    "${SUDO[@]}" apt-get update -q || die "apt-get update failed (is the Debian mirror reachable?)"
  }
  for pkg in "${missing[@]}"; do
    cand="$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: *//p')"
    if [[ -z "$cand" || "$cand" == "(none)" ]]; then apt_update; break; fi
  done
  if ! "${SUDO[@]}" apt-get install -y -q "${missing[@]}"; then
    ((updated)) && die "apt-get install ${missing[*]} failed"
    apt_update
    "${SUDO[@]}" apt-get install -y -q "${missing[@]}" || die "apt-get install ${missing[*]} failed"
  fi
fi
[[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium is still missing after apt-get install chromium"
[[ -x /usr/bin/rg ]] || die "/usr/bin/rg is still missing after apt-get install ripgrep"
[[ -f /usr/include/gssapi/gssapi.h ]] || die "gssapi headers still missing after apt-get install libkrb5-dev"

# ---------------------------------------------------------------------------------------------
# Already installed?
if ((FORCE == 0)) && [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$EXPECTED_STAMP" ]] \
  && [[ -f "$CS/out/node/entry.js" && -e "$VSC/node_modules.asar" ]]; then
  echo "install.sh: $EXPECTED_STAMP already installed in $HERE (use --force to reinstall)" >&2
  exit 0
fi
rm -f "$STAMP"

[[ "$NODE_MAJOR" == 20 ]] || die "code-server@$VERSION needs Node 20, this is Node $(node -v)"

# node-gyp must build against the local Node headers: it cannot download them here.
if [[ -f /usr/include/node/node.h ]]; then
  export npm_config_nodedir=/usr
elif [[ -z "${npm_config_nodedir:-}" ]]; then
  die "no Node headers at /usr/include/node (install Node from a package that ships them, or set npm_config_nodedir)"
fi
# node-pty's install script runs `npx node-gyp`, which must not stop to ask (~/.npmrc may say yes=false).
export npm_config_yes=true
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

# ---------------------------------------------------------------------------------------------
# 2. code-server itself, without its postinstall (which refuses to run as root under npm 11).
cd "$HERE"
if [[ -f package-lock.json ]]; then
  step "npm ci --ignore-scripts (code-server@$VERSION)"
  npm ci --ignore-scripts --no-audit --no-fund
else
  step "npm install --ignore-scripts (code-server@$VERSION)"
  npm install --ignore-scripts --no-audit --no-fund
fi
[[ "$(node -p "require('$CS/package.json').version")" == "$VERSION" ]] || die "node_modules/code-server is not version $VERSION"

# 3. argon2: native, required at startup.
step "npm rebuild argon2"
npm rebuild argon2

# ---------------------------------------------------------------------------------------------
# 4. VS Code's own dependencies (what postinstall.sh's `npm install` in lib/vscode does).
cd "$VSC"
# `npm install`, not `npm ci`: the shipped npm-shrinkwrap.json is out of sync with package.json
# ("Missing: tslib@2.9.1 from lock file"), so npm ci refuses; install still follows the shrinkwrap.
step "lib/vscode: npm install --omit=dev --ignore-scripts"
npm install --omit=dev --ignore-scripts --no-audit --no-fund
step "lib/vscode: link /usr/bin/rg as @vscode/ripgrep's binary"
[[ -d node_modules/@vscode/ripgrep ]] || die "node_modules/@vscode/ripgrep missing in lib/vscode"
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sfn /usr/bin/rg node_modules/@vscode/ripgrep/bin/rg
step "lib/vscode: npm rebuild (native modules: node-pty, spdlog, kerberos, ...)"
npm rebuild

# ---------------------------------------------------------------------------------------------
# 5. The rest of postinstall.sh.
step "replaying code-server postinstall links"
rm -rf node_modules.asar && ln -s node_modules node_modules.asar
(cd bin/remote-cli && rm -rf code-server && ln -s code-linux.sh code-server)
(cd bin/helpers && rm -rf browser.sh && ln -s browser-linux.sh browser.sh)
step "lib/vscode/extensions: npm install --omit=dev"
(cd extensions && npm install --omit=dev --no-audit --no-fund --no-package-lock)

# ---------------------------------------------------------------------------------------------
step "smoke check: code-server --version"
# Keep code-server from writing into ~ even for --version.
tmp="$(mktemp -d)"
out="$(XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data" XDG_CACHE_HOME="$tmp/cache" \
  node "$CS/out/node/entry.js" --version 2>&1)" || { rm -rf "$tmp"; die "code-server --version failed: $out"; }
rm -rf "$tmp"
# It may first log "Wrote default config file ..."; the version line starts with the version.
line="$(grep -E "^$VERSION " <<<"$out" || true)"
[[ -n "$line" ]] || die "code-server --version printed '$out', expected a line starting with $VERSION"
echo "install.sh: code-server --version: $line" >&2

echo "$EXPECTED_STAMP" >"$STAMP"
echo "install.sh: installed $EXPECTED_STAMP in $HERE in ${SECONDS}s" >&2
