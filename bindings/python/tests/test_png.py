"""The overlay PNG encoder (scorecam.dataset._images.encode_png): every picture decodes, with
Pillow and with an independent decoder written here, to exactly its pixels."""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from scorecam.dataset import _images


def decode_by_hand(data: bytes) -> np.ndarray:
    """PNG bytes -> (H, W, 3): chunks, CRCs and the five row filters read here, from the spec."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, []
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        payload = data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + payload), kind
        chunks.append((kind, payload))
        position += 12 + length
    assert [kind for kind, _ in chunks][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color, interlace) == (8, 2, 0)
    raw = zlib.decompress(b"".join(payload for kind, payload in chunks if kind == b"IDAT"))
    stride, rows, previous = width * 3, [], bytearray(width * 3)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - 3] if x >= 3 else 0
            up, corner = previous[x], previous[x - 3] if x >= 3 else 0
            if kind == 1:
                line[x] = (line[x] + left) % 256
            elif kind == 2:
                line[x] = (line[x] + up) % 256
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) % 256
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) % 256
        rows.append(bytes(line))
        previous = line
    return np.frombuffer(b"".join(rows), np.uint8).reshape(height, width, 3)


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (9, 1), (17, 23), (64, 48)])
def test_pictures_decode_to_their_pixels(shape):
    picture = np.random.default_rng(sum(shape)).integers(0, 256, (*shape, 3), dtype=np.uint8)
    encoded = _images.encode_png(picture)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(encoded))), picture)
    np.testing.assert_array_equal(decode_by_hand(encoded), picture)


def test_an_overlay_decodes_to_its_pixels_and_is_compressed(tmp_path):
    from skimage import data

    heatmap = np.outer(np.hanning(56), np.hanning(56)).astype(np.float32)
    overlay = _images.overlay_at_size(Image.fromarray(data.chelsea()), heatmap)
    path = tmp_path / "overlay.png"
    _images.write_png(path, overlay)
    with Image.open(path) as written:
        assert written.format == "PNG" and written.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(written), overlay)
    assert path.stat().st_size < 0.7 * overlay.nbytes  # deflated, not stored


def test_only_rgb_pictures():
    for bad in (np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8), np.zeros((0, 4, 3), np.uint8)):
        with pytest.raises(ValueError, match="RGB"):
            _images.encode_png(bad)
