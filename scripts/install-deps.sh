#!/usr/bin/env bash
# Installs Talon's build and test dependencies from Debian 12's packages (STYLE.md lists them).
# Idempotent. Runs apt-get through sudo when not root.
#   usage: scripts/install-deps.sh
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsodium-dev libsqlite3-dev libsqlitecpp-dev libcurl4-openssl-dev
  libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-format python3 curl
  libhowardhinnant-date-dev tzdata  # date/tz: cron schedules in IANA time zones (system zoneinfo)
  clang libclang-rt-14-dev  # the fuzz targets: libFuzzer with ASan/UBSan (scripts/fuzz.sh)
  ngircd    # the IRC channel's tests start their own server on a loopback port
  libmosquitto-dev mosquitto  # the MQTT channel; its tests start their own broker
  libstrophe-dev prosody  # the XMPP channel; its tests start their own Prosody
  python3-aiosmtpd  # the email alert and email channel tests start their own SMTP server on a loopback port
  libgmime-3.0-dev  # the email channel: MIME parsing and rendering (GMime 3)
  dovecot-imapd  # the email channel's tests start their own IMAP server on a loopback port
  postfix libsasl2-modules  # ...and a private Postfix instance as the SMTP server (SASL PLAIN for its relay)
  chromium  # the WebChat end-to-end test (headless, driven by playwright-core)
  openssh-server openssh-client  # the fleet's ssh provider (ssh, scp); its tests start their own sshd
  libyaml-cpp-dev docker-compose  # fleet render's compose files and manifests; `docker-compose config` checks them offline
  prometheus  # promtool: `promtool check metrics` lints GET /metrics (metrics_e2e_test, metrics_registry_test)
)
missing=()
# Node.js and npm run the conformance tests; a machine that already has them (any vendor) keeps its own.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
# kubectl checks the rendered Kubernetes manifests offline (`kubectl set env --local`); any vendor's will do.
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  # Postfix only runs as the tests' private instances: no system mail configuration (and no system MTA).
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all packages present"
