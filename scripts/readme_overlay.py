"""Makes docs/overlay.png, the README's picture, with the real CLI:

    python scripts/readme_overlay.py [--python PY]

runs `PY -m scorecam explain <the sample image> --class 243 282 -o <tmp>` and puts the two
overlays side by side, downscaled and quantized (about 80 KB)."""
from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "bindings/python/scorecam/models/data/sample_image_01.jpg"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="a Python with scorecam[cli] installed")
    parser.add_argument("-o", "--output", type=pathlib.Path, default=ROOT / "docs/overlay.png")
    args = parser.parse_args()
    from PIL import Image, ImageDraw

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([args.python, "-m", "scorecam", "explain", str(SAMPLE), "--class", "243", "282",
                        "-o", tmp, "-q"], check=True)
        panels = [(Image.open(next(pathlib.Path(tmp).glob(f"*_{c}_*.png"))).convert("RGB"), label)
                  for c, label in ((243, "243 bull mastiff"), (282, "282 tiger cat"))]
        w, h = 360, 270
        out = Image.new("RGB", (2 * w + 8, h + 26), "white")
        draw = ImageDraw.Draw(out)
        for i, (image, label) in enumerate(panels):
            out.paste(image.resize((w, h), Image.LANCZOS), (i * (w + 8), 0))
            draw.text((i * (w + 8) + 6, h + 6), label, fill="black")
        out.quantize(colors=192, method=Image.MEDIANCUT, dither=Image.FLOYDSTEINBERG).save(args.output, optimize=True)
    print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
