# Sourced by scripts/start and .ci/run: sets PY to a Python 3.11+ that may install packages.
# A system Python that refuses `pip install` (PEP 668, "externally managed", as on Debian
# and Ubuntu) gets a project virtual environment in .venv instead; so does one without pip.
# IMAGEGEN_PYTHON picks the interpreter (default: python3, else python).
base="${IMAGEGEN_PYTHON:-$(command -v python3 || command -v python)}"
if ! "$base" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "imagegen-desktop needs Python 3.11 or newer; $base is $("$base" --version 2>&1)." >&2
  exit 1
fi
needs_venv=$("$base" - <<'PY'
import os, sys, sysconfig
managed = os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
in_venv = sys.prefix != sys.base_prefix
try:
    import pip  # noqa: F401
    has_pip = True
except ImportError:
    has_pip = False
print(1 if (managed and not in_venv) or not has_pip else 0)
PY
)
if [ "$needs_venv" = "1" ]; then
  if [ ! -x .venv/bin/python ]; then
    if ! "$base" -m venv .venv 2>/dev/null; then
      # Debian and Ubuntu ship venv separately.
      if command -v apt-get >/dev/null 2>&1; then
        sudo=""; [ "$(id -u)" = "0" ] || sudo="sudo"
        ver=$("$base" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        $sudo apt-get update -qq
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python${ver}-venv" >/dev/null
      fi
      rm -rf .venv
      "$base" -m venv .venv
    fi
  fi
  PY="$PWD/.venv/bin/python"
else
  PY="$base"
fi
export PY
