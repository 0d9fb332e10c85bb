#!/usr/bin/env bash
# Installs the Debian packages the tests need (Chromium for the UI, build deps for code-server's
# native modules, ripgrep that code-server's search uses, sshd/rsync/Slurm for the launcher tests).
# Skips apt entirely when every package is already present.
set -euo pipefail
pkgs=(chromium ripgrep libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config build-essential python3
      openssh-server openssh-client rsync unzip slurmctld slurmd slurm-client munge procps iproute2)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system deps: all present"
  exit 0
fi
echo "system deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system deps: done"
