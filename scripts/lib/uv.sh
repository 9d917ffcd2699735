# Sourced by every script that needs uv: one way to find (or install) it.
#   . "$root/scripts/lib/uv.sh"; sd_ensure_uv    ->  "$SD_UV" is the uv to run
# Order: $SWIFTDEPLOY_UV, uv on PATH, the user-level install that an earlier run made
# (python3 -m pip install --user uv), else install it there now from PyPI. The script's own
# PATH gains uv's folder, so tools it calls (uvx) find it too; the caller's shell does not.
sd_user_bin() {
    python3 -c 'import site, os; print(os.path.join(site.getuserbase(), "bin"))'
}

sd_ensure_uv() {
    local candidate
    for candidate in "${SWIFTDEPLOY_UV:-}" "$(command -v uv 2>/dev/null || true)" \
        "$(sd_user_bin)/uv" "$HOME/.local/bin/uv" "$HOME/.cargo/bin/uv"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" --version >/dev/null 2>&1; then
            SD_UV="$candidate"
            break
        fi
    done
    if [ -z "${SD_UV:-}" ]; then
        printf '  setup: %s\n' "installing uv from PyPI (python3 -m pip install --user uv)" >&2
        python3 -m pip install --quiet --user uv 2>/dev/null ||
            python3 -m pip install --quiet --break-system-packages --user uv
        SD_UV="$(sd_user_bin)/uv"
        "$SD_UV" --version >/dev/null 2>&1 || {
            echo "error: installed uv but $SD_UV does not run" >&2
            return 1
        }
    fi
    export SD_UV
    case ":$PATH:" in
        *":$(dirname "$SD_UV"):"*) ;;
        *) export PATH="$(dirname "$SD_UV"):$PATH" ;;
    esac
}
