# Shared by scripts/demo, scripts/test and .ci/run (sourced, not run).
# Finds Python 3.11+, makes .venv, installs the pinned dependencies, compiles translations.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
CONSTRAINTS="$ROOT/requirements/constraints.txt"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = "0" ]; }

# Install Debian/Ubuntu packages when running as root; otherwise say exactly what to run.
need_packages() {  # need_packages "why" pkg...
    local why="$1"; shift
    if is_root && command -v apt-get >/dev/null 2>&1; then
        say "Installing $* ($why)"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
            || die "could not install $*; run: sudo apt-get update && sudo apt-get install -y $*"
    else
        die "$why is missing. Install it with:
    sudo apt-get update && sudo apt-get install -y $*
then run this command again."
    fi
}

python_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1; }

find_python() {
    local candidate
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
            PYTHON="$(command -v "$candidate")"
            return 0
        fi
    done
    die "Trastienda needs Python 3.11 or newer, and none was found (tried python3.13, python3.12,
python3.11, python3). On Debian 12 or Ubuntu 24.04:
    sudo apt-get install -y python3 python3-venv"
}

ensure_venv() {
    if [ -x "$VENV/bin/python" ] && python_ok "$VENV/bin/python"; then
        return 0
    fi
    [ -e "$VENV" ] && { say "Replacing the unusable virtual environment $VENV"; rm -rf "$VENV"; }
    find_python
    say "Creating the virtual environment .venv with $("$PYTHON" --version)"
    if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
        rm -rf "$VENV"
        local minor
        minor="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
        need_packages "Python's venv module" "python${minor}-venv"
        "$PYTHON" -m venv "$VENV" || die "could not create $VENV"
    fi
}

# pip install -c requirements/constraints.txt -e ".[EXTRAS]", skipped when nothing changed.
install_package() {  # install_package "" | "test"
    local spec="." stamp digest
    [ -n "$1" ] && spec=".[$1]"
    stamp="$VENV/.trastienda-installed${1:+-$1}"
    digest="$(cat "$ROOT/pyproject.toml" "$CONSTRAINTS" | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ] && [ -x "$VENV/bin/trastienda" ]; then
        return 0
    fi
    say "Installing Trastienda and its pinned dependencies ($spec)"
    local log
    log="$(mktemp -t trastienda-pip.XXXXXX)"
    if ! (cd "$ROOT" && "$VENV/bin/python" -m pip install --disable-pip-version-check \
            -c "$CONSTRAINTS" -e "$spec") > "$log" 2>&1; then
        tail -n 40 "$log" >&2
        rm -f "$log"
        die "pip install -c requirements/constraints.txt -e '$spec' failed (see above)"
    fi
    rm -f "$log"
    echo "$digest" > "$stamp"
}

# WeasyPrint (the PDF exports) loads Pango when imported; Debian ships it as libpango-1.0-0
# and libpangoft2-1.0-0. Call after install_package.
ensure_pdf_libraries() {
    "$VENV/bin/python" -c "import weasyprint" >/dev/null 2>&1 && return 0
    need_packages "Pango (for the PDF exports with WeasyPrint)" libpango-1.0-0 libpangoft2-1.0-0
    "$VENV/bin/python" -c "import weasyprint" >/dev/null 2>&1 \
        || die "WeasyPrint cannot load Pango even with libpango-1.0-0 and libpangoft2-1.0-0 installed"
}

compile_translations() {
    if [ -z "$(find "$ROOT/trastienda" -name '*.po' -path '*/locale/*' -print -quit)" ]; then
        return 0
    fi
    command -v msgfmt >/dev/null 2>&1 || need_packages "gettext's msgfmt (to compile translations)" gettext
    say "Compiling translations"
    (cd "$ROOT" && "$VENV/bin/trastienda" compilemessages --verbosity 0 \
        --ignore .venv --ignore var --ignore .git --ignore node_modules) \
        || die "compilemessages failed"
}
