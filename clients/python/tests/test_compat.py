"""The package promises Python 3.9+ and the standard library only."""

from __future__ import annotations

import ast
import pathlib
import sys
import unittest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "amebo_client"


class Compatibility(unittest.TestCase):
    def test_every_module_parses_as_python_3_9(self) -> None:
        for path in sorted(PACKAGE.glob("*.py")):
            with self.subTest(module=path.name):
                ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 9))

    def test_imports_only_the_standard_library_and_itself(self) -> None:
        stdlib = sys.stdlib_module_names
        for path in sorted(PACKAGE.glob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
                for name in names:
                    self.assertIn(name.split(".")[0], stdlib, f"{path.name} imports {name}")


if __name__ == "__main__":
    unittest.main()
