#!/usr/bin/env bash
# Creates .venv (once) and installs voxtext, every first-party plugin under plugins/ (in
# development mode, so they are found through their entry points) and the test tools.
# Works on a fresh machine with only Python 3.11 and access to PyPI/Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages some components and tests call (espeak-ng synthesises the default corpus).
need_apt=()
for pkg in espeak-ng; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" --upgrade pip setuptools wheel
# torch and torchaudio must be a matched pair: torchaudio fails to import beside other builds.
"${pip[@]}" 'torch==2.11.*' 'torchaudio==2.11.*'
editables=(-e '.[test,bench]')
for plugin in plugins/voxtext-*/; do
  [ -f "$plugin/pyproject.toml" ] && editables+=(-e "$plugin")
done
"${pip[@]}" "${editables[@]}"
echo "voxtext installed in .venv with plugins: ${editables[*]:2}"
