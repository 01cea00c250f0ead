#!/usr/bin/env bash
# The benches drive the app with wrk (Debian's package): installed with apt when missing.
if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "[make bench] installing Debian's wrk (apt-get)"
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; then
    exit 0
  fi
fi
echo "[make bench] wrk is not installed and apt-get could not install it: install Debian's 'wrk'" >&2
exit 1
