#!/usr/bin/env bash
# Checks the browser extension without a browser or a network: the manifest has what both
# Firefox and Chromium need (with the fixed IDs), every file it names exists, the translations
# are complete, every script parses, and the decision rules pass their unit tests.
set -euo pipefail

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ext="$top/data/browser/extension"

node="${NODE:-$(command -v node || command -v nodejs || true)}"
if [ -z "$node" ]; then
  echo "node (Debian package nodejs) is needed to check the extension" >&2
  exit 1
fi

echo "# manifest, files and translations"
python3 - "$ext" <<'EOF'
import base64, hashlib, json, os, re, struct, sys

ext = sys.argv[1]
errors = []

def fail(message):
    errors.append(message)

def load(path):
    with open(os.path.join(ext, path), encoding="utf-8") as f:
        return json.load(f)

m = load("manifest.json")

if m.get("manifest_version") != 3:
    fail("manifest_version must be 3")
for key in ("name", "version", "description", "default_locale"):
    if not isinstance(m.get(key), str) or not m[key]:
        fail(f"manifest needs {key}")
if not re.fullmatch(r"\d+(\.\d+){0,3}", m.get("version", "")):
    fail("version must be 1 to 4 dot-separated numbers")

bg = m.get("background", {})
if bg.get("service_worker") != "background.js":
    fail("background.service_worker must be background.js (Chromium)")
scripts = bg.get("scripts", [])
if scripts[-1:] != ["background.js"] or "rules.js" not in scripts:
    fail("background.scripts must load rules.js, then background.js (Firefox)")
if "type" in bg:
    fail("background.type must stay classic: importScripts() needs a classic worker")

gecko = m.get("browser_specific_settings", {}).get("gecko", {})
if gecko.get("id") != "browser@sluice.org":
    fail("browser_specific_settings.gecko.id must be browser@sluice.org")
if gecko.get("strict_min_version") != "115.0":
    fail("gecko.strict_min_version must be 115.0")

# Chromium derives the extension ID from the public key: SHA-256 of the DER bytes, the first
# 32 hex digits written with the letters a to p.
try:
    der = base64.b64decode(m.get("key", ""), validate=True)
    digest = hashlib.sha256(der).hexdigest()[:32]
    chromium_id = "".join(chr(ord("a") + int(c, 16)) for c in digest)
except Exception as e:  # noqa: BLE001
    chromium_id = f"(bad key: {e})"
if chromium_id != "cdhpdnmokchopihnkakdmfgkohdnogjp":
    fail(f"the key gives the Chromium ID {chromium_id}, not cdhpdnmokchopihnkakdmfgkohdnogjp")

needed = {"downloads", "nativeMessaging", "contextMenus", "cookies", "storage", "scripting",
          "activeTab", "webRequest"}
missing = needed - set(m.get("permissions", []))
if missing:
    fail(f"permissions lack {sorted(missing)}")
if "<all_urls>" not in m.get("host_permissions", []):
    fail("host_permissions must hold <all_urls> (cookies)")
if "action" not in m:
    fail("manifest needs an action (the toolbar button)")
if not m.get("options_ui", {}).get("page"):
    fail("manifest needs options_ui.page")

def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])

files = set(scripts) | {bg.get("service_worker", ""), m.get("options_ui", {}).get("page", "")}
icons = dict(m.get("icons", {}))
icons.update({f"action {k}": v for k, v in m.get("action", {}).get("default_icon", {}).items()})
for label, path in icons.items():
    files.add(path)
    size = int(label.split()[-1])
    full = os.path.join(ext, path)
    if os.path.exists(full) and png_size(full) != (size, size):
        fail(f"{path} is not a {size}x{size} PNG (Chromium shows no SVG icons)")
for path in sorted(files):
    if not path or not os.path.isfile(os.path.join(ext, path)):
        fail(f"manifest names {path!r}, which does not exist")

# Pages load their scripts and style sheets from the extension itself (MV3 forbids inline
# scripts and remote code).
for page in sorted(p for p in os.listdir(ext) if p.endswith(".html")):
    html = open(os.path.join(ext, page), encoding="utf-8").read()
    if re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html):
        fail(f"{page} has an inline script")
    for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
        if "://" in ref or not os.path.isfile(os.path.join(ext, ref)):
            fail(f"{page} refers to {ref}, which is not a file of the extension")

# Translations: English is the default; every language has the same messages and
# placeholders, and every message the extension asks for exists.
locales = {}
for lang in sorted(os.listdir(os.path.join(ext, "_locales"))):
    locales[lang] = load(os.path.join("_locales", lang, "messages.json"))
default = m.get("default_locale")
if default not in locales:
    fail(f"_locales/{default} (the default locale) is missing")
reference = locales.get(default, {})
for lang, messages in locales.items():
    if set(messages) != set(reference):
        fail(f"_locales/{lang} differs in keys: {sorted(set(messages) ^ set(reference))}")
    for key, entry in messages.items():
        text = entry.get("message", "")
        if not text:
            fail(f"_locales/{lang}: {key} has no message")
        uses = {p.lower() for p in re.findall(r"\$([A-Za-z0-9_]+)\$", text)}
        declared = set(entry.get("placeholders", {}))
        if uses != declared:
            fail(f"_locales/{lang}: {key} uses {sorted(uses)} but declares {sorted(declared)}")
        if key in reference and declared != set(reference[key].get("placeholders", {})):
            fail(f"_locales/{lang}: {key} has other placeholders than {default}")
    badge = messages.get("badgeOff", {}).get("message", "")
    if len(badge) > 4:
        fail(f"_locales/{lang}: badgeOff is longer than a badge shows")

asked = set(re.findall(r"__MSG_(\w+)__", json.dumps(m)))
for name in os.listdir(ext):
    text = open(os.path.join(ext, name), encoding="utf-8").read() if os.path.isfile(os.path.join(ext, name)) else ""
    if name.endswith(".html"):
        asked |= set(re.findall(r'data-i18n="(\w+)"', text))
    elif name.endswith(".js"):
        # Message keys are the string literals that name a message family.
        asked |= set(re.findall(r"'((?:extension|action|badge|menu|error|opt|unit)[A-Z]\w*)'", text))
for key in sorted(asked - set(reference)):
    fail(f"the extension asks for the message {key}, which _locales/{default} lacks")
for key in sorted(set(reference) - asked):
    fail(f"_locales/{default} has the message {key}, which nothing uses")

for e in errors:
    print("not ok:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF

echo "# syntax"
while IFS= read -r -d '' js; do
  "$node" --check "$js"
done < <(find "$ext" "$top/tests/extension" \( -name '*.js' -o -name '*.mjs' \) -print0)

echo "# rules"
"$node" "$top/tests/extension/test-rules.mjs"
