#!/bin/sh
# Create or update the app's environment, PREFIX/venv: the locked base dependencies, then the app wheel, then uv
# next to the environment's python (the first-run set-up installs torch with it). Shared by the Linux installer
# and the macOS launcher; the Windows installer runs the same steps (packaging/windows/installer.nsi).
#
#   make_env.sh PREFIX PAYLOAD PYTHON
#
# PAYLOAD holds uv, requirements.lock and latent_studio-*.whl. PYTHON is an interpreter path (Linux: the system
# python3) or a version that uv installs into PREFIX/python. An existing working environment is kept (with the
# torch the set-up put there), so re-running this is an upgrade or a repair, and an interrupted run resumes.
set -eu
prefix=$1
payload=$2
python=$3
uv=$payload/uv
env_python=$prefix/venv/bin/python
export UV_PYTHON_INSTALL_DIR="$prefix/python"

mkdir -p "$prefix"
if ! "$env_python" -c "" 2>/dev/null; then
    case $python in
        */*) "$uv" venv --clear --no-managed-python --python "$python" "$prefix/venv" ;;
        *) "$uv" python install "$python"
           "$uv" venv --clear --managed-python --python "$python" "$prefix/venv" ;;
    esac
fi
"$uv" pip install --python "$env_python" --compile-bytecode --require-hashes -r "$payload/requirements.lock"
"$uv" pip install --python "$env_python" --compile-bytecode --no-deps --reinstall-package latent-studio \
    "$payload"/latent_studio-*.whl
cp "$uv" "$prefix/venv/bin/uv"
