#!/usr/bin/env bash
# Make sure Debian's chromium is there for the browser tests; never fail the build over it.
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "[make test] installing Debian's chromium for the browser tests (apt-get)"
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
    exit 0
  fi
fi
echo "################################################################################"
echo "# chromium is not installed and apt-get could not install it:                  #"
echo "# BROWSER TESTS WILL BE SKIPPED. Install Debian's 'chromium' to run them.       #"
echo "################################################################################"
