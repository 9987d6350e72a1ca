"""Set-up for the image blocks (`# setup: tiny-image-folder`): what the reader has, an ImageFolder tree.

data/images/{train,val,test}/{circle,square}/NNN.png: 64x64 RGB images of one filled shape each, at a random place,
size and colour on a noisy background (12 training, 4 validation and 4 test images per class), so the blocks train
and evaluate end to end in seconds on a CPU.
"""
import os

import numpy as np
from PIL import Image, ImageDraw

rng = np.random.default_rng(0)
for split, count in {"train": 12, "val": 4, "test": 4}.items():
    for shape in ("circle", "square"):
        folder = os.path.join("data", "images", split, shape)
        os.makedirs(folder, exist_ok=True)
        for i in range(count):
            pixels = rng.integers(0, 60, (64, 64, 3), dtype=np.uint8)
            image = Image.fromarray(pixels, "RGB")
            size = int(rng.integers(16, 40))
            x, y = (int(v) for v in rng.integers(2, 62 - size, 2))
            colour = tuple(int(c) for c in rng.integers(120, 256, 3))
            draw = ImageDraw.Draw(image)
            (draw.ellipse if shape == "circle" else draw.rectangle)([x, y, x + size, y + size], fill=colour)
            image.save(os.path.join(folder, "%03d.png" % i))
