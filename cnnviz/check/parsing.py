"""Parse a student's source, one parse at a time in this process.

Before Python 3.11.8, ast.parse kept its recursion depth per interpreter, not per thread, so
sessions parsing at once (thirty students uploading) could fail with "SystemError: AST constructor
recursion depth mismatch" when a garbage collection switched threads mid-parse
(python/cpython#106905). Every parse of a student's file in the server goes through here.
"""

import ast
import threading

_PARSING = threading.Lock()


def parse(source: str, filename: str = "<unknown>") -> ast.Module:
    """ast.parse(source, filename), serialised; raises what ast.parse raises."""
    with _PARSING:
        return ast.parse(source, filename=filename)
