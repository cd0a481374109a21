#!/usr/bin/env bash
# Build the single-file clinicnet executable for this platform (Linux here; the
# Windows line is in packaging/README.md, same spec).
#
#   bash packaging/build-exe.sh [DISTDIR]        (default: dist/)
#
# Needs: the runtime dependencies installed in this Python (pip install -e .) and
# pyinstaller (pip install pyinstaller). Set CLINICNET_WITH_SCAPY=1 to bundle scapy.
# Writes DISTDIR/clinicnet and DISTDIR/THIRD_PARTY_NOTICES.txt (the same notices
# are inside the executable: clinicnet --licenses), and refreshes the checked-in
# packaging/THIRD_PARTY_NOTICES.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
dist="${1:-dist}"
work="${CLINICNET_BUILD_DIR:-build/pyinstaller}"
# the project's venv (dev/install) when there is one: a stock Debian python3 lacks the dependencies
if [ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; fi
py="${PYTHON:-python3}"

with=()
[ "${CLINICNET_WITH_SCAPY:-0}" = 1 ] && with=(--with scapy)
"$py" packaging/notices.py --frozen "${with[@]}" -o packaging/THIRD_PARTY_NOTICES.txt

start=$(date +%s)
"$py" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$dist" --workpath "$work" packaging/clinicnet.spec
cp packaging/THIRD_PARTY_NOTICES.txt LICENSE "$dist"/
echo "build-exe: $dist/clinicnet ($(du -h "$dist/clinicnet" | cut -f1)) in $(( $(date +%s) - start )) s"
"$dist/clinicnet" --version
