"""The default model's weight reader (issue 20, S2) checks every tensor against the storage it
reads: a stride-0 view asking for GiBs from a file of a few hundred bytes is a clear error."""
import pytest

from scorecam.models import _lite0

torch = pytest.importorskip("torch")


def legacy_file(tmp_path, tensors):
    path = tmp_path / "weights.pth"
    torch.save(tensors, path, _use_new_zipfile_serialization=False)
    return path


def test_a_stride_0_tensor_is_refused(tmp_path):
    huge = torch.zeros(1).expand(2**15, 2**15 + 1000)  # 1 stored float, 4.1 GiB as a copy
    path = legacy_file(tmp_path, {"w": huge})
    assert path.stat().st_size < 1000
    with pytest.raises(_lite0.WeightsFormatError, match="more than the 1 of its storage"):
        _lite0.load_state_dict(path)


def test_plain_tensors_still_read(tmp_path):
    weights = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    path = legacy_file(tmp_path, {"w": weights, "t": weights.t()})
    loaded = _lite0.load_state_dict(path)
    assert loaded["w"].tolist() == weights.tolist() and loaded["t"].tolist() == weights.t().tolist()
