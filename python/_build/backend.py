"""A tiny PEP 517 / PEP 660 build backend (standard library only) for the specweave_ml package.

Why not setuptools: building a wheel with setuptools < 70.1 also needs the ``wheel`` package, which many offline
Python installations lack, and with build isolation pip must download setuptools. This backend has no build
requirements at all, so ``pip install <plugin root>/python`` works offline on any Python 3.9+.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import time
import zipfile

NAME = "specweave_ml"
DIST = "specweave-ml"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE_DIR = os.path.join(HERE, NAME)
TAG = "py3-none-any"


def _version():
    with open(os.path.join(PACKAGE_DIR, "__init__.py"), encoding="utf-8") as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def _metadata():
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return (
        "Metadata-Version: 2.1\n"
        "Name: %s\n"
        "Version: %s\n"
        "Summary: Record ML experiments as plain files in your repository (the Python client of specweave-ml).\n"
        "License: MIT\n"
        "Requires-Python: >=3.9\n"
        "Provides-Extra: sklearn\n"
        "Requires-Dist: scikit-learn; extra == \"sklearn\"\n"
        "Description-Content-Type: text/markdown\n"
        "\n%s" % (DIST, _version(), readme)
    )


_ENTRY_TABLE = re.compile(r'^\[project\.entry-points\.(?:"([^"]+)"|([A-Za-z0-9_.-]+))\]\s*$')
_ENTRY_LINE = re.compile(r'^([A-Za-z0-9_.-]+)\s*=\s*"([^"]+)"\s*(?:#.*)?$')


def _entry_points():
    """The ``[project.entry-points.<group>]`` tables of pyproject.toml as entry_points.txt text ("" when none).

    A tiny reader for the one shape used there (``name = "module:object"`` lines), because tomllib is Python 3.11+
    and this backend runs on 3.9."""
    groups = []
    current = None
    with open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if line.startswith("["):
                found = _ENTRY_TABLE.match(line)
                current = None
                if found:
                    current = (found.group(1) or found.group(2), [])
                    groups.append(current)
                continue
            if current is not None and line and not line.startswith("#"):
                entry = _ENTRY_LINE.match(line)
                if not entry:
                    raise ValueError("pyproject.toml: cannot read entry point line %r" % line)
                current[1].append("%s = %s" % entry.groups())
    return "".join("[%s]\n%s\n\n" % (group, "\n".join(lines)) for group, lines in groups if lines)


def _dist_info():
    return "%s-%s.dist-info" % (NAME, _version())


def _wheel_text():
    return "Wheel-Version: 1.0\nGenerator: specweave-ml-backend\nRoot-Is-Purelib: true\nTag: %s\n" % TAG


def _package_files():
    out = []
    for dirpath, dirnames, filenames in os.walk(PACKAGE_DIR):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for fn in sorted(filenames):
            # Package data ships too: metrics.json is the metric vocabulary the client shares with the server.
            if fn.endswith((".py", ".json")) or fn == "py.typed":
                full = os.path.join(dirpath, fn)
                out.append((full, os.path.relpath(full, HERE).replace(os.sep, "/")))
    return out


def _write_wheel(wheel_directory, entries):
    """entries: list of (archive name, bytes). Adds the dist-info files and RECORD."""
    info = _dist_info()
    entries = list(entries) + [
        (info + "/METADATA", _metadata().encode("utf-8")),
        (info + "/WHEEL", _wheel_text().encode("utf-8")),
        (info + "/top_level.txt", (NAME + "\n").encode("utf-8")),
    ]
    if _entry_points():
        entries.append((info + "/entry_points.txt", _entry_points().encode("utf-8")))
    record = []
    for arcname, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
        record.append("%s,sha256=%s,%d" % (arcname, digest, len(data)))
    record.append(info + "/RECORD,,")
    entries.append((info + "/RECORD", ("\n".join(record) + "\n").encode("utf-8")))
    filename = "%s-%s-%s.whl" % (NAME, _version(), TAG)
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in entries:
            zi = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
            zi.external_attr = 0o644 << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zi, data)
    return filename


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = os.path.join(metadata_directory, _dist_info())
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    with open(os.path.join(info, "WHEEL"), "w", encoding="utf-8") as f:
        f.write(_wheel_text())
    if _entry_points():
        with open(os.path.join(info, "entry_points.txt"), "w", encoding="utf-8") as f:
            f.write(_entry_points())
    return _dist_info()


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    entries = []
    for full, arcname in _package_files():
        with open(full, "rb") as f:
            entries.append((arcname, f.read()))
    return _write_wheel(wheel_directory, entries)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    pth = (HERE + "\n").encode("utf-8")
    return _write_wheel(wheel_directory, [("__editable__.%s.pth" % NAME, pth)])


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % (NAME, _version())
    filename = base + ".tar.gz"
    files = [(full, arc) for full, arc in _package_files()]
    for extra in ("pyproject.toml", "README.md", "_build/backend.py"):
        files.append((os.path.join(HERE, extra), extra))
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as tf:
        for full, arc in files:
            tf.add(full, arcname=base + "/" + arc, recursive=False)
        pkg_info = _metadata().encode("utf-8")
        ti = tarfile.TarInfo(base + "/PKG-INFO")
        ti.size = len(pkg_info)
        ti.mtime = int(time.time())
        tf.addfile(ti, io.BytesIO(pkg_info))
    return filename
