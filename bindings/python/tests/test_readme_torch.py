"""The torch example of docs/PYTHON.md (moved there from the README) runs as written."""
import contextlib
import io
import re

import pytest

from conftest import REPO

pytest.importorskip("torchvision")


def test_bring_your_model_torch_example_runs():
    readme = (REPO / "docs" / "PYTHON.md").read_text()
    marker = readme.index("<!-- bring-your-model-torch")
    code = re.search(r"```python\n(.*?)```", readme[marker:], re.S).group(1)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "docs/PYTHON.md (TorchModel)", "exec"), {})
    shapes = printed.getvalue().split()
    assert shapes[:4] == ["(224,", "224)", "(2,", "224,"], printed.getvalue()
