#!/usr/bin/env python3
"""Lint crcore's Spack package without Spack (python3 standard library only).

Reads spack/repos/spack_repo/crcore/packages/crcore/package.py with Python's ast module (the
package is never imported, so nothing from Spack is needed) and checks it against the CMake
options declared in this repository:

  * package.py parses, uses the package API v2 imports, and defines class Crcore(CMakePackage)
    with a docstring, homepage, git, license() and maintainers();
  * repo.yaml declares namespace "crcore" and a v2.x package API;
  * versions are well formed: "main" tracks branch main, releases X.Y.Z use tag="vX.Y.Z"
    (and a 40-hex commit if given), no duplicates;
  * URLs (homepage, git, url, per-version git/url) are well-formed https URLs;
  * every variant has a description, is mapped by exactly one literal
    self.define_from_variant("CMAKE_OPTION", "variant") call in cmake_args(), and that option
    is declared by our CMake files;
  * every CMake option we declare is reachable: mapped from a variant, set with
    self.define("NAME", ...) in cmake_args(), or listed in INTERNAL_CMAKE_OPTIONS
    (CMAKE_* variables such as CMAKE_BUILD_TYPE, and Python3_* hints, belong to CMake/Spack and are skipped);
  * required dependencies are present (cmake@3.25: for build, googletest for test).

"Options we declare" are option(NAME ...), cmake_dependent_option(NAME ...) and
set(NAME ... CACHE <type> ...) (type other than INTERNAL) in every CMakeLists.txt and *.cmake
of the repository, plus BUILD_TESTING when a file does include(CTest). Build trees (any
directory holding a CMakeCache.txt, build*/, spack-build-*/ ...) and vendored code
(_deps/, third_party/, extern/, external/, vendor/) are skipped. Names built inside
foreach(VAR a b c) loops (e.g. CRCORE_WITH_${f}) are expanded.

The list of internal (not a variant) options lives in ONE place: the module-level tuple
INTERNAL_CMAKE_OPTIONS in package.py, next to the variants it complements.

Exit status: 0 when clean, 1 on any problem (each printed on its own line), 2 on bad usage.
"""

import argparse
import ast
import itertools
import os
import re
import sys
from urllib.parse import urlparse

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ROOT = os.path.dirname(os.path.dirname(HERE))
PACKAGE_REL = os.path.join("spack", "repos", "spack_repo", "crcore", "packages", "crcore",
                           "package.py")
INTERNAL_LIST_NAME = "INTERNAL_CMAKE_OPTIONS"

SKIP_DIRS = {".git", "_deps", "third_party", "extern", "external", "vendor", "node_modules",
             ".spack-env", "__pycache__"}
SKIP_DIR_PREFIXES = ("build", "cmake-build-", "spack-build-", "_build", ".build")

VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
RELEASE_RE = re.compile(r"^\d+(\.\d+)*$")
HEX40_RE = re.compile(r"^[0-9a-f]{40}$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
CMAKE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
VARIANT_RE = re.compile(r"^[a-z][a-z0-9_]*$")
GITHUB_HANDLE_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
SPDX_RE = re.compile(r"^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$")
VAR_REF_RE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
# CMake variables Spack or CMake itself owns (e.g. CMAKE_BUILD_TYPE, set from Spack's
# build_type variant): they may be set in cmake_args() and need no variant of ours.
# CMake's own variables and the hints of its find modules (FindPython3's Python3_EXECUTABLE).
CMAKE_BUILTIN_PREFIXES = ("CMAKE_", "Python3_")


class Lint:
    def __init__(self):
        self.errors = []
        self.warnings = []

    def error(self, msg):
        self.errors.append(msg)

    def warn(self, msg):
        self.warnings.append(msg)


# --------------------------------------------------------------------------------------------
# CMake side
# --------------------------------------------------------------------------------------------

_BRACKET_OPEN = re.compile(r"\[(=*)\[")


def _skip_bracket(text, i):
    """text[i] is '['; if a bracket argument/comment starts here return the index after its
    close, else None."""
    m = _BRACKET_OPEN.match(text, i)
    if not m:
        return None
    close = "]" + m.group(1) + "]"
    end = text.find(close, m.end())
    return len(text) if end < 0 else end + len(close)


def _skip_comment(text, i):
    """text[i] is '#'; return the index after the comment."""
    if i + 1 < len(text) and text[i + 1] == "[":
        end = _skip_bracket(text, i + 1)
        if end is not None:
            return end
    nl = text.find("\n", i)
    return len(text) if nl < 0 else nl


def cmake_commands(text):
    """Yield (command_lowercase, [(arg, quoted)], line) for each command invocation."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            i = _skip_comment(text, i)
            continue
        if c == '"':  # stray string at top level: skip it
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            continue
        if (c.isalpha() or c == "_") and (i == 0 or not (text[i - 1].isalnum() or
                                                         text[i - 1] == "_")):
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            name = text[i:j]
            k = j
            while k < n and text[k] in " \t":
                k += 1
            if k < n and text[k] == "(":
                line = text.count("\n", 0, i) + 1
                args, i = _parse_args(text, k + 1)
                yield name.lower(), args, line
            else:
                i = j
            continue
        i += 1


def _parse_args(text, i):
    n = len(text)
    args, buf, depth = [], [], 1

    def flush():
        if buf:
            args.append(("".join(buf), False))
            buf.clear()

    while i < n:
        c = text[i]
        if c in " \t\r\n":
            flush()
            i += 1
        elif c == "(":
            flush()
            depth += 1
            i += 1
        elif c == ")":
            flush()
            depth -= 1
            i += 1
            if depth == 0:
                break
        elif c == '"' and not buf:
            i += 1
            start = i
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            args.append((text[start:i], True))
            i += 1
        elif c == "[" and not buf and _BRACKET_OPEN.match(text, i):
            m = _BRACKET_OPEN.match(text, i)
            end = _skip_bracket(text, i)
            close_len = len(m.group(1)) + 2
            args.append((text[m.end():end - close_len], True))
            i = end
        elif c == "#" and not buf:
            i = _skip_comment(text, i)
        elif c == "\\" and i + 1 < n:
            buf.append(text[i:i + 2])
            i += 2
        else:
            buf.append(c)
            i += 1
    return args, i


def _expand(name, scopes):
    """Expand ${VAR} in name using scopes (dict VAR -> list of values). Returns a list of
    names, or None if some reference cannot be resolved."""
    refs = VAR_REF_RE.findall(name)
    if not refs:
        return [name]
    if any(r not in scopes for r in refs):
        return None
    uniq = sorted(set(refs))
    out = []
    for combo in itertools.product(*(scopes[r] for r in uniq)):
        value = name
        for var, val in zip(uniq, combo):
            value = value.replace("${%s}" % var, val)
        if VAR_REF_RE.search(value):
            return None
        out.append(value)
    return out


def _skip_dir(dirpath, name):
    if name in SKIP_DIRS or name.startswith(SKIP_DIR_PREFIXES):
        return True
    return os.path.isfile(os.path.join(dirpath, name, "CMakeCache.txt"))


def cmake_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _skip_dir(dirpath, d))
        for f in sorted(filenames):
            if f == "CMakeLists.txt" or f.endswith(".cmake"):
                yield os.path.join(dirpath, f)


def scan_cmake_options(root, lint):
    """Return {name: "file:line"} of the cache options our CMake files declare."""
    found = {}
    for path in cmake_files(root):
        rel = os.path.relpath(path, root)
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as e:
            lint.error(f"cannot read {rel}: {e}")
            continue
        plain_sets = {}  # set(NAME a b c) without CACHE: used to expand foreach IN LISTS
        loops = []  # stack of (var, values or None)

        def scopes():
            s = {k: v for k, v in plain_sets.items()}
            for var, values in loops:
                if values is not None:
                    s[var] = values
                else:
                    s.pop(var, None)
            return s

        def declare(raw, line, kind):
            names = _expand(raw, scopes())
            where = f"{rel}:{line}"
            if names is None:
                lint.warn(f"{where}: cannot resolve the name of {kind}({raw} ...); "
                          "the lint cannot check it (declare it with a literal name)")
                return
            for name in names:
                if CMAKE_NAME_RE.match(name):
                    found.setdefault(name, where)

        for cmd, args, line in cmake_commands(text):
            values = [a for a, _ in args]
            if cmd == "foreach" and values:
                var, rest = values[0], values[1:]
                items = None
                if rest and rest[0] == "IN":
                    if len(rest) > 1 and rest[1] == "ITEMS":
                        items = rest[2:]
                    elif len(rest) > 1 and rest[1] == "LISTS":
                        items = []
                        for lst in rest[2:]:
                            if lst in plain_sets:
                                items.extend(plain_sets[lst])
                            else:
                                items = None
                                break
                elif rest and rest[0] != "RANGE":
                    items = []
                    for item in rest:
                        exp = _expand(item, scopes())
                        if exp is None:
                            items = None
                            break
                        for e in exp:
                            items.extend(x for x in e.split(";") if x)
                loops.append((var, items))
            elif cmd == "endforeach" and loops:
                loops.pop()
            elif cmd in ("option", "cmake_dependent_option") and values:
                declare(values[0], line, cmd)
            elif cmd == "set" and values:
                unquoted = [a for a, q in args[1:] if not q]
                if "CACHE" in unquoted:
                    idx = next(k for k, (a, q) in enumerate(args) if k and not q
                               and a == "CACHE")
                    ctype = values[idx + 1] if idx + 1 < len(values) else ""
                    if ctype.upper() != "INTERNAL":
                        declare(values[0], line, "set")
                elif "PARENT_SCOPE" not in unquoted and CMAKE_NAME_RE.match(values[0]):
                    items = []
                    for v in values[1:]:
                        items.extend(x for x in v.split(";") if x)
                    plain_sets[values[0]] = items
            elif cmd == "include" and values and values[0] == "CTest":
                found.setdefault("BUILD_TESTING", f"{rel}:{line} (include(CTest))")
    return found


# --------------------------------------------------------------------------------------------
# package.py side
# --------------------------------------------------------------------------------------------

def _const_str(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _call_name(call):
    f = call.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return None


def _directive_calls(body):
    """Directive calls at class level, including those inside `with when(...)` blocks."""
    for stmt in body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            yield stmt.value
        elif isinstance(stmt, ast.With):
            yield from _directive_calls(stmt.body)


def _check_url(lint, what, value, schemes=("https",)):
    if not isinstance(value, str):
        lint.error(f"{what} must be a string literal")
        return
    u = urlparse(value)
    if u.scheme not in schemes or not u.netloc or " " in value or not u.path.strip("/"):
        lint.error(f"{what} is not a well-formed {'/'.join(schemes)} URL: {value!r}")


def _class_assign(cls, name):
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                if isinstance(t, ast.Name) and t.id == name:
                    return stmt.value
    return None


def check_repo_yaml(pkg_path, lint):
    repo_dir = os.path.dirname(os.path.dirname(os.path.dirname(pkg_path)))
    path = os.path.join(repo_dir, "repo.yaml")
    if not os.path.isfile(path):
        lint.error(f"missing {path}")
        return
    with open(path, encoding="utf-8") as f:
        text = f.read()
    ns = re.search(r"^\s+namespace:\s*['\"]?([A-Za-z0-9_]+)['\"]?\s*$", text, re.M)
    api = re.search(r"^\s+api:\s*['\"]?(v[0-9.]+)['\"]?\s*$", text, re.M)
    if not re.search(r"^repo:\s*$", text, re.M):
        lint.error("repo.yaml: no top-level 'repo:' mapping")
    if not ns or ns.group(1) != os.path.basename(repo_dir):
        lint.error(f"repo.yaml: namespace must be '{os.path.basename(repo_dir)}' "
                   "(the directory name, package API v2)")
    if not api or not re.match(r"^v2\.\d+$", api.group(1)):
        lint.error("repo.yaml: 'api: v2.N' is required (Spack 1.x package API v2 layout)")


def check_package(pkg_path, lint):
    """Return (variant->cmake option, cmake names set by define(), internal set)."""
    with open(pkg_path, encoding="utf-8") as f:
        source = f.read()
    try:
        tree = ast.parse(source, filename=pkg_path)
    except SyntaxError as e:
        lint.error(f"{pkg_path}:{e.lineno}: does not parse: {e.msg}")
        return None

    # imports (package API v2)
    imports = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            imports.add((node.module, tuple(a.name for a in node.names)))
            if node.module and node.module.startswith("spack.pkg."):
                lint.error(f"line {node.lineno}: 'from {node.module} import' is the "
                           "pre-1.0 layout; use spack_repo.builtin.build_systems")
    if ("spack.package", ("*",)) not in imports:
        lint.error("missing 'from spack.package import *'")
    if not any(m == "spack_repo.builtin.build_systems.cmake" and "CMakePackage" in names
               for m, names in imports):
        lint.error("missing 'from spack_repo.builtin.build_systems.cmake import CMakePackage'")

    # INTERNAL_CMAKE_OPTIONS
    internal = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == INTERNAL_LIST_NAME for t in node.targets):
            if isinstance(node.value, (ast.Tuple, ast.List, ast.Set)) and all(
                    _const_str(e) is not None for e in node.value.elts):
                internal = {e.value for e in node.value.elts}
            else:
                lint.error(f"{INTERNAL_LIST_NAME} must be a literal tuple of strings")
                internal = set()
    if internal is None:
        lint.error(f"package.py has no module-level {INTERNAL_LIST_NAME} tuple "
                   "(use () if every option is a variant)")
        internal = set()

    # the class
    pkg_dir = os.path.basename(os.path.dirname(pkg_path))
    cls_name = "".join(p.capitalize() for p in re.split(r"[_-]", pkg_dir))
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    cls = next((c for c in classes if c.name == cls_name), None)
    if cls is None:
        lint.error(f"no class {cls_name} in package.py (package directory '{pkg_dir}')")
        return None
    bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in cls.bases}
    if "CMakePackage" not in bases:
        lint.error(f"class {cls_name} must derive from CMakePackage")
    if not (ast.get_docstring(cls) or "").strip():
        lint.error(f"class {cls_name} needs a docstring (Spack shows it as the description)")

    for attr, required in (("homepage", True), ("git", True), ("url", False)):
        node = _class_assign(cls, attr)
        if node is None:
            if required:
                lint.error(f"class attribute '{attr}' is missing")
            continue
        _check_url(lint, attr, _const_str(node))
    git = _const_str(_class_assign(cls, "git"))
    if git and not git.endswith(".git"):
        lint.error(f"git URL should end in .git: {git!r}")

    calls = list(_directive_calls(cls.body))
    by_name = {}
    for c in calls:
        by_name.setdefault(_call_name(c), []).append(c)

    # license / maintainers
    lic = by_name.get("license", [])
    if len(lic) != 1 or not lic[0].args or not SPDX_RE.match(_const_str(lic[0].args[0]) or ""):
        lint.error("exactly one license(\"<SPDX expression>\") directive is required")
    handles = [_const_str(a) for c in by_name.get("maintainers", []) for a in c.args]
    if not handles:
        lint.error("maintainers(...) with at least one GitHub handle is required")
    for h in handles:
        if h is None or not GITHUB_HANDLE_RE.match(h):
            lint.error(f"maintainers(): {h!r} is not a GitHub handle")

    # versions
    seen = set()
    for c in by_name.get("version", []):
        where = f"line {c.lineno}: version"
        v = _const_str(c.args[0]) if c.args else None
        kw = {k.arg: _const_str(k.value) for k in c.keywords}
        if v is None or not VERSION_RE.match(v):
            lint.error(f"{where}: version name must be a literal like '1.2.3' or 'main'")
            continue
        if v in seen:
            lint.error(f"{where}('{v}') declared twice")
        seen.add(v)
        for k in ("git", "url"):
            if k in kw:
                _check_url(lint, f"{where}('{v}') {k}=", kw[k])
        sources = [k for k in ("branch", "tag", "commit", "sha256") if k in kw]
        if not sources:
            lint.error(f"{where}('{v}') needs branch=, tag= (+commit=) or sha256=")
        if "commit" in kw and not HEX40_RE.match(kw["commit"] or ""):
            lint.error(f"{where}('{v}'): commit must be 40 lowercase hex digits")
        if "sha256" in kw and not HEX64_RE.match(kw["sha256"] or ""):
            lint.error(f"{where}('{v}'): sha256 must be 64 lowercase hex digits")
        if RELEASE_RE.match(v):
            if kw.get("tag") != f"v{v}":
                lint.error(f"{where}('{v}'): releases are tagged 'v{v}'; use tag=\"v{v}\"")
            if "branch" in kw:
                lint.error(f"{where}('{v}'): a numbered release must not track a branch")
        elif "branch" in kw and not kw["branch"]:
            lint.error(f"{where}('{v}'): branch= must be a non-empty literal")
    main = [c for c in by_name.get("version", [])
            if c.args and _const_str(c.args[0]) == "main"]
    if not main or not any(k.arg == "branch" and _const_str(k.value) == "main"
                           for k in main[0].keywords):
        lint.error("version(\"main\", branch=\"main\") is required")

    # variants
    variants = {}
    for c in by_name.get("variant", []):
        name = _const_str(c.args[0]) if c.args else None
        kw = {k.arg: k.value for k in c.keywords}
        if name is None or not VARIANT_RE.match(name):
            lint.error(f"line {c.lineno}: variant name must be a lowercase literal")
            continue
        if name in variants:
            lint.error(f"line {c.lineno}: variant '{name}' declared twice")
        variants[name] = c.lineno
        if not _const_str(kw.get("description")):
            lint.error(f"line {c.lineno}: variant '{name}' needs a description=")
        d = kw.get("default")
        if not (isinstance(d, ast.Constant) and isinstance(d.value, (bool, str))):
            lint.error(f"line {c.lineno}: variant '{name}' needs a literal default=")

    # dependencies the issue requires
    deps = []
    for c in by_name.get("depends_on", []):
        spec = _const_str(c.args[0]) if c.args else None
        kw = {k.arg: k.value for k in c.keywords}
        dtype = kw.get("type")
        types = set()
        if _const_str(dtype):
            types = {dtype.value}
        elif isinstance(dtype, (ast.Tuple, ast.List)):
            types = {_const_str(e) for e in dtype.elts}
        deps.append((spec or "", types, _const_str(kw.get("when")) or ""))
    if not any(s.startswith("cmake@3.25:") and t == {"build"} for s, t, _ in deps):
        lint.error('depends_on("cmake@3.25:", type="build") is required')
    if not any(s == "googletest" and "test" in t for s, t, _ in deps):
        lint.error('depends_on("googletest", type="test") is required')
    if "mpi" in variants and not any(s == "mpi" and w == "+mpi" for s, _, w in deps):
        lint.error('depends_on("mpi", when="+mpi") is required')

    # cmake_args
    mapped, defined = {}, {}
    fn = next((n for n in cls.body if isinstance(n, ast.FunctionDef)
               and n.name == "cmake_args"), None)
    if fn is None:
        lint.error("class has no cmake_args() method")
    else:
        for node in ast.walk(fn):
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node)
            if name == "define_from_variant":
                opt = _const_str(node.args[0]) if node.args else None
                var = _const_str(node.args[1]) if len(node.args) > 1 else None
                for k in node.keywords:
                    if k.arg == "cmake_var":
                        opt = _const_str(k.value)
                    elif k.arg == "variant":
                        var = _const_str(k.value)
                if opt is None:
                    lint.error(f"line {node.lineno}: define_from_variant needs a literal "
                               "CMake option name")
                    continue
                if var is None:
                    var = opt.lower()
                if var in mapped:
                    lint.error(f"line {node.lineno}: variant '{var}' is mapped twice "
                               f"({mapped[var]} and {opt})")
                mapped[var] = opt
            elif name == "define":
                opt = _const_str(node.args[0]) if node.args else None
                if opt is None:
                    lint.error(f"line {node.lineno}: self.define needs a literal CMake name")
                else:
                    defined[opt] = node.lineno
        for var, opt in mapped.items():
            if var not in variants:
                lint.error(f"cmake_args maps unknown variant '{var}' to {opt}")
        for var, line in variants.items():
            if var not in mapped:
                lint.error(f"line {line}: variant '{var}' is not mapped to a CMake option "
                           "with self.define_from_variant() in cmake_args()")
        if "BUILD_TESTING" not in defined:
            lint.error('cmake_args must set self.define("BUILD_TESTING", self.run_tests)')
    return mapped, defined, internal


def run(root, pkg_path):
    lint = Lint()
    if not os.path.isfile(pkg_path):
        lint.error(f"no package file at {pkg_path}")
        return lint, 0, 0
    check_repo_yaml(pkg_path, lint)
    result = check_package(pkg_path, lint)
    options = scan_cmake_options(root, lint)
    if result is None:
        return lint, 0, len(options)
    mapped, defined, internal = result

    if not options:
        lint.error(f"no CMake options found under {root}: expected option()/set(... CACHE) "
                   "declarations in CMakeLists.txt or *.cmake (is --root right?)")
    for var, opt in sorted(mapped.items()):
        if options and opt not in options:
            lint.error(f"variant '{var}' maps to {opt}, which no CMakeLists.txt/*.cmake "
                       "declares")
    for opt, line in sorted(defined.items()):
        if options and opt not in options and not opt.startswith(CMAKE_BUILTIN_PREFIXES):
            lint.error(f"line {line}: cmake_args sets {opt}, which our CMake files do not "
                       "declare")
    for opt in sorted(internal):
        if opt in mapped.values():
            lint.error(f"{opt} is listed in {INTERNAL_LIST_NAME} but also mapped from a "
                       "variant")
        elif options and opt not in options:
            lint.error(f"{opt} is listed in {INTERNAL_LIST_NAME} but no CMake file declares "
                       "it any more: remove it")
    reachable = set(mapped.values()) | set(defined) | internal
    for opt, where in sorted(options.items()):
        if opt not in reachable and not opt.startswith(CMAKE_BUILTIN_PREFIXES):
            lint.error(f"CMake option {opt} ({where}) is not reachable from the Spack "
                       "package: map it to a variant in cmake_args() or add it to "
                       f"{INTERNAL_LIST_NAME} in package.py")
    return lint, len(mapped), len(options)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=DEFAULT_ROOT,
                    help="crcore source tree to scan for CMake options (default: %(default)s)")
    ap.add_argument("--package", default=None,
                    help=f"package.py to lint (default: ROOT/{PACKAGE_REL})")
    args = ap.parse_args(argv)
    root = os.path.abspath(args.root)
    if not os.path.isdir(root):
        print(f"spack_package_lint: --root {root} is not a directory", file=sys.stderr)
        return 2
    pkg = os.path.abspath(args.package or os.path.join(root, PACKAGE_REL))

    lint, nvariants, noptions = run(root, pkg)
    for w in lint.warnings:
        print(f"warning: {w}")
    for e in lint.errors:
        print(f"error: {e}")
    if lint.errors:
        print(f"spack_package_lint: FAILED with {len(lint.errors)} problem(s) in "
              f"{os.path.relpath(pkg, root)}")
        return 1
    print(f"spack_package_lint: OK ({nvariants} variants mapped, {noptions} CMake options "
          "reachable)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
