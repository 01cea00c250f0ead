"""In CI (CI=true) a missing Chromium fails the run; locally it skips with a banner."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NEEDS_BROWSER = "def test_needs_the_browser(chromium_browser):\n    pass\n"


def run_without_chromium(tmp_path, ci: str | None):
    (tmp_path / "test_needs_browser.py").write_text(NEEDS_BROWSER)
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env.update(OXNACK_CHROMIUM=str(tmp_path / "no-chromium-here"), PYTHONPATH=str(ROOT))
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.support.browser",
                           "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("ci", ["true", "1"])
def test_a_missing_browser_fails_the_run_in_ci(tmp_path, ci):
    result = run_without_chromium(tmp_path, ci)
    assert result.returncode != 0, result.stdout
    assert "BROWSER TESTS CANNOT RUN IN CI" in result.stdout and "1 error" in result.stdout


def test_a_missing_browser_skips_loudly_outside_ci(tmp_path):
    result = run_without_chromium(tmp_path, None)
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout and "BROWSER TESTS WERE SKIPPED" in result.stdout
