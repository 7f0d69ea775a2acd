#!/bin/sh
# Installs the Debian 12 packages bert.c needs to build, test and run its demo
# (wordnet-base: the text of the demo's pretraining corpus and classification task).
# (libopenmpi-dev, openmpi-bin: data-parallel training, docs/distributed.md;
# clang, libfuzzer-14-dev, libomp-14-dev: the fuzz harnesses, docs/fuzzing.md).
# As root it runs apt-get; otherwise (or with --print) it prints the command.
set -e
PACKAGES="build-essential pkg-config libblis-dev libdnnl-dev check libcjson-dev libutf8proc-dev libopenmpi-dev openmpi-bin gnuplot-nox wordnet-base clang libfuzzer-14-dev libomp-14-dev"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$1" = "--print" ] || [ "$(id -u)" != 0 ]; then
  echo "  sudo apt-get install -y$missing"
  [ "$1" = "--print" ] && exit 0
  exit 1
fi
echo "bert.c: installing missing Debian packages:$missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
