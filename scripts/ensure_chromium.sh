#!/usr/bin/env bash
# Make sure Debian's chromium is there for the browser tests. Locally a missing browser only
# warns (the tests skip with a banner); in CI (CI=true) it fails the build, as the tests then do.
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "[make test] installing Debian's chromium for the browser tests (apt-get)"
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
    exit 0
  fi
fi
case "${CI:-}" in
  1|true|TRUE|True|yes)
    echo "[make test] CI=true and chromium is not installed (apt-get could not install it): failing" >&2
    exit 1 ;;
esac
echo "################################################################################"
echo "# chromium is not installed and apt-get could not install it:                  #"
echo "# BROWSER TESTS WILL BE SKIPPED. Install Debian's 'chromium' to run them.       #"
echo "################################################################################"
