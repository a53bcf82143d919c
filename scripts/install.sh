#!/usr/bin/env bash
# Creates .venv (once) and installs, from requirements/lock.txt only, the exact versions voxtext,
# every first-party plugin and the test/bench tools were tested with; then installs voxtext
# and the plugins under plugins/ in development mode (found through their entry points) and
# checks that the stack imports (`voxtext doctor`). Works on a fresh machine with only
# Python 3.11 and access to PyPI/Debian. The lock is refreshed with `bash scripts/lock.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages some components and tests call (espeak-ng synthesises the default corpus;
# headless chromium screenshots the HTML fairness report in scripts/screenshot_report.py).
need_apt=()
for pkg in espeak-ng chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
# Everything third-party comes from the lock, checked against its hashes; --no-deps so that
# nothing outside it is pulled in (pip check below proves the lock is complete).
"${pip[@]}" --no-deps --require-hashes -r requirements/lock.txt
editables=(-e .)
for plugin in plugins/voxtext-*/; do
  [ -f "$plugin/pyproject.toml" ] && editables+=(-e "$plugin")
done
# No build isolation: the editable installs are built with the locked setuptools.
"${pip[@]}" --no-deps --no-build-isolation "${editables[@]}"
if ! .venv/bin/python -m pip check; then
  echo "install.sh: the installed packages do not satisfy each other's requirements (above);" \
    "refresh the lock with 'bash scripts/lock.sh' and run the tests" >&2
  exit 1
fi
echo "voxtext installed in .venv with plugins: ${editables[*]:2}"
# Imports the whole stack in a child process; names the package and version that fails.
.venv/bin/voxtext doctor
