"""Contact sheets: one prompt across seeds or an attribute sweep, rendered side by side in one PNG.

``mach compare "a woman" --columns body.age_years=6,12,18,30,45,60,75,90 --rows body.ancestry=african,asian,caucasian``
renders every cell with the real pipeline (same seed unless a sweep is over ``seed``) and labels
rows and columns, so differences can be judged at a glance.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from machcreator.pipeline import GenerateRequest, Pipeline

#: preview panels (left to right in render_preview) a sheet can show
VIEWS = {"body": 0, "head": 1, "three_quarter": 2, "back": 3}
LABEL_PX = 22


@dataclass(frozen=True)
class Axis:
    """One sheet axis: ``path`` swept over ``values`` (``path == "seed"`` sweeps the seed)."""
    path: str
    values: tuple[str, ...]

    @classmethod
    def parse(cls, spec: str) -> "Axis":
        path, sep, values = spec.partition("=")
        items = tuple(v.strip() for v in values.split(",") if v.strip())
        if not sep or not path.strip() or not items:
            raise ValueError(f"a sweep is PATH=V1,V2,... (e.g. body.age_years=20,40,60 or seed=0,1,2), got {spec!r}")
        if path.strip() == "seed" and not all(v.isdigit() for v in items):
            raise ValueError(f"seeds are whole numbers, got {values!r}")
        return cls(path.strip(), items)

    def apply(self, value: str, request: GenerateRequest) -> GenerateRequest:
        """``request`` with this axis at ``value``, checked (an unknown path or value is refused here)."""
        if self.path == "seed":
            return request.updated(seed=int(value))
        return request.updated(overrides=[*request.overrides, f"{self.path}={value}"])

    def label(self, value: str) -> str:
        return f"{self.path.split('.')[-1]} {value}"


def contact_sheet(pipeline: Pipeline, base: GenerateRequest, columns: Axis, rows: Axis | None = None, *,
                  view: str = "head", progress: Callable[[int, int, str], None] | None = None) -> np.ndarray:
    """Render ``rows × columns`` characters; returns the labelled sheet, (H, W, 3) uint8.

    Each cell is ``base`` with the row's and the column's value applied (the column last), cropped to
    ``view`` of its preview (``base.preview_size`` pixels square).
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, not {view!r}")
    row_values = rows.values if rows is not None else ("",)
    size = base.preview_size
    sheet = Image.new("RGB", (LABEL_PX * 5 * (rows is not None) + size * len(columns.values),
                              LABEL_PX + size * len(row_values)), (245, 245, 245))
    draw = ImageDraw.Draw(sheet)
    left = LABEL_PX * 5 * (rows is not None)
    # every cell's request is checked before the first one renders: a bad value costs nothing
    requests = [[columns.apply(col_value, rows.apply(row_value, base) if rows is not None else base)
                 for col_value in columns.values] for row_value in row_values]
    total, done = len(row_values) * len(columns.values), 0
    for r, row_value in enumerate(row_values):
        if rows is not None:
            draw.text((4, LABEL_PX + r * size + size // 2), rows.label(row_value), fill=(20, 20, 20))
        for c, col_value in enumerate(columns.values):
            request = requests[r][c]
            if progress is not None:
                progress(done, total, f"{rows.label(row_value) + ', ' if rows else ''}{columns.label(col_value)}")
            preview = pipeline(request).preview
            panel = preview[:, VIEWS[view] * size:(VIEWS[view] + 1) * size]
            sheet.paste(Image.fromarray(panel), (left + c * size, LABEL_PX + r * size))
            done += 1
    for c, col_value in enumerate(columns.values):
        draw.text((left + c * size + 6, 4), columns.label(col_value), fill=(20, 20, 20))
    return np.asarray(sheet)
