"""`make contracts`: write the event JSON Schemas and docs/asyncapi.yaml from the models, or refuse a break.

    python -m boardcast_contracts.generate [--root DIR] [--check] [--allow-breaking]

Only the current version's directory ``libs/contracts/schemas/v<schema_version>/`` is written; older version
directories are the frozen record of what consumers of those versions rely on and are never touched.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from boardcast_contracts.asyncapi import render_asyncapi
from boardcast_contracts.compat import breaks_since
from boardcast_contracts.events import SUPPORTED_SCHEMA_VERSIONS
from boardcast_contracts.schemas import INDEX_FILE, all_event_schemas, current_schema_version, schema_files

SCHEMAS_DIR = Path("libs/contracts/schemas")
ASYNCAPI_FILE = Path("docs/asyncapi.yaml")


class GenerateError(Exception):
    """Generation refused: no repo root, or a breaking change without a schema_version bump."""


def find_root(start: Path | None = None) -> Path:
    """The repo root: the nearest ancestor of this package holding libs/contracts/pyproject.toml."""
    here = (start or Path(__file__)).resolve()
    for candidate in here.parents:
        if (candidate / "libs" / "contracts" / "pyproject.toml").is_file():
            return candidate
    raise GenerateError(f"no Boardcast repo above {here}; pass --root")


def expected_files(root: Path) -> dict[Path, str]:
    """Every generated file (absolute path) and the text it must hold."""
    version_dir = root / SCHEMAS_DIR / f"v{current_schema_version()}"
    files = {version_dir / name: text for name, text in schema_files().items()}
    files[root / ASYNCAPI_FILE] = render_asyncapi()
    return files


def stale_files(root: Path) -> list[Path]:
    """Generated files that are missing or differ, and leftover files in the current version's directory."""
    expected = expected_files(root)
    stale = [p for p, text in expected.items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
    version_dir = root / SCHEMAS_DIR / f"v{current_schema_version()}"
    if version_dir.is_dir():
        stale += [p for p in sorted(version_dir.iterdir()) if p not in expected]
    return stale


def unbumped_breaks(root: Path) -> list[str]:
    """Breaking changes from the committed current-version schemas to the models (these need a bump)."""
    version_dir = root / SCHEMAS_DIR / f"v{current_schema_version()}"
    if not (version_dir / INDEX_FILE).is_file():
        return []
    return breaks_since(version_dir, all_event_schemas())


def write(root: Path, *, allow_breaking: bool = False) -> list[Path]:
    """Write what is stale; return the paths written or removed."""
    if current_schema_version() not in SUPPORTED_SCHEMA_VERSIONS:
        raise GenerateError(f"schema_version {current_schema_version()} is not in SUPPORTED_SCHEMA_VERSIONS")
    breaks = unbumped_breaks(root)
    if breaks and not allow_breaking:
        raise GenerateError(
            f"breaking change to the committed v{current_schema_version()} schemas; bump schema_version "
            "(keeping decode_event able to read the old version) or pass --allow-breaking for a version "
            "nobody has published yet:\n  " + "\n  ".join(breaks)
        )
    expected = expected_files(root)
    changed = stale_files(root)
    for path in changed:
        if path in expected:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(expected[path], encoding="utf-8", newline="\n")
        else:
            path.unlink()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m boardcast_contracts.generate", description=__doc__)
    parser.add_argument("--root", type=Path, help="repo root (default: found from the package location)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything is stale")
    parser.add_argument("--allow-breaking", action="store_true", help="overwrite the current version anyway")
    args = parser.parse_args(argv)
    try:
        root = args.root.resolve() if args.root else find_root()
        if args.check:
            stale = stale_files(root)
            for path in stale:
                print(f"stale: {path.relative_to(root)} (run make contracts)", file=sys.stderr)
            return 1 if stale else 0
        written = write(root, allow_breaking=args.allow_breaking)
        for path in written:
            print(f"wrote {path.relative_to(root)}" if path.exists() else f"removed {path.relative_to(root)}")
        if not written:
            print("contracts: schemas and docs/asyncapi.yaml are up to date")
    except GenerateError as exc:
        print(f"make contracts: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
