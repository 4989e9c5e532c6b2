"""Print the dev-set quality report (same code as ``patentmatch eval report``).

Usage: python scripts/evaluate.py [DEV_DIR] [--model NAME]
"""

import argparse
import sys
from pathlib import Path

from app.errors import AppError
from app.search.evalcli import report_lines
from app.settings import get_settings


def main() -> int:
    """Parse arguments, print the report, return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dev_dir", nargs="?", type=Path, help="dev set folder (default: shared)")
    parser.add_argument("--model", help="encoder name (default: settings)")
    args = parser.parse_args()
    folder = args.dev_dir or get_settings().shared_dir / "eval" / "dev"
    try:
        print("\n".join(report_lines(folder, args.model)))
    except AppError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
