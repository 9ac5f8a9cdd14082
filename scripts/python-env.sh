# Sourced by scripts/start, scripts/bundle and .ci/run: sets PY to a Python 3.11+ that may
# install packages. A system Python that refuses `pip install` (PEP 668, "externally
# managed", as on Debian and Ubuntu), one without pip, or one whose site-packages this user
# cannot write gets a project virtual environment in .venv instead, so a normal user never
# needs root for Python packages. IMAGEGEN_PYTHON picks the interpreter (default: python3).

# as_root WHY COMMAND...: run COMMAND as root, saying first why; through sudo for a normal
# user (which may ask for a password), or explains what to run when there is no sudo.
as_root() {
  local why="$1"; shift
  if [ "$(id -u)" = "0" ]; then
    echo "$why" >&2
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    echo "$why This needs root: asking sudo (it may ask for your password)." >&2
    sudo "$@"
  else
    echo "$why This needs root and sudo is not installed; run as root: $*" >&2
    return 1
  fi
}

base="${IMAGEGEN_PYTHON:-$(command -v python3 || command -v python)}"
if ! "$base" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "imagegen-desktop needs Python 3.11 or newer; $base is $("$base" --version 2>&1)." >&2
  exit 1
fi
needs_venv=$("$base" - <<'PY'
import os, sys, sysconfig
managed = os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
in_venv = sys.prefix != sys.base_prefix
writable = os.access(sysconfig.get_path("purelib"), os.W_OK)
try:
    import pip  # noqa: F401
    has_pip = True
except ImportError:
    has_pip = False
print(1 if not in_venv and (managed or not writable) or not has_pip else 0)
PY
)
if [ "$needs_venv" = "1" ]; then
  if [ ! -x .venv/bin/python ]; then
    echo "Making a Python environment for imagegen-desktop in $PWD/.venv" >&2
    if ! "$base" -m venv .venv 2>/dev/null; then
      rm -rf .venv
      # Debian and Ubuntu ship venv separately.
      ver=$("$base" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      if command -v apt-get >/dev/null 2>&1; then
        as_root "Installing python${ver}-venv (Python's venv module, packaged separately here)." \
          sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python${ver}-venv >/dev/null"
      fi
      "$base" -m venv .venv
    fi
  fi
  PY="$PWD/.venv/bin/python"
else
  PY="$base"
fi
export PY
