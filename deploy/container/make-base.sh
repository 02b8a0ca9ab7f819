#!/bin/sh
# The connector image's base, made from Debian packages: no image registry is needed (none is
# reachable on the build machines). Needs root, debootstrap and podman.
#   deploy/container/make-base.sh            -> localhost/debian-bookworm:base
set -eu
MIRROR=${MIRROR:-http://deb.debian.org/debian}
ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$ROOT" "$MIRROR"
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*
tar -C "$ROOT" -c . | podman import - localhost/debian-bookworm:base
